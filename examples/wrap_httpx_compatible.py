"""
Any OpenAI-compatible server (vLLM, Ollama, DeepSeek, Qwen compatible mode) through plain httpx,
with the labeling transport composed like any other httpx transport.

Offline by default; set COMPATIBLE_BASE_URL (for example http://localhost:11434/v1 for Ollama)
and COMPATIBLE_MODEL to call a real server.
"""

from __future__ import annotations

import json
import os
import secrets

import httpx
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware.httpx import LabelingTransport
from standin import openai_chat

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)


def make_client(labeler: Labeler) -> httpx.Client:
    base_url = os.environ.get("COMPATIBLE_BASE_URL")
    inner: httpx.BaseTransport = httpx.HTTPTransport()
    if not base_url:
        base_url, inner = "http://stand-in.invalid/v1", httpx.MockTransport(openai_chat(httpx))
    # The same as wrap(httpx.Client(...), labeler): the transport wraps the one that sends.
    return httpx.Client(base_url=base_url, timeout=60, transport=LabelingTransport(inner, labeler))


def main() -> str:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    request = {
        "model": os.environ.get("COMPATIBLE_MODEL", "qwen2.5"),
        "messages": [{"role": "user", "content": "用两句话介绍杭州。"}],
        "stream": True,
    }
    text = ""
    with (
        make_client(labeler) as client,
        client.stream("POST", "/chat/completions", json=request) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    text += choice["delta"].get("content") or ""
    print(text)
    print(verify(text, key=KEY).status)
    return text


if __name__ == "__main__":
    main()
