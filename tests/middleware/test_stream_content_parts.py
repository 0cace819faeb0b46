"""
Fail closed on a streamed chat answer whose ``delta.content`` is a list of parts: it cannot be
labeled in place, so it is not released — the stream raises ``UnlabelableResponseError``.
"""

from __future__ import annotations

import json

import httpx
import pytest
from aigclabel import Labeler
from aigclabel.middleware import UnlabelableResponseError
from aigclabel.middleware.httpx import LabelingTransport


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    doc = {
        "id": "c-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(doc)}\n\n".encode()


def _upstream(request: httpx.Request) -> httpx.Response:
    body = (
        _chunk({"role": "assistant", "content": "Plain text first. "})
        + _chunk({"content": [{"type": "text", "text": "A part nobody labels."}]})
        + _chunk({}, finish="stop")
        + b"data: [DONE]\n\n"
    )
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def test_a_list_of_content_parts_in_a_stream_is_not_released(labeler: Labeler) -> None:
    """
    The chunk with the list is never passed on; the stream raises a clear error naming the field.
    """
    client = httpx.Client(transport=LabelingTransport(httpx.MockTransport(_upstream), labeler))
    received: list[bytes] = []

    with (
        client.stream(
            "POST", "http://upstream.test/v1/chat/completions", json={"model": "m", "stream": True}
        ) as response,
        pytest.raises(UnlabelableResponseError, match="'content' that is a list"),
    ):
        received.extend(response.iter_bytes())

    assert b"A part nobody labels" not in b"".join(received)
