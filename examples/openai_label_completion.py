"""
Label the text an existing OpenAI client returns — one-shot and streamed.

Runs offline against a recorded stand-in response; set OPENAI_API_KEY (and optionally
OPENAI_BASE_URL / OPENAI_MODEL) to call a real endpoint instead. Needs the ``openai``
extra: ``pip install 'aigc-label[openai]'``.
"""

from __future__ import annotations

import json
import os
import secrets

import httpx2
import openai
from aigclabel import Labeler, LabelPolicy, verify

PRODUCER = "001191110102MAD55U9H0F10002"
# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)
ANSWER = "杭州位于浙江省北部，以西湖闻名。春秋两季气候宜人，最适合旅行。"


def _stand_in(request: httpx2.Request) -> httpx2.Response:
    """
    A recorded-shape chat completion, plain JSON or SSE, for offline runs.
    """
    body = json.loads(request.content)
    base = {"id": "chatcmpl-offline", "created": 1767225600, "model": body["model"]}
    if not body.get("stream"):
        return httpx2.Response(
            200,
            json={
                **base,
                "object": "chat.completion",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
            },
        )
    events = []
    for i in range(0, len(ANSWER), 5):
        delta = {"content": ANSWER[i : i + 5]}
        events.append(
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
        )
    events.append(
        {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    sse = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})


def make_client() -> openai.OpenAI:
    """
    A real client when OPENAI_API_KEY is set, else one served by the offline stand-in.
    """
    if os.environ.get("OPENAI_API_KEY"):
        return openai.OpenAI()
    return openai.OpenAI(
        api_key="offline",
        base_url="http://stand-in.invalid/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(_stand_in)),
    )


def main() -> tuple[str, str]:
    client = make_client()
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    messages = [{"role": "user", "content": "用两句话介绍杭州。"}]

    # One-shot: label the message content, keep the metadata for your response/record.
    completion = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    labeled = labeler.label(completion.choices[0].message.content or "")
    print(labeled.text)
    print(labeled.metadata.to_json())

    # Streaming: feed each delta, release what feed() returns, then finish().
    stream = labeler.stream()
    streamed = []
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):  # type: ignore[call-overload]
        if chunk.choices and chunk.choices[0].delta.content:
            streamed.append(stream.feed(chunk.choices[0].delta.content))
    streamed.append(stream.finish())
    streamed_text = "".join(streamed)
    print(verify(streamed_text, key=KEY).status)
    return labeled.text, streamed_text


if __name__ == "__main__":
    main()
