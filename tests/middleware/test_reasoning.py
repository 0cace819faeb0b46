"""
Reasoning text shown to users is labeled as its own text by default, or passed through (`reasoning="pass"`).

DeepSeek / Qwen put it in chat `reasoning_content`, OpenRouter and newer vLLM in `reasoning`, the Responses
API in reasoning summaries (and `reasoning_text` parts). Anthropic `thinking` blocks always pass through:
the API checks their signature against the text when they are sent back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from aigclabel import Labeler, verify
from aigclabel.middleware import wrap
from aigclabel.middleware.apis import stream_rewriter
from aigclabel.middleware.endpoints import Endpoint, RequestInfo
from aigclabel.middleware.jsonbody import JSONRewriter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.helpers import KEY, visible
from tests.middleware.upstream import sse_events

MODEL = "deepseek-reasoner"
MESSAGES: Any = [{"role": "user", "content": "Is 17 prime?"}]
THOUGHT = "The user asks whether 17 is prime. Check divisors up to 4: 2, 3 and 4 do not divide 17."
ANSWER = "Yes, 17 is a prime number: it has no divisors other than 1 and itself."
LABEL_PHRASES = ("AI-generated content", "本内容由人工智能生成")


def _labeled(text: str) -> tuple[str, bool]:
    return verify(text, key=KEY).tier, any(phrase in visible(text) for phrase in LABEL_PHRASES)


def _pieces(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chat_body(field: str = "reasoning_content") -> bytes:
    message = {"role": "assistant", "content": ANSWER, field: THOUGHT}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return json.dumps({"id": "c1", "object": "chat.completion", "model": MODEL, "choices": [choice]}).encode()


def _chat_stream(field: str = "reasoning_content") -> bytes:
    """
    A DeepSeek-style stream: reasoning deltas, then content deltas, then the finish chunk and `[DONE]`.
    """

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        doc = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(doc)}\n\n".encode()

    body = chunk({"role": "assistant", "content": "", field: ""})
    body += b"".join(chunk({field: p, "content": None}) for p in _pieces(THOUGHT))
    body += b"".join(chunk({"content": p, field: None}) for p in _pieces(ANSWER))
    return body + chunk({}, "stop") + b"data: [DONE]\n\n"


def _client(body: bytes, labeler: Labeler, content_type: str, **options: Any) -> openai.OpenAI:
    transport = httpx2.MockTransport(
        lambda r: httpx2.Response(200, headers={"content-type": content_type}, content=body)
    )
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    )
    return wrap(client, labeler, **options)


def _streamed(client: openai.OpenAI, field: str = "reasoning_content") -> tuple[str, str, list[Any]]:
    """
    `(reasoning, content, chunks)` of a streamed chat completion.
    """
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get(field) or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return reasoning, content, chunks


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_chat_reasoning_is_labeled_as_its_own_text(labeler: Labeler, field: str) -> None:
    """
    By default `message.reasoning_content` (or `reasoning`) is labeled, apart from the content.
    """
    completion = _client(_chat_body(field), labeler, "application/json").chat.completions.create(
        model=MODEL, messages=MESSAGES
    )
    reasoning = (completion.choices[0].message.model_extra or {})[field]

    assert [("confirmed", True)] * 2 == [
        _labeled(reasoning),
        _labeled(completion.choices[0].message.content or ""),
    ]
    assert (
        verify(reasoning, key=KEY).produce_id
        != verify(completion.choices[0].message.content or "", key=KEY).produce_id
    )


def test_chat_reasoning_has_its_own_aigc_item(labeler: Labeler) -> None:
    """
    The reasoning text's `aigc` item names its field and carries the produce id its marks carry.
    """
    completion = _client(_chat_body(), labeler, "application/json").chat.completions.create(
        model=MODEL, messages=MESSAGES
    )
    items = (completion.model_extra or {})["aigc"]["items"]
    reasoning = (completion.choices[0].message.model_extra or {})["reasoning_content"]

    assert [(None, 0), ("reasoning_content", 0)] == [(i.get("field"), i["index"]) for i in items]
    assert verify(reasoning, key=KEY).produce_id == items[1]["produce_id"]


def test_chat_reasoning_passes_through_when_asked(labeler: Labeler) -> None:
    """
    With `reasoning="pass"` the reasoning text is returned unchanged; the content is still labeled.
    """
    client = _client(_chat_body(), labeler, "application/json", reasoning="pass")
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    reasoning = (completion.choices[0].message.model_extra or {})["reasoning_content"]
    assert (THOUGHT, ("confirmed", True)) == (
        reasoning,
        _labeled(completion.choices[0].message.content or ""),
    )


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_chat_stream_reasoning_is_labeled_before_the_answer(labeler: Labeler, field: str) -> None:
    """
    Streamed reasoning deltas are labeled as their own text, ended when the answer starts.
    """
    reasoning, content, _ = _streamed(_client(_chat_stream(field), labeler, "text/event-stream"), field)

    assert [("confirmed", True)] * 2 == [_labeled(reasoning), _labeled(content)]
    assert (True, True) == (visible(reasoning).startswith(THOUGHT), visible(content).startswith(ANSWER))


def test_chat_stream_reasoning_items_ride_on_the_finish_chunk(labeler: Labeler) -> None:
    """
    The finish chunk's `aigc` object lists the content and the reasoning text of the choice.
    """
    reasoning, content, chunks = _streamed(_client(_chat_stream(), labeler, "text/event-stream"))
    (aigc,) = [
        c.model_extra["aigc"]
        for c in chunks
        if c.model_extra and "aigc" in c.model_extra and c.model_extra["aigc"]["stage"] == "end"
    ]

    assert [verify(content, key=KEY).produce_id, verify(reasoning, key=KEY).produce_id] == [
        item["produce_id"] for item in aigc["items"]
    ]


def test_chat_stream_reasoning_passes_through_when_asked(labeler: Labeler) -> None:
    """
    With `reasoning="pass"` streamed reasoning deltas are unchanged; the answer is labeled.
    """
    reasoning, content, _ = _streamed(_client(_chat_stream(), labeler, "text/event-stream", reasoning="pass"))

    assert (THOUGHT, ("confirmed", True)) == (reasoning, _labeled(content))


def test_chat_stream_of_reasoning_only_ended_by_done_gets_its_end_label(labeler: Labeler) -> None:
    """
    A stream cut after its reasoning (`[DONE]`, no answer, no finish) still ends the reasoning's label.
    """
    body = _chat_stream()
    body = body[: body.index(b'"content": "Yes')]
    body = body[: body.rindex(b"\n\n") + 2] + b"data: [DONE] \n\n"
    reasoning, _, _ = _streamed(_client(body, labeler, "text/event-stream"))

    assert ("confirmed", True) == _labeled(reasoning)


def test_unknown_reasoning_policy_is_refused(labeler: Labeler) -> None:
    """
    `wrap(..., reasoning=...)` takes "label" or "pass" only.
    """
    with pytest.raises(ValueError, match="reasoning must be"):
        wrap(httpx2.Client(), labeler, reasoning="hide")  # type: ignore[arg-type]


# --- Responses API ------------------------------------------------------------------------------------------


def _reasoning_item() -> dict[str, Any]:
    return {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": THOUGHT}],
        "content": [{"type": "reasoning_text", "text": THOUGHT + " Done."}],
        "encrypted_content": None,
    }


def _responses_body() -> dict[str, Any]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
    }
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "o4-mini",
        "output": [_reasoning_item(), message],
    }


@pytest.mark.parametrize("reasoning", ["label", "pass"])
def test_responses_reasoning_summary_follows_the_policy(labeler: Labeler, reasoning: str) -> None:
    """
    A Responses reasoning item's summary and reasoning text are labeled, or unchanged with "pass".
    """
    info = RequestInfo(Endpoint.RESPONSES, False, "o4-mini", False, {})
    rewriter = JSONRewriter(labeler, info, None, reasoning)  # type: ignore[arg-type]
    doc = json.loads(rewriter.rewrite(json.dumps(_responses_body()).encode()))
    item = doc["output"][0]

    texts = [item["summary"][0]["text"], item["content"][0]["text"]]
    if reasoning == "pass":
        assert [THOUGHT, THOUGHT + " Done."] == texts
    else:
        assert [("confirmed", True)] * 2 == [_labeled(t) for t in texts]
    assert ("confirmed", True) == _labeled(doc["output"][1]["content"][0]["text"])


def _responses_stream() -> bytes:
    events: list[tuple[str, dict[str, Any]]] = []
    where = {"item_id": "rs_1", "output_index": 0, "summary_index": 0}
    events.append(
        (
            "response.output_item.added",
            {"output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}},
        )
    )
    events.append(
        ("response.reasoning_summary_part.added", {**where, "part": {"type": "summary_text", "text": ""}})
    )
    events += [("response.reasoning_summary_text.delta", {**where, "delta": p}) for p in _pieces(THOUGHT)]
    events.append(("response.reasoning_summary_text.done", {**where, "text": THOUGHT}))
    events.append(
        ("response.reasoning_summary_part.done", {**where, "part": {"type": "summary_text", "text": THOUGHT}})
    )
    item = {**_reasoning_item(), "content": []}
    events.append(("response.output_item.done", {"output_index": 0, "item": item}))
    body = _responses_body()
    body["output"][0] = item
    events.append(("response.completed", {"response": body}))
    return b"".join(
        f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': n, **doc})}\n\n".encode()
        for n, (kind, doc) in enumerate(events)
    )


def _stream_docs(labeler: Labeler, reasoning: str) -> Iterator[dict[str, Any]]:
    info = RequestInfo(Endpoint.RESPONSES, True, "o4-mini", False, {})
    rewriter = stream_rewriter(labeler, info, None, reasoning)  # type: ignore[arg-type]
    body = _responses_stream()
    out = b"".join(rewriter.feed(body[i : i + 50]) for i in range(0, len(body), 50)) + rewriter.close()
    return (json.loads(data) for _, data in sse_events(out))


def test_responses_stream_reasoning_summary_copies_agree(labeler: Labeler) -> None:
    """
    Summary deltas, `.done`, `summary_part.done`, the item and `response.completed` hold one labeled text.
    """
    docs = list(_stream_docs(labeler, "label"))
    deltas = "".join(d["delta"] for d in docs if d["type"] == "response.reasoning_summary_text.delta")
    by_type = {d["type"]: d for d in docs}

    copies = [
        by_type["response.reasoning_summary_text.done"]["text"],
        by_type["response.reasoning_summary_part.done"]["part"]["text"],
        by_type["response.output_item.done"]["item"]["summary"][0]["text"],
        by_type["response.completed"]["response"]["output"][0]["summary"][0]["text"],
    ]
    assert (("confirmed", True), [deltas] * 4) == (_labeled(deltas), copies)
    assert list(range(len(docs))) == [d["sequence_number"] for d in docs]


def test_responses_stream_reasoning_summary_passes_through_when_asked(labeler: Labeler) -> None:
    """
    With "pass" every reasoning summary event keeps the upstream's text.
    """
    docs = list(_stream_docs(labeler, "pass"))

    deltas = "".join(d["delta"] for d in docs if d["type"] == "response.reasoning_summary_text.delta")
    assert THOUGHT == deltas


# --- telemetry and Anthropic --------------------------------------------------------------------------------


@pytest.mark.parametrize(("choice", "expected"), [("label", "labeled"), ("pass", "passed_through")])
def test_span_says_what_happened_to_the_reasoning(labeler: Labeler, choice: str, expected: str) -> None:
    """
    The call's span carries `aigc.reasoning` = "labeled" or "passed_through".
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = _client(_chat_stream(), labeler, "text/event-stream", reasoning=choice, tracer_provider=provider)

    _streamed(client)

    (span,) = exporter.get_finished_spans()
    assert expected == (span.attributes or {}).get("aigc.reasoning")


def test_anthropic_thinking_block_passes_through(labeler: Labeler) -> None:
    """
    An Anthropic `thinking` block keeps its text (its signature covers it); the text block is labeled.
    """
    doc = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": THOUGHT, "signature": "sig"},
            {"type": "text", "text": ANSWER},
        ],
        "stop_reason": "end_turn",
    }
    rewriter = JSONRewriter(labeler, RequestInfo(Endpoint.MESSAGES, False, "", False, {}), None)
    out = json.loads(rewriter.rewrite(json.dumps(doc).encode()))

    assert (THOUGHT, ("confirmed", True), "passed_through") == (
        out["content"][0]["thinking"],
        _labeled(out["content"][1]["text"]),
        rewriter.reasoning,
    )
