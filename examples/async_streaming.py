"""
Async streaming through a wrapped AsyncOpenAI client, with per-request context.

Offline by default; set OPENAI_API_KEY to call a real endpoint.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import httpx2
import openai
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import wrap
from standin import openai_chat

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)


def make_client() -> openai.AsyncOpenAI:
    if os.environ.get("OPENAI_API_KEY"):
        return openai.AsyncOpenAI()
    transport = httpx2.MockTransport(openai_chat(httpx2))
    return openai.AsyncOpenAI(
        api_key="offline",
        base_url="http://stand-in.invalid/v1",
        http_client=httpx2.AsyncClient(transport=transport),
    )


async def main() -> str:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    client = wrap(make_client(), labeler)
    parts: list[str] = []
    with labeler.context(user="u-1", conversation="c-9"):  # travels with the request (contextvars)
        stream = await client.chat.completions.create(
            model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
            messages=[{"role": "user", "content": "用两句话介绍杭州。"}],
            stream=True,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    text = "".join(parts)
    print(text)
    print(verify(text, key=KEY).status)
    return text


if __name__ == "__main__":
    asyncio.run(main())
