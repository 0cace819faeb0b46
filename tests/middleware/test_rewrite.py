"""
The sans-I/O response rewriters: JSON bodies and SSE streams, for every endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware.apis import stream_rewriter
from aigclabel.middleware.common import BodyShapeError
from aigclabel.middleware.endpoints import Endpoint, RequestInfo, inspect_request, route
from aigclabel.middleware.jsonbody import JSONRewriter
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import KEY, PRODUCER, visible
from tests.middleware.upstream import Scenario, handler, sse_events

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。Hangzhou is an hour from Shanghai. " * 6
# Hypothesis tests cannot use function-scoped fixtures.
LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
PATHS = {
    Endpoint.CHAT: "/v1/chat/completions",
    Endpoint.COMPLETIONS: "/v1/completions",
    Endpoint.RESPONSES: "/v1/responses",
    Endpoint.MESSAGES: "/v1/messages",
}


def upstream_body(
    endpoint: Endpoint, *, stream: bool, scenario: Scenario | None = None, **extra: Any
) -> bytes:
    request_json: dict[str, Any] = {"model": "gpt-4o-mini", "stream": stream, **extra}
    if endpoint is Endpoint.COMPLETIONS:
        request_json["prompt"] = "hi"
    elif endpoint is Endpoint.RESPONSES:
        request_json["input"] = "hi"
    else:
        request_json["messages"] = [{"role": "user", "content": "hi"}]
    if endpoint is Endpoint.MESSAGES:
        request_json["max_tokens"] = 100
    up = handler(httpx, scenario or Scenario(text=TEXT, chunk_size=7))
    response = up(httpx.Request("POST", "http://upstream.test" + PATHS[endpoint], json=request_json))
    return response.read()


def info(endpoint: Endpoint, *, stream: bool, structured: bool = False) -> RequestInfo:
    return RequestInfo(endpoint, stream, "gpt-4o-mini", structured, {})


def streamed_texts(endpoint: Endpoint, body: bytes) -> dict[Any, str]:
    """
    The text each stream delivers, per choice / part / block, from an SSE body.
    """
    out: dict[Any, str] = {}
    for _event, data in sse_events(body):
        if data == "[DONE]":
            continue
        doc = json.loads(data)
        if endpoint is Endpoint.CHAT:
            for c in doc.get("choices", []):
                out[c["index"]] = out.get(c["index"], "") + (c.get("delta", {}).get("content") or "")
        elif endpoint is Endpoint.COMPLETIONS:
            for c in doc.get("choices", []):
                out[c["index"]] = out.get(c["index"], "") + (c.get("text") or "")
        elif endpoint is Endpoint.RESPONSES and doc.get("type") == "response.output_text.delta":
            key = (doc["item_id"], doc["content_index"])
            out[key] = out.get(key, "") + doc["delta"]
        elif (
            endpoint is Endpoint.MESSAGES
            and doc.get("type") == "content_block_delta"
            and doc["delta"]["type"] == "text_delta"
        ):
            out[doc["index"]] = out.get(doc["index"], "") + doc["delta"]["text"]
    return out


def rewrite_stream(labeler: Labeler, endpoint: Endpoint, body: bytes, cuts: list[int]) -> bytes:
    rewriter = stream_rewriter(labeler, info(endpoint, stream=True), None)
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    return b"".join(rewriter.feed(c) for c in chunks) + rewriter.close()


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_route_recognises_generation_posts(endpoint: Endpoint) -> None:
    """
    POSTs to the four generation paths are routed; GETs are not.
    """
    assert endpoint == route("POST", PATHS[endpoint])
    assert route("GET", PATHS[endpoint]) is None


def test_route_ignores_other_paths() -> None:
    """
    Models, embeddings, files and user-written thread messages are not labeled.
    """
    paths = ("/v1/embeddings", "/v1/files", "/v1/models", "/v1/threads/t_1/messages")

    assert [None] * len(paths) == [route("POST", p) for p in paths]


def test_route_labels_retrieval_of_stored_generations() -> None:
    """
    Retrieving a stored response or chat completion releases generated text again: it is labeled.
    """
    assert [Endpoint.RESPONSES, Endpoint.CHAT, None] == [
        route("GET", "/v1/responses/resp_1"),
        route("GET", "/v1/chat/completions/chatcmpl-1"),
        route("GET", "/v1/chat/completions/chatcmpl-1/messages"),
    ]


def test_inspect_request_reads_stream_model_and_structured_output() -> None:
    """
    stream, model, JSON mode (chat response_format, Responses text.format) and context headers are read.
    """
    chat = inspect_request(
        Endpoint.CHAT,
        b'{"model":"m","stream":true,"response_format":{"type":"json_schema"}}',
        {"x-aigc-user": "u-1"},
    )
    responses = inspect_request(Endpoint.RESPONSES, b'{"text":{"format":{"type":"json_object"}}}', {})
    broken = inspect_request(Endpoint.CHAT, b"not json", {})

    assert (True, "m", True, {"user": "u-1"}) == (
        chat.stream,
        chat.model,
        chat.structured,
        dict(chat.context),
    )
    assert responses.structured
    assert (False, "", False) == (broken.stream, broken.model, broken.structured)


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_json_text_is_labeled_with_aigc_object(labeler: Labeler, endpoint: Endpoint) -> None:
    """
    A JSON body's text verifies intact and the body carries an aigc object with the metadata.
    """
    rewriter = JSONRewriter(labeler, info(endpoint, stream=False), None)

    doc = json.loads(rewriter.rewrite(upstream_body(endpoint, stream=False)) or b"")

    text = {
        Endpoint.CHAT: lambda d: d["choices"][0]["message"]["content"],
        Endpoint.COMPLETIONS: lambda d: d["choices"][0]["text"],
        Endpoint.RESPONSES: lambda d: d["output"][0]["content"][0]["text"],
        Endpoint.MESSAGES: lambda d: d["content"][0]["text"],
    }[endpoint](doc)
    verdict = verify(text, key=KEY)
    assert ("intact", verdict.produce_id) == (verdict.status, doc["aigc"]["items"][0]["produce_id"])
    assert verdict.metadata is not None
    assert verdict.metadata.to_dict("wrapped") == doc["aigc"]["items"][0]["metadata"]


def test_json_mode_text_is_not_altered(labeler: Labeler) -> None:
    """
    Structured output keeps its exact text; the label is in the aigc object only.
    """
    body = upstream_body(Endpoint.CHAT, stream=False, scenario=Scenario(text=TEXT, json_mode=True))
    rewriter = JSONRewriter(labeler, info(Endpoint.CHAT, stream=False, structured=True), None)

    doc = json.loads(rewriter.rewrite(body) or b"")

    original = json.loads(body)["choices"][0]["message"]["content"]
    assert original == doc["choices"][0]["message"]["content"]
    assert doc["aigc"]["items"][0]["explicit"] is False


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b'{"choices": [{"message": "hi"}]}'])
def test_body_that_is_not_a_completion_object_is_refused(labeler: Labeler, body: bytes) -> None:
    """
    A body that is not a JSON object of the endpoint's shape raises instead of being passed on.
    """
    rewriter = JSONRewriter(labeler, info(Endpoint.CHAT, stream=False), None)

    with pytest.raises(BodyShapeError):
        rewriter.rewrite(body)


@pytest.mark.parametrize("endpoint", list(Endpoint))
@settings(max_examples=15)
@given(cuts=st.lists(st.integers(min_value=0), max_size=25))
def test_stream_text_verifies_for_any_byte_chunking(endpoint: Endpoint, cuts: list[int]) -> None:
    """
    However the upstream bytes are split, the streamed text verifies intact and its visible
    text equals the one-shot labeled text's.
    """
    body = upstream_body(endpoint, stream=True)

    texts = streamed_texts(endpoint, rewrite_stream(LABELER, endpoint, body, cuts))

    (text,) = texts.values()
    assert "intact" == verify(text, key=KEY).status
    assert visible(LABELER.label(TEXT).text) == visible(text)


def test_chat_stream_final_chunk_carries_aigc(labeler: Labeler) -> None:
    """
    The first chunk with text carries the aigc object (stage start) and so does the chunk with
    the finish_reason (stage end, with the metadata); [DONE] still ends the stream.
    """
    body = upstream_body(Endpoint.CHAT, stream=True)

    events = sse_events(rewrite_stream(labeler, Endpoint.CHAT, body, []))

    docs = [json.loads(d) for _, d in events if d != "[DONE]"]
    carriers = [doc for doc in docs if "aigc" in doc]
    first_text = next(doc for doc in docs if doc["choices"][0]["delta"].get("content"))
    assert [first_text, docs[-1]] == carriers
    assert (["start", "end"], "stop") == (
        [doc["aigc"]["stage"] for doc in carriers],
        carriers[-1]["choices"][0]["finish_reason"],
    )
    start, end = (doc["aigc"]["items"][0] for doc in carriers)
    assert start["ui"] == end["ui"]
    assert "" == start["metadata"]["AIGC"]["ReservedCode1"]
    assert end["metadata"]["AIGC"]["ReservedCode1"]
    assert "[DONE]" == events[-1][1]


def test_responses_stream_copies_stay_consistent(labeler: Labeler) -> None:
    """
    Deltas, output_text.done, content_part.done, output_item.done and response.completed all
    hold the same labeled text; sequence numbers stay consecutive after the injected delta.
    """
    body = upstream_body(Endpoint.RESPONSES, stream=True)

    docs = [json.loads(d) for _, d in sse_events(rewrite_stream(labeler, Endpoint.RESPONSES, body, []))]

    deltas = "".join(d["delta"] for d in docs if d["type"] == "response.output_text.delta")
    by_type = {d["type"]: d for d in docs}
    copies = [
        by_type["response.output_text.done"]["text"],
        by_type["response.content_part.done"]["part"]["text"],
        by_type["response.output_item.done"]["item"]["content"][0]["text"],
        by_type["response.completed"]["response"]["output"][0]["content"][0]["text"],
    ]
    assert [deltas] * 4 == copies
    assert list(range(len(docs))) == [d["sequence_number"] for d in docs]
    assert "aigc" in by_type["response.completed"]["response"]


def test_anthropic_stream_emits_tail_before_block_stop(labeler: Labeler) -> None:
    """
    The end label and seal arrive as one more text_delta right before content_block_stop.
    """
    body = upstream_body(Endpoint.MESSAGES, stream=True)

    events = [(e, json.loads(d)) for e, d in sse_events(rewrite_stream(labeler, Endpoint.MESSAGES, body, []))]

    kinds = [e for e, _ in events]
    stop = kinds.index("content_block_stop")
    assert "content_block_delta" == kinds[stop - 1]
    assert "aigc" in next(d for e, d in events if e == "message_delta")


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_stream_cut_at_a_clean_close_gets_its_end_label_and_seal(
    labeler: Labeler, endpoint: Endpoint
) -> None:
    """
    A stream that ends cleanly before a text's final event: close() emits the end label and seal.
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT * 6, chunk_size=9))
    cut = body[: body.rindex(b"\n\n", 0, len(body) * 3 // 4) + 2]
    rewriter = stream_rewriter(labeler, info(endpoint, stream=True), None)

    emitted = rewriter.feed(cut) + rewriter.close()

    (text,) = streamed_texts(endpoint, emitted).values()
    assert ("生成" in text, "confirmed") == ("生成" in visible(text)[-20:], verify(text, key=KEY).tier)


def test_clean_close_inside_an_event_puts_the_end_label_before_the_unreadable_rest(labeler: Labeler) -> None:
    """
    A stream cut inside its last event: the synthesized final chunk goes out before the truncated event.
    """
    body = upstream_body(Endpoint.CHAT, stream=True, scenario=Scenario(text=TEXT * 6, chunk_size=9))
    cut = body[: body.rindex(b"\n\n", 0, len(body) * 3 // 4) + 20]
    rewriter = stream_rewriter(labeler, info(Endpoint.CHAT, stream=True), None)

    emitted = rewriter.feed(cut) + rewriter.close()
    readable = emitted[: emitted.rindex(b"\n\n", 0, len(emitted) - 2) + 2]

    text = streamed_texts(Endpoint.CHAT, readable)[0]
    assert (True, "confirmed") == ("生成" in visible(text)[-20:], verify(text, key=KEY).tier)


def test_unknown_events_and_comments_pass_through_byte_for_byte(labeler: Labeler) -> None:
    """
    Comments, unknown event types and malformed data are emitted exactly as received.
    """
    junk = b': keep-alive\n\nevent: mystery\ndata: {"type":"mystery","x":1}\n\ndata: {not json\n\n'
    rewriter = stream_rewriter(labeler, info(Endpoint.MESSAGES, stream=True), None)

    assert junk == rewriter.feed(junk) + rewriter.close()


def test_history_hygiene_never_rewrites_numbers_it_cannot_keep() -> None:
    """
    A body whose re-serialisation would change a number (1e400 becomes Infinity) goes upstream untouched.
    """
    from aigclabel.middleware.history import HistoryHygiene

    marked = LABELER.label(TEXT * 8).text
    body = (
        '{"model":"m","temperature":1e400,"messages":[{"role":"assistant","content":'
        + json.dumps(marked)
        + "}]}"
    ).encode()

    assert HistoryHygiene(LABELER).rewrite(body) is None


def test_lone_surrogate_in_a_json_body_is_labeled(labeler: Labeler) -> None:
    """
    A content string with a lone surrogate is labeled and re-encoded as valid UTF-8 JSON.
    """
    body = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"hi \\ud83d there"}}]}'

    out = JSONRewriter(labeler, info(Endpoint.CHAT, stream=False), None).rewrite(body) or b""

    out.decode("utf-8")  # valid UTF-8
    assert "intact" == verify(json.loads(out)["choices"][0]["message"]["content"], key=KEY).status
