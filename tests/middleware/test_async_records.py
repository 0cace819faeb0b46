"""
An async wrapped client never waits on the record sink on the event loop's thread.

The probe is a record sink with only a blocking ``append``: it notes the thread that calls it.
Opted-out answers, one-shot and streamed, and ``audit_record_all`` releases are recorded, and no
``append`` ever runs on the loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.audit.records import AuditRecord
from aigclabel.middleware import wrap

from tests.helpers import CHAIN_KEY, KEY, PRODUCER
from tests.middleware.upstream import Scenario, handler

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。" * 10
OPT_OUT = {"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1"}


class BlockingProbe:
    """
    A sync-only record sink that remembers which thread appended each record.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.calls.append((record.kind, threading.get_ident()))
        return record

    def close(self) -> None:
        pass


def _client(probe: BlockingProbe, **extra: Any) -> openai.AsyncOpenAI:
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store="sqlite:///unused.db",
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
            **extra,
        ),
        sink=probe,
    )
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=9))
    client = openai.AsyncOpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=upstream.transport()),
    )
    return wrap(client, labeler)


async def _one_shot(client: openai.AsyncOpenAI, headers: dict[str, str]) -> str:
    completion = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_headers=headers
    )
    return completion.choices[0].message.content or ""


async def _streamed(client: openai.AsyncOpenAI, headers: dict[str, str]) -> str:
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, extra_headers=headers
    )
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return "".join(parts)


@pytest.mark.parametrize("call", [_one_shot, _streamed], ids=["one-shot", "stream"])
@pytest.mark.parametrize(
    ("headers", "extra", "kinds"),
    [
        (OPT_OUT, {}, {"_one_shot": ["generated"], "_streamed": ["generated", "completed"]}),
        ({}, {"audit_record_all": True}, {"_one_shot": ["generated"], "_streamed": ["generated"]}),
    ],
    ids=["opt-out", "record-all"],
)
def test_records_are_never_written_on_the_event_loop_thread(
    call: Any, headers: dict[str, str], extra: dict[str, Any], kinds: dict[str, list[str]]
) -> None:
    """
    Every record of an async call is appended on a worker thread, never the loop's.
    """
    probe = BlockingProbe()

    async def run() -> tuple[str, int]:
        return await call(_client(probe, **extra), headers), threading.get_ident()

    text, loop_thread = asyncio.run(run())

    assert kinds[call.__name__] == [kind for kind, _ in probe.calls]
    assert all(thread != loop_thread for _, thread in probe.calls)
    assert "intact" == verify(text, key=KEY).status
