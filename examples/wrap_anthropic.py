"""
Label every message an existing Anthropic client returns, including the stream helper.

Offline by default; set ANTHROPIC_API_KEY to call the real API. ``pip install 'aigc-label[anthropic]'``.
"""

from __future__ import annotations

import os
import secrets

import anthropic
import httpx2
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import aigc_info, wrap
from anthropic.types import MessageParam
from standin import anthropic_messages

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)
MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-6")


def make_client() -> anthropic.Anthropic:
    if os.environ.get("ANTHROPIC_API_KEY"):
        return anthropic.Anthropic()
    transport = httpx2.MockTransport(anthropic_messages(httpx2))
    return anthropic.Anthropic(
        api_key="offline", base_url="http://stand-in.invalid", http_client=httpx2.Client(transport=transport)
    )


def main() -> list[str]:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    client = wrap(make_client(), labeler)
    messages: list[MessageParam] = [{"role": "user", "content": "用两句话介绍杭州。"}]

    message = client.messages.create(model=MODEL, max_tokens=256, messages=messages)
    text = "".join(block.text for block in message.content if block.type == "text")
    info = aigc_info(message)  # the `aigc` object the middleware added, typed
    if info is not None:
        print(info.items[0].produce_id, info.items[0].ui.text)

    with client.messages.stream(model=MODEL, max_tokens=256, messages=messages) as stream:
        for _ in stream.text_stream:
            pass
        final = stream.get_final_text()
    print(text)
    print([verify(t, key=KEY).status for t in (text, final)])
    return [text, final]


if __name__ == "__main__":
    main()
