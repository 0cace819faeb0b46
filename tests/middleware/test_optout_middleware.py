"""
Art. 9 opt-out through a wrapped client: recorded before release, no visible label, marks stay.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.adapters.audit import AuditStore
from aigclabel.middleware import wrap

from tests.helpers import CHAIN_KEY, KEY, PRODUCER
from tests.middleware.upstream import Scenario, handler

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。" * 20
HEADERS = {"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1", "x-aigc-request-id": "req-1"}


@pytest.fixture(name="store_url")
def _store_url(tmp_path: Path) -> str:
    """
    A fresh SQLite record store.
    """
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(name="client")
def _client(store_url: str) -> openai.OpenAI:
    """
    A wrapped OpenAI client whose labeler honours opt-outs under agreement 2025-09.
    """
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=store_url,
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
        )
    )
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=9))
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=upstream.transport()),
    )
    return wrap(client, labeler)


def kinds_and_users(store_url: str) -> list[tuple[str, str, str | None, str | None]]:
    store = AuditStore.open(store_url)
    try:
        return [(r.kind, r.user, r.request_id, r.model) for r in store.query()]
    finally:
        store.close()


def test_json_opt_out_is_recorded_and_unlabeled_visibly(client: openai.OpenAI, store_url: str) -> None:
    """
    A completion for an opted-out user has no visible label, keeps intact marks, and is recorded.
    """
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=HEADERS
    )

    verdict = verify(completion.choices[0].message.content or "", key=KEY)
    assert ("intact", ()) == (verdict.status, verdict.evidence.explicit)
    assert [("generated", "u-1", "req-1", "gpt-4o-mini")] == kinds_and_users(store_url)


def test_stream_opt_out_is_recorded_before_the_first_chunk(client: openai.OpenAI, store_url: str) -> None:
    """
    The stream's record exists when the first content chunk arrives; a completion record follows.
    """
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True, extra_headers=HEADERS
    )
    parts: list[str] = []
    seen_at_first_chunk: list[tuple[str, str, str | None, str | None]] | None = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if seen_at_first_chunk is None:
                seen_at_first_chunk = kinds_and_users(store_url)
            parts.append(chunk.choices[0].delta.content)

    verdict = verify("".join(parts), key=KEY)
    assert [("generated", "u-1", "req-1", "gpt-4o-mini")] == seen_at_first_chunk
    assert ["generated", "completed"] == [k for k, *_ in kinds_and_users(store_url)]
    assert ("intact", ()) == (verdict.status, verdict.evidence.explicit)


def test_a_tool_call_only_response_writes_no_release_record(store_url: str) -> None:
    """
    An opted-out answer that holds only a tool call releases no text: its label is the
    metadata and interface tag, and no Art. 9 record is written (no hash of an empty text).
    """
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                        }
                    ],
                },
            }
        ],
    }
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=store_url,
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
        )
    )
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    client = wrap(
        openai.OpenAI(
            api_key="test",
            base_url="http://upstream.test/v1",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
        ),
        labeler,
    )

    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}], extra_headers=HEADERS
    )

    items = completion.aigc["items"]  # type: ignore[attr-defined]
    assert (1, True, []) == (len(items), bool(items[0]["produce_id"]), kinds_and_users(store_url))
