"""
OpenAI Responses bodies that are valid but unusual: no output text at all, empty reasoning summary parts,
a ``*.done`` event whose text never came as deltas, events with ``null`` objects, a stream that ends
cleanly while a reasoning summary is open, and a label placed at the start without marks.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import wrap

from tests.helpers import KEY, PRODUCER, visible
from tests.middleware.upstream import encode_sse, sse_events

MODEL = "o4-mini"
URL = "http://upstream.test/v1/responses"
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
THOUGHT = "The user asks for a pangram; the classic one about the fox will do."
LABEL = "[AI-generated content · 本内容由AI生成]"
CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "completed",
    "arguments": '{"location":"Paris"}',
    "call_id": "call_1",
    "name": "get_weather",
}
WHERE = {"item_id": "msg_1", "output_index": 0, "content_index": 0}


def _response(output: list[Any], status: str = "completed") -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "status": status, "model": MODEL, "output": output}


def _message(text: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [part]}


def _events(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(
        encode_sse(kind, json.dumps({"type": kind, "sequence_number": n, **fields}))
        for n, (kind, fields) in enumerate(events)
    )


def _client(body: bytes, content_type: str, labeler: Labeler) -> httpx2.Client:
    answer = httpx2.Response(200, headers={"content-type": content_type}, content=body)
    return wrap(httpx2.Client(transport=httpx2.MockTransport(lambda request: answer)), labeler)


def _stream(body: bytes, labeler: Labeler) -> list[tuple[str | None, Any]]:
    request = {"model": MODEL, "input": "Say a pangram.", "stream": True}
    out = _client(body, "text/event-stream", labeler).post(URL, json=request).read()
    return [(kind, json.loads(data)) for kind, data in sse_events(out)]


def _deltas(events: list[tuple[str | None, Any]], kind: str) -> str:
    return "".join(doc["delta"] for k, doc in events if k == kind)


def test_response_with_only_a_function_call_gets_a_metadata_only_item(labeler: Labeler) -> None:
    """
    A Responses object whose output is only a function call is unchanged and gets one `aigc` item for index 0.
    """
    body = json.dumps(_response([CALL])).encode()
    http = httpx2.Client(
        transport=httpx2.MockTransport(
            lambda request: httpx2.Response(200, headers={"content-type": "application/json"}, content=body)
        )
    )
    client = wrap(
        openai.OpenAI(api_key="test", base_url="http://upstream.test/v1", http_client=http), labeler
    )

    response = client.responses.create(model=MODEL, input="Weather in Paris?")

    items = (response.model_extra or {})["aigc"]["items"]
    assert (CALL["arguments"], [0]) == (response.output[0].arguments, [item["index"] for item in items])  # type: ignore[union-attr]


def test_empty_reasoning_summary_parts_are_left_alone(labeler: Labeler) -> None:
    """
    A reasoning item with an empty summary part keeps it empty; the non-empty one and the answer are labeled.
    """
    reasoning = {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": ""}, {"type": "summary_text", "text": THOUGHT}],
    }
    body = json.dumps(_response([reasoning, _message(TEXT)])).encode()

    doc = _client(body, "application/json", labeler).post(URL, json={"model": MODEL, "input": "Hi"}).json()

    summary = doc["output"][0]["summary"]
    fields = [(item.get("field"), item.get("summary_index")) for item in doc["aigc"]["items"]]
    assert ("", "confirmed", [(None, None), ("summary", 1)]) == (
        summary[0]["text"],
        verify(summary[1]["text"], key=KEY).tier,
        fields,
    )


def test_done_event_with_text_that_never_came_as_deltas_is_labeled(labeler: Labeler) -> None:
    """
    An `output_text.done` event whose text never came as deltas carries that text labeled, and the final
    response's output agrees with it.
    """
    body = _events(
        ("response.created", {"response": _response([], "in_progress")}),
        ("response.output_text.done", {**WHERE, "text": TEXT}),
        ("response.output_item.done", {"output_index": 0, "item": _message(TEXT)}),
        ("response.completed", {"response": _response([_message(TEXT)])}),
    )

    events = _stream(body, labeler)

    done = next(doc for kind, doc in events if kind == "response.output_text.done")["text"]
    final = events[-1][1]["response"]["output"][0]["content"][0]["text"]
    assert ("confirmed", TEXT, final) == (verify(done, key=KEY).tier, visible(done)[: len(TEXT)], done)


def test_events_carrying_null_objects_pass_through(labeler: Labeler) -> None:
    """
    An `output_item.done` with a null item and a `response.completed` with a null response pass unchanged.
    """
    body = _events(
        ("response.output_text.delta", {**WHERE, "delta": TEXT}),
        ("response.output_text.done", {**WHERE, "text": TEXT}),
        ("response.output_item.done", {"output_index": 0, "item": None}),
        ("response.completed", {"response": None}),
    )

    events = _stream(body, labeler)

    assert [None, None] == [events[-2][1]["item"], events[-1][1]["response"]]


def test_a_stream_ending_inside_a_reasoning_summary_closes_it(labeler: Labeler) -> None:
    """
    A stream that ends cleanly while a reasoning summary is still open gets a synthesized
    `reasoning_summary_text.done` carrying the labeled summary and its `aigc` object.
    """
    where = {"item_id": "rs_1", "output_index": 0, "summary_index": 0}
    body = _events(
        *(
            ("response.reasoning_summary_text.delta", {**where, "delta": THOUGHT[i : i + 9]})
            for i in range(0, len(THOUGHT), 9)
        ),
    )

    events = _stream(body, labeler)

    done = events[-1][1]
    summary = _deltas(events, "response.reasoning_summary_text.delta")
    assert ("response.reasoning_summary_text.done", "confirmed", done["text"], "summary") == (
        events[-1][0],
        verify(done["text"], key=KEY).tier,
        summary,
        done["aigc"]["items"][0]["field"],
    )


def test_a_clean_end_with_the_label_at_the_start_sends_only_the_done_event() -> None:
    """
    With `placement="start"` and no marks, a stream cut after its deltas gets a synthesized `.done` event
    and no extra delta (there is no tail).
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="start", marks=False))
    body = _events(
        *(("response.output_text.delta", {**WHERE, "delta": TEXT[i : i + 9]}) for i in range(0, len(TEXT), 9))
    )

    events = _stream(body, labeler)

    kinds = [kind for kind, _ in events]
    expected = f"{LABEL}\n\n{TEXT}"
    assert ((len(TEXT) + 8) // 9, expected, expected) == (
        kinds.count("response.output_text.delta"),
        _deltas(events, "response.output_text.delta"),
        events[-1][1]["text"],
    )
