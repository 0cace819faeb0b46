"""
A policy with a statistical watermark never forwards vLLM's per-request switch that turns it off.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.middleware import wrap
from aigclabel.middleware.endpoints import keep_watermarking

from tests.helpers import KEY, PRODUCER

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi there."}}
    ],
}


def _client(labeler: Labeler, seen: list[dict[str, Any]]) -> openai.OpenAI:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json=ANSWER)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return wrap(openai.OpenAI(api_key="k", base_url="http://vllm.test/v1", http_client=http), labeler)


@pytest.mark.parametrize("switch", [False, None, 0, "false"])
def test_a_watermarking_policy_does_not_forward_the_switch_off(switch: Any) -> None:
    seen: list[dict[str, Any]] = []
    client = _client(Labeler(LabelPolicy(producer=PRODUCER, key=KEY, watermark="gumbel")), seen)

    client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"watermarking": switch},
        temperature=0.5,
    )

    assert "watermarking" not in seen[0]
    assert seen[0]["temperature"] == 0.5
    assert seen[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_watermarking_true_is_forwarded() -> None:
    seen: list[dict[str, Any]] = []
    client = _client(Labeler(LabelPolicy(producer=PRODUCER, key=KEY, watermark="green_list")), seen)

    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"watermarking": True}
    )

    assert seen[0]["watermarking"] is True


def test_without_a_watermark_in_the_policy_the_request_is_untouched() -> None:
    seen: list[dict[str, Any]] = []
    client = _client(Labeler(LabelPolicy(producer=PRODUCER, key=KEY)), seen)

    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"watermarking": False}
    )

    assert seen[0]["watermarking"] is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"model":"m","watermarking":false}', b'{"model":"m"}'),
        (b'{"model":"m","watermarking":true}', None),
        (b'{"model":"m"}', None),
        (b'{"nested":{"watermarking":false}}', None),  # only vLLM's top-level switch
        (b'["watermarking"]', None),
        (b'{"watermarking":false', None),  # not JSON: the upstream refuses it anyway
        (b'{"a":"\\ud800","watermarking":0}', b'{"a":"\\ud800"}'),  # a lone surrogate stays escaped
    ],
)
def test_keep_watermarking_changes_only_the_top_level_switch(body: bytes, expected: bytes | None) -> None:
    assert keep_watermarking(body) == expected
