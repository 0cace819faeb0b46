"""
OpenAI Chat Completions and legacy Completions bodies that are valid but unusual: content parts that are
not text, chunks without ``choices`` or ``delta``, reasoning that never reaches an answer, a label placed
at the start without marks, choices without text, and legacy completions in Batch output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import UnlabelableResponseError, wrap

from tests.helpers import KEY, PRODUCER, bench_text, visible
from tests.middleware.upstream import sse_events

MODEL = "gpt-4o-mini"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
LABEL = "[AI-generated content · 本内容由AI生成]"
CHAT_URL = "http://upstream.test/v1/chat/completions"

Handler = Callable[[Any], Any]


def _replying(body: bytes, content_type: str = "application/json") -> Handler:
    return lambda request: httpx2.Response(200, headers={"content-type": content_type}, content=body)


def _openai(fn: Handler, labeler: Labeler, **options: Any) -> openai.OpenAI:
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(fn)),
    )
    return wrap(client, labeler, **options)


def _chat_body(message: dict[str, Any]) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
    return json.dumps({"id": "c1", "object": "chat.completion", "model": MODEL, "choices": [choice]}).encode()


def _chunk(choices: Any, **extra: Any) -> bytes:
    doc = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL, "choices": choices}
    return f"data: {json.dumps({**doc, **extra})}\n\n".encode()


def _delta(delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if delta is not None:
        choice["delta"] = delta
    return choice


def _pieces(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _stream_body(client: httpx2.Client, labeler: Labeler, **options: Any) -> bytes:
    request = {"model": MODEL, "messages": MESSAGES, "stream": True}
    return wrap(client, labeler, **options).post(CHAT_URL, json=request).read()


def _chunks(body: bytes) -> list[Any]:
    return [json.loads(data) for _, data in sse_events(body) if data.startswith("{")]


def _field(chunks: list[Any], field: str) -> str:
    return "".join(c["choices"][0]["delta"].get(field) or "" for c in chunks if c.get("choices"))


# --- chat: JSON -----------------------------------------------------------------------------------------


def test_chat_content_parts_without_text_get_a_metadata_only_item(labeler: Labeler) -> None:
    """
    Content parts that carry no text (an image part) are left as sent; the choice gets a metadata-only item.
    """
    part = {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(_chat_body({"content": [part]}))))

    doc = wrap(client, labeler).post(CHAT_URL, json={"model": MODEL, "messages": MESSAGES}).json()

    items = doc["aigc"]["items"]
    assert ([part], [(0, None)]) == (
        doc["choices"][0]["message"]["content"],
        [(i["index"], i.get("content_index")) for i in items],
    )


@pytest.mark.parametrize("part", ["plain string", {"type": "text", "text": 7}], ids=["string", "number"])
def test_chat_content_part_of_an_unknown_shape_is_refused(labeler: Labeler, part: Any) -> None:
    """
    A content part that is not a text part of the known shape raises `UnlabelableResponseError`.
    """
    client = _openai(_replying(_chat_body({"content": ["ok", part]})), labeler)

    with pytest.raises(UnlabelableResponseError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert "choice 0 has a content part that is not a text part of the known shape" == caught.value.reason


# --- chat: streams ----------------------------------------------------------------------------------------


def test_chat_stream_chunk_without_choices_passes_through(labeler: Labeler) -> None:
    """
    A chunk with no `choices` (as some compatible servers send for usage) passes byte for byte.
    """
    usage = b'data: {"id":"c1","object":"chat.completion.chunk","usage":{"prompt_tokens":3}}\n\n'
    body = b"".join(
        [
            _chunk([_delta({"role": "assistant", "content": ""})]),
            *(_chunk([_delta({"content": p})]) for p in _pieces(TEXT)),
            _chunk([_delta({}, "stop")]),
            usage,
            b"data: [DONE]\n\n",
        ]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))

    out = _stream_body(client, labeler)

    assert (True, "confirmed") == (usage in out, verify(_field(_chunks(out), "content"), key=KEY).tier)


def test_chat_stream_choice_that_is_not_an_object_is_skipped(labeler: Labeler) -> None:
    """
    A choice that is not a JSON object is left alone; the other choices of the chunk are labeled.
    """
    body = b"".join(
        [
            *(_chunk([None, _delta({"content": p})]) for p in _pieces(TEXT)),
            _chunk([None, _delta({}, "stop")]),
            b"data: [DONE]\n\n",
        ]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))

    chunks = _chunks(_stream_body(client, labeler))

    text = "".join(c["choices"][1]["delta"].get("content") or "" for c in chunks)
    assert ([None] * len(chunks), "confirmed") == (
        [c["choices"][0] for c in chunks],
        verify(text, key=KEY).tier,
    )


def test_chat_stream_finish_chunk_without_a_delta_gets_the_end_label(labeler: Labeler) -> None:
    """
    A finish chunk that has no `delta` at all gets one, carrying the end label and seal.
    """
    body = b"".join(
        [
            *(_chunk([_delta({"content": p})]) for p in _pieces(TEXT)),
            _chunk([_delta(None, "stop")]),
            b"data: [DONE]\n\n",
        ]
    )

    completion = _openai(_replying(body, "text/event-stream"), labeler)
    chunks = list(completion.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert ("confirmed", True, "stop") == (
        verify(text, key=KEY).tier,
        visible(text).endswith(LABEL),
        chunks[-1].choices[0].finish_reason,
    )


def test_chat_stream_of_long_reasoning_then_the_answer_labels_both(labeler: Labeler) -> None:
    """
    A long streamed reasoning text (marks land inside its deltas) and the answer are labeled as two texts.
    """
    thought = bench_text("en_alice")[:1500]
    body = b"".join(
        [
            *(_chunk([_delta({"reasoning_content": p, "content": None})]) for p in _pieces(thought, 40)),
            *(_chunk([_delta({"content": p, "reasoning_content": None})]) for p in _pieces(TEXT)),
            _chunk([_delta({}, "stop")]),
            b"data: [DONE]\n\n",
        ]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))

    chunks = _chunks(_stream_body(client, labeler))

    reasoning, content = _field(chunks, "reasoning_content"), _field(chunks, "content")
    assert (thought, TEXT, "confirmed", "confirmed") == (
        visible(reasoning)[: len(thought)],
        visible(content)[: len(TEXT)],
        verify(reasoning, key=KEY).tier,
        verify(content, key=KEY).tier,
    )


def test_chat_stream_of_reasoning_ended_by_a_finish_reason_ends_its_label(labeler: Labeler) -> None:
    """
    Reasoning followed directly by the finish chunk (no answer, e.g. `length`) still gets its end label.
    """
    thought = "The user asks whether 17 is prime. Check divisors up to 4: none divides it."
    body = b"".join(
        [
            *(_chunk([_delta({"reasoning_content": p})]) for p in _pieces(thought)),
            _chunk([_delta({}, "length")]),
            b"data: [DONE]\n\n",
        ]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))

    chunks = _chunks(_stream_body(client, labeler))

    reasoning = _field(chunks, "reasoning_content")
    fields = [item.get("field") for item in chunks[-1]["aigc"]["items"]]
    assert ("confirmed", True, [None, "reasoning_content"]) == (
        verify(reasoning, key=KEY).tier,
        visible(reasoning).startswith(thought),
        fields,
    )


def test_chat_stream_reasoning_with_the_label_at_the_start_and_no_marks() -> None:
    """
    With `placement="start"` and no marks, reasoning and answer each start with the label and get no tail.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="start", marks=False))
    thought = "Check divisors up to 4: none divides 17."
    body = b"".join(
        [
            *(_chunk([_delta({"reasoning_content": p})]) for p in _pieces(thought)),
            *(_chunk([_delta({"content": p})]) for p in _pieces(TEXT)),
            _chunk([_delta({}, "stop")]),
            b"data: [DONE]\n\n",
        ]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))

    chunks = _chunks(_stream_body(client, labeler))

    assert (f"{LABEL}\n\n{thought}", f"{LABEL}\n\n{TEXT}") == (
        _field(chunks, "reasoning_content"),
        _field(chunks, "content"),
    )


# --- legacy completions -----------------------------------------------------------------------------------


def _completion_body(*choices: dict[str, Any]) -> bytes:
    doc = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": MODEL,
        "choices": list(choices),
    }
    return json.dumps(doc).encode()


def test_completions_n2_with_a_null_text_labels_the_other_choice(labeler: Labeler) -> None:
    """
    A legacy completion choice whose `text` is null is left as sent; the other choice is labeled.
    """
    body = _completion_body(
        {"index": 0, "text": None, "finish_reason": "length"},
        {"index": 1, "text": TEXT, "finish_reason": "stop"},
    )
    client = _openai(_replying(body), labeler)

    completion = client.completions.create(model=MODEL, prompt="Say hello.", n=2)

    items = (completion.model_extra or {})["aigc"]["items"]
    assert (None, "confirmed", [1]) == (
        completion.choices[0].text,
        verify(completion.choices[1].text, key=KEY).tier,
        [i["index"] for i in items],
    )


@pytest.mark.parametrize("choice", [{"index": 0, "text": 42}, "text"], ids=["number", "not-an-object"])
def test_completions_choice_without_a_text_string_is_refused(labeler: Labeler, choice: Any) -> None:
    """
    A legacy completion choice whose `text` is not a string (or that is no object) is refused.
    """
    client = _openai(_replying(_completion_body(choice)), labeler)

    with pytest.raises(UnlabelableResponseError) as caught:
        client.completions.create(model=MODEL, prompt="Say hello.")

    assert ("text_completion", "choice 0 has no `text` string") == (
        caught.value.endpoint,
        caught.value.reason,
    )


def _batch_line(custom_id: str, body: dict[str, Any]) -> bytes:
    response = {"status_code": 200, "request_id": "req_1", "body": body}
    doc = {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": None}
    return json.dumps(doc).encode() + b"\n"


def _files(body: bytes, labeler: Labeler) -> openai.OpenAI:
    return _openai(_replying(body, "application/octet-stream"), labeler)


def test_completions_batch_line_is_labeled(labeler: Labeler) -> None:
    """
    A legacy completion in Batch output has its text labeled.
    """
    line = _batch_line(
        "r1", json.loads(_completion_body({"index": 0, "text": TEXT, "finish_reason": "stop"}))
    )

    content = _files(line, labeler).files.content("file-out").content

    text = json.loads(content)["response"]["body"]["choices"][0]["text"]
    assert ("confirmed", TEXT) == (verify(text, key=KEY).tier, visible(text)[: len(TEXT)])


def test_completions_batch_line_of_json_text_keeps_its_json(labeler: Labeler) -> None:
    """
    A legacy completion in Batch output whose text is JSON stays parseable JSON (no visible label).
    """
    answer = json.dumps({"answer": "Paris"})
    line = _batch_line(
        "r1", json.loads(_completion_body({"index": 0, "text": answer, "finish_reason": "stop"}))
    )

    content = _files(line, labeler).files.content("file-out").content

    text = json.loads(content)["response"]["body"]["choices"][0]["text"]
    assert {"answer": "Paris"} == json.loads(visible(text))
