"""
Anthropic Messages bodies that are valid but unusual: text that arrives in ``content_block_start``,
``thinking`` blocks in a stream, messages with no text block at all, a label placed at the start
without invisible marks, and a text block without its ``text``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import UnlabelableResponseError, wrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.helpers import KEY, PRODUCER, visible
from tests.middleware.upstream import encode_sse, sse_events

MODEL = "claude-sonnet-4-5"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
HEAD = "Hello there, "
TAIL = "how can I help you with the weather today?"
THOUGHT = "The user greets me; a short friendly greeting answers it."
SIGNATURE = "EqQBCkYIBxgCKkDsignature0000000000000000000000000000000"
TOOL_USE = {"type": "tool_use", "id": "toolu_01Edge", "name": "get_weather", "input": {"location": "Paris"}}
LABEL = "[AI-generated content · 本内容由AI生成]"

Handler = Callable[[Any], Any]


def _event(kind: str, **fields: Any) -> bytes:
    return encode_sse(kind, json.dumps({"type": kind, **fields}, separators=(",", ":")))


def _message(content: list[Any], stop_reason: str | None = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01Edge",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 20},
    }


def _stream(*blocks: bytes, stop_reason: str = "end_turn") -> bytes:
    return b"".join(
        [
            _event("message_start", message=_message([], None)),
            *blocks,
            _event(
                "message_delta",
                delta={"stop_reason": stop_reason, "stop_sequence": None},
                usage={"output_tokens": 20},
            ),
            _event("message_stop"),
        ]
    )


def _text_block(index: int, start: str, *deltas: str) -> bytes:
    return b"".join(
        [
            _event("content_block_start", index=index, content_block={"type": "text", "text": start}),
            *(
                _event("content_block_delta", index=index, delta={"type": "text_delta", "text": d})
                for d in deltas
            ),
            _event("content_block_stop", index=index),
        ]
    )


def _replying(body: bytes, content_type: str) -> Handler:
    return lambda request: httpx2.Response(200, headers={"content-type": content_type}, content=body)


def _client(fn: Handler, labeler: Labeler, **options: Any) -> anthropic.Anthropic:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://upstream.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(fn)),
    )
    return wrap(client, labeler, **options)


def _final(client: anthropic.Anthropic) -> Any:
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        return stream.get_final_message()


def test_text_sent_in_content_block_start_is_part_of_the_labeled_text(labeler: Labeler) -> None:
    """
    Text a stream sends in `content_block_start` (before any delta) is labeled with the deltas as one text.
    """
    body = _stream(_text_block(0, HEAD, TAIL))

    message = _final(_client(_replying(body, "text/event-stream"), labeler))

    text = message.content[0].text
    assert ("confirmed", True) == (verify(text, key=KEY).tier, visible(text).startswith(HEAD + TAIL))


def test_thinking_block_in_a_stream_passes_through_unchanged(labeler: Labeler) -> None:
    """
    A streamed `thinking` block reaches the SDK unchanged (its signature covers it); the text is labeled.
    """
    thinking = b"".join(
        [
            _event("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
            _event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": THOUGHT}),
            _event("content_block_delta", index=0, delta={"type": "signature_delta", "signature": SIGNATURE}),
            _event("content_block_stop", index=0),
        ]
    )
    body = _stream(thinking, _text_block(1, "", HEAD, TAIL))

    message = _final(_client(_replying(body, "text/event-stream"), labeler))

    assert (THOUGHT, SIGNATURE, "confirmed") == (
        message.content[0].thinking,
        message.content[0].signature,
        verify(message.content[1].text, key=KEY).tier,
    )


def test_span_of_a_stream_with_thinking_says_the_reasoning_passed_through(labeler: Labeler) -> None:
    """
    The span of a stream that carried a `thinking` block records `aigc.reasoning = passed_through`.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    thinking = _event(
        "content_block_start",
        index=0,
        content_block={"type": "thinking", "thinking": THOUGHT, "signature": ""},
    ) + _event("content_block_stop", index=0)
    body = _stream(thinking, _text_block(1, "", HEAD, TAIL))

    _final(_client(_replying(body, "text/event-stream"), labeler, tracer_provider=provider))

    (span,) = exporter.get_finished_spans()
    assert "passed_through" == (span.attributes or {}).get("aigc.reasoning")


def test_message_with_only_a_tool_use_block_gets_a_metadata_only_aigc_item(labeler: Labeler) -> None:
    """
    A message whose content is only a `tool_use` block is unchanged and carries one `aigc` item for index 0.
    """
    body = json.dumps(_message([TOOL_USE], "tool_use")).encode()

    message = _client(_replying(body, "application/json"), labeler).messages.create(
        model=MODEL, max_tokens=100, messages=MESSAGES
    )

    items = (message.model_extra or {})["aigc"]["items"]
    assert (TOOL_USE["input"], [0]) == (message.content[0].input, [item["index"] for item in items])


def test_stream_with_only_a_tool_use_block_carries_aigc_on_message_delta(labeler: Labeler) -> None:
    """
    A stream whose only block is a `tool_use` still gets its `aigc` object on `message_delta`.
    """
    tool = b"".join(
        [
            _event("content_block_start", index=0, content_block={**TOOL_USE, "input": {}}),
            _event(
                "content_block_delta",
                index=0,
                delta={"type": "input_json_delta", "partial_json": json.dumps(TOOL_USE["input"])},
            ),
            _event("content_block_stop", index=0),
        ]
    )
    body = _stream(tool, stop_reason="tool_use")
    http = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))
    request = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES, "stream": True}

    events = sse_events(wrap(http, labeler).post("http://upstream.test/v1/messages", json=request).read())

    (delta,) = [json.loads(data) for kind, data in events if kind == "message_delta"]
    assert [0] == [item["index"] for item in delta["aigc"]["items"]]


def test_label_at_the_start_without_marks_injects_no_delta_before_the_block_stop() -> None:
    """
    With `placement="start"` and no marks the label goes out with the first text: nothing is added at the end.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="start", marks=False))
    body = _stream(_text_block(0, "", HEAD, TAIL))
    http = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))
    request = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES, "stream": True}

    events = sse_events(wrap(http, labeler).post("http://upstream.test/v1/messages", json=request).read())

    deltas = [json.loads(data)["delta"]["text"] for kind, data in events if kind == "content_block_delta"]
    assert (2, f"{LABEL}\n\n{HEAD}{TAIL}") == (len(deltas), "".join(deltas))


@pytest.mark.parametrize(
    "block", [{"type": "text"}, {"type": "text", "text": None}, {"type": "text", "text": 7}]
)
def test_text_block_without_a_text_string_is_refused(labeler: Labeler, block: dict[str, Any]) -> None:
    """
    A 2xx message with a `text` block whose `text` is missing or not a string is never released: the SDK's
    connection error is caused by `UnlabelableResponseError`.
    """
    body = json.dumps(_message([block])).encode()
    client = _client(_replying(body, "application/json"), labeler)

    with pytest.raises(anthropic.APIConnectionError) as caught:
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)

    cause = caught.value.__cause__
    assert isinstance(cause, UnlabelableResponseError)
    assert ("messages", "text block 0 has no `text` string") == (cause.endpoint, cause.reason)
