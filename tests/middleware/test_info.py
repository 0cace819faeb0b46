"""
``aigc_info()``: the ``aigc`` object of a wrapped client's results, typed.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from aigclabel import AIGCMetadata, Labeler, UIDisclosure
from aigclabel.middleware import AIGCInfo, aigc_info, wrap

from tests.middleware.upstream import Scenario, handler

MESSAGES: Any = [{"role": "user", "content": "Say hello."}]


def _openai(labeler: Labeler, scenario: Scenario | None = None) -> openai.OpenAI:
    http_client = httpx2.Client(transport=handler(httpx2, scenario).transport())
    return wrap(
        openai.OpenAI(api_key="t", base_url="http://upstream.test/v1", http_client=http_client), labeler
    )


def test_an_openai_completion_gives_typed_items(labeler: Labeler) -> None:
    """
    The chat completion's ``aigc`` object becomes metadata and interface-tag objects.
    """
    completion = _openai(labeler).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    info = aigc_info(completion)

    assert info is not None
    item = info.items[0]
    assert ("1", 0, True, True, True) == (
        info.label,
        item.index,
        isinstance(item.metadata, AIGCMetadata),
        isinstance(item.ui, UIDisclosure),
        item.produce_id == item.metadata.produce_id == item.ui.produce_id,
    )


def test_a_responses_stream_completed_event_is_looked_into(labeler: Labeler) -> None:
    """
    ``response.completed`` carries the object in its ``response``.
    """
    client = _openai(labeler)
    events = list(client.responses.create(model="gpt-4o-mini", input="Say hello.", stream=True))

    info = aigc_info(events[-1])

    assert (info is not None, "response.completed") == (True, events[-1].type)


def test_an_anthropic_message_gives_typed_items(labeler: Labeler) -> None:
    """
    The same for an anthropic ``Message``.
    """
    http_client = httpx2.Client(transport=handler(httpx2).transport())
    client = wrap(
        anthropic.Anthropic(api_key="t", base_url="http://upstream.test", http_client=http_client), labeler
    )
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)

    info = aigc_info(message)

    assert info is not None
    assert message.content[0].type == "text"
    assert info.items[0].produce_id in json.dumps(info.raw)


def test_a_dict_and_a_raw_body_give_the_same_info(labeler: Labeler) -> None:
    """
    A parsed body and its JSON bytes read the same.
    """
    raw = _openai(labeler).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    body = raw.http_response.content

    from_bytes, from_dict = aigc_info(body), aigc_info(json.loads(body))

    assert isinstance(from_bytes, AIGCInfo)
    assert from_bytes == from_dict


@pytest.mark.parametrize("result", [{}, {"choices": []}, b"not json", "[]", object(), None])
def test_results_without_an_aigc_object_give_none(result: object) -> None:
    """
    An unwrapped result, a plain value or a stream's ordinary chunk has no label data.
    """
    assert None is aigc_info(result)


@pytest.mark.parametrize(
    "aigc",
    [
        {"label": "1"},
        {"label": "1", "items": [1]},
        {"label": "1", "items": [{"index": 0}]},
        {"label": "1", "items": [{"index": "0", "produce_id": "x", "metadata": {}, "ui": {}}]},
    ],
)
def test_a_malformed_aigc_object_raises_value_error(aigc: Any) -> None:
    """
    An ``aigc`` object not of the middleware's shape is an error, not a partial answer.
    """
    with pytest.raises(ValueError, match="aigc"):
        aigc_info({"aigc": aigc})
