"""
Edge cases of request-history hygiene and of the span attributes read from a response body:
bodies the middleware does not understand pass through unchanged, and attributes are taken
only from fields of the expected type.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.middleware.history import HistoryHygiene
from aigclabel.middleware.telemetry import _attributes, _response_attributes

from tests.helpers import KEY, PRODUCER


@pytest.fixture(name="hygiene")
def _hygiene(labeler: Labeler) -> HistoryHygiene:
    """
    History hygiene for the default labeler.
    """
    return HistoryHygiene(labeler)


def _body(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def test_own_marks_are_dropped_from_assistant_parts(labeler: Labeler, hygiene: HistoryHygiene) -> None:
    """
    Own marks in the text parts of an assistant turn (content as a list) are removed; other
    parts are kept as they are.
    """
    labeled = labeler.label("杭州是浙江省的省会，以西湖闻名。", placement="none").text
    body = _body({"input": [{"role": "assistant", "content": [{"type": "output_text", "text": labeled}, 7]}]})

    out = hygiene.rewrite(body)

    assert out is not None
    assert [{"type": "output_text", "text": "杭州是浙江省的省会，以西湖闻名。"}, 7] == json.loads(out)[
        "input"
    ][0]["content"]


@pytest.mark.parametrize(
    "wrap",
    [lambda marks: b"not json " + marks.encode(), lambda marks: _body([marks])],
    ids=["not JSON", "not an object"],
)
def test_bodies_that_are_not_a_json_object_pass_through(
    hygiene: HistoryHygiene, wrap: Any, labeler: Labeler
) -> None:
    """
    A request body that holds mark characters but is not a JSON object is sent unchanged.
    """
    marks = labeler.label("杭州是浙江省的省会。", placement="none").text

    assert hygiene.rewrite(wrap(marks)) is None


def test_a_body_without_mark_characters_is_not_parsed(hygiene: HistoryHygiene) -> None:
    """
    A body with no mark character at all is sent unchanged without being decoded.
    """
    assert hygiene.rewrite(_body({"messages": [{"role": "assistant", "content": "杭州"}]})) is None


def test_other_producers_marks_stay(hygiene: HistoryHygiene) -> None:
    """
    Marks made with another key are not this labeler's: the body goes upstream unchanged.
    """
    other = Labeler(LabelPolicy(producer=PRODUCER, key="f" * 32 + KEY[::-1]))
    text = other.label("杭州是浙江省的省会，以西湖闻名。", placement="none").text

    assert hygiene.rewrite(_body({"messages": [{"role": "assistant", "content": text}]})) is None


def test_a_body_that_cannot_be_reserialised_exactly_is_left_alone(
    labeler: Labeler, hygiene: HistoryHygiene
) -> None:
    """
    A number JSON cannot write back (out of range, parsed as infinity) keeps the body as it was.
    """
    text = labeler.label("杭州是浙江省的省会，以西湖闻名。", placement="none").text
    body = _body({"messages": [{"role": "assistant", "content": text}]})[:-1] + b', "temperature": 1e999}'

    assert hygiene.rewrite(body) is None


def test_the_run_cache_is_bounded(labeler: Labeler, hygiene: HistoryHygiene) -> None:
    """
    The cache of decided mark runs is cleared when it grows past its bound, and decisions
    stay correct afterwards.
    """
    text = labeler.label("杭州是浙江省的省会，以西湖闻名。", placement="none").text
    body = _body({"messages": [{"role": "assistant", "content": text}]})
    hygiene._known.update({str(i): False for i in range(4097)})

    out = hygiene.rewrite(body)

    assert out is not None
    assert (True, "杭州是浙江省的省会，以西湖闻名。") == (
        len(hygiene._known) < 10,
        json.loads(out)["messages"][0]["content"],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", {}),
        (b"[1]", {}),
        (
            _body({"response": {"id": "resp_1", "model": "m", "status": "completed", "output": []}}),
            {
                "gen_ai.response.id": "resp_1",
                "gen_ai.response.model": "m",
                "gen_ai.response.finish_reasons": ["completed"],
            },
        ),
        (
            _body(
                {"id": "msg_1", "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 5}}
            ),
            {
                "gen_ai.response.id": "msg_1",
                "gen_ai.response.finish_reasons": ["end_turn"],
                "gen_ai.usage.input_tokens": 3,
                "gen_ai.usage.output_tokens": 5,
            },
        ),
        (_body({"model": 7, "usage": {"prompt_tokens": "3"}, "choices": [{"finish_reason": None}, 1]}), {}),
    ],
    ids=["not JSON", "not an object", "Responses API", "Anthropic messages", "fields of the wrong type"],
)
def test_response_attributes(body: bytes, expected: dict[str, Any]) -> None:
    """
    GenAI span attributes come from the response object (a Responses ``response`` wrapper
    unwrapped); values of the wrong type are left out.
    """
    assert expected == _response_attributes(body)


def test_stream_summary_attributes_use_the_same_reader() -> None:
    """
    A stream's summary of the response shape gives the same attributes as a body.
    """
    summary = {"id": "chatcmpl-1", "choices": [{"finish_reason": "stop"}], "usage": {"completion_tokens": 9}}

    assert {
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.output_tokens": 9,
    } == _attributes(summary)
