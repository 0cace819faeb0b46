"""
Label every completion an existing OpenAI client returns — one line: ``wrap(client, labeler)``.

Offline by default (a recorded-shape stand-in); set OPENAI_API_KEY (and optionally
OPENAI_BASE_URL, OPENAI_MODEL) to call a real endpoint. ``pip install 'aigc-label[openai]'``.
"""

from __future__ import annotations

import os
import secrets

import httpx2
import openai
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import aigc_info, wrap
from openai.types.chat import ChatCompletionMessageParam
from standin import openai_chat

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)


def make_client() -> openai.OpenAI:
    if os.environ.get("OPENAI_API_KEY"):
        return openai.OpenAI()
    transport = httpx2.MockTransport(openai_chat(httpx2))
    return openai.OpenAI(
        api_key="offline",
        base_url="http://stand-in.invalid/v1",
        http_client=httpx2.Client(transport=transport),
    )


def main() -> list[str]:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    client = wrap(make_client(), labeler)  # still an openai.OpenAI
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "用两句话介绍杭州。"}]

    completion = client.chat.completions.create(model=model, messages=messages)
    print(completion.choices[0].message.content)
    info = aigc_info(completion)  # the `aigc` object the middleware added, typed
    if info is not None:
        print(info.items[0].metadata.to_json())  # the Annex E label
        print(info.items[0].ui.text)  # the interface tag to show next to the text

    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True)
        if chunk.choices
    )
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
    print("AIGC header:", raw.headers["aigc"])
    texts = [completion.choices[0].message.content or "", streamed]
    print([verify(t, key=KEY).status for t in texts])
    return texts


if __name__ == "__main__":
    main()
