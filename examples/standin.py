"""
Offline stand-ins for the examples: recorded-shape OpenAI and Anthropic responses served
at the transport seam, so every example runs without a network or an API key.
"""

from __future__ import annotations

import json
from typing import Any

ANSWER = (
    "杭州位于浙江省北部，以西湖闻名。春秋两季气候宜人，最适合旅行。"
    "Hangzhou is an hour from Shanghai by train."
)
CREATED = 1_700_000_000


def _sse(events: list[tuple[str | None, dict[str, Any]]]) -> list[bytes]:
    out = []
    for event, data in events:
        head = f"event: {event}\n" if event else ""
        out.append(f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
    return out


def openai_chat(lib: Any) -> Any:
    """
    A handler for ``lib.MockTransport`` answering POST /v1/chat/completions (JSON or SSE).
    """

    def handle(request: Any) -> Any:
        body = json.loads(request.read())
        base = {"id": "chatcmpl-standin", "created": CREATED, "model": body.get("model", "stand-in")}
        if not body.get("stream"):
            return lib.Response(
                200,
                json={
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": ANSWER},
                        }
                    ],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
                },
            )
        chunk = {**base, "object": "chat.completion.chunk"}
        events: list[tuple[str | None, dict[str, Any]]] = [
            (
                None,
                {
                    **chunk,
                    "choices": [{"index": 0, "delta": {"content": ANSWER[i : i + 6]}, "finish_reason": None}],
                },
            )
            for i in range(0, len(ANSWER), 6)
        ]
        events.append((None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        stream = [*_sse(events), b"data: [DONE]\n\n"]
        return lib.Response(200, content=b"".join(stream), headers={"content-type": "text/event-stream"})

    return handle


def anthropic_messages(lib: Any) -> Any:
    """
    A handler for ``lib.MockTransport`` answering POST /v1/messages (JSON or SSE).
    """

    def handle(request: Any) -> Any:
        body = json.loads(request.read())
        message = {
            "id": "msg_standin",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "stand-in"),
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 40},
        }
        if not body.get("stream"):
            return lib.Response(200, json={**message, "content": [{"type": "text", "text": ANSWER}]})
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        }
        events: list[tuple[str | None, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": ANSWER[i : i + 6]},
                },
            )
            for i in range(0, len(ANSWER), 6)
        ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 40},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return lib.Response(
            200, content=b"".join(_sse(events)), headers={"content-type": "text/event-stream"}
        )

    return handle
