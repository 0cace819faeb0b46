"""
Per-request context and the Art. 9 release step: bindings per labeler or per request, one decision
per request, async records, ``describe()`` without a record.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aigclabel import (
    LabelContext,
    Labeler,
    LabelPolicy,
    OptOut,
    OptOutDecision,
    OptOutError,
    StreamStateError,
    current_context,
    request_context,
)
from aigclabel.audit.records import AuditRecord

from tests.helpers import KEY, PRODUCER

OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
TEXT = "杭州是浙江省的省会，以西湖闻名。"


class MemorySink:
    """
    A record sink that keeps records in memory (sync and async), counting the calls.
    """

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.async_calls = 0

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.records.append(record)
        return record

    async def append_async(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.async_calls += 1
        return self.append(record)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def make(sink: MemorySink, **extra: Any) -> Labeler:
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        opt_out_agreements=["2025-09"],
        audit_chain_key="9f1c3a7e5b2d4c6e8a0b1d3f5e7c9a2b",
        **extra,
    )
    return Labeler(policy, sink=sink)


@pytest.fixture(name="sink")
def _sink() -> MemorySink:
    return MemorySink()


def test_a_labelers_binding_is_its_own(sink: MemorySink) -> None:
    """
    ``labeler.context()`` binds for that labeler only: another tenant's labeler sees nothing.
    """
    a, b = make(sink), make(sink)

    with a.context(user="u-1", opt_out=OPT_OUT) as ctx:
        assert (ctx, None, None) == (a.current_context(), b.current_context(), current_context())


def test_a_request_binding_is_seen_by_every_labeler_and_a_labelers_own_wins(sink: MemorySink) -> None:
    """
    ``request_context()`` binds for all labelers; a labeler's own binding takes precedence.
    """
    a, b = make(sink), make(sink)

    with request_context(user="everyone") as shared, a.context(user="only-a") as own:
        assert (own, shared, shared) == (a.current_context(), b.current_context(), current_context())
    assert (None, None) == (a.current_context(), current_context())


def test_concurrent_tasks_see_their_own_bindings(sink: MemorySink) -> None:
    """
    Bindings live in contextvars: two asyncio tasks bound to different users do not mix.
    """
    labeler = make(sink)

    async def handle(user: str) -> str | None:
        with labeler.context(user=user):
            await asyncio.sleep(0)
            ctx = labeler.current_context()
            return ctx.user if ctx is not None else None

    async def main() -> list[str | None]:
        return list(await asyncio.gather(handle("a"), handle("b")))

    assert ["a", "b"] == asyncio.run(main())


def test_decide_without_an_opt_out_is_the_default(sink: MemorySink) -> None:
    """
    No opt-out in the context: the visible label applies and nothing is refused.
    """
    decision = make(sink).decide(LabelContext(user="u"))

    assert (False, None) == (decision.accepted, decision.refusal)


def test_decide_accepts_and_refuses(sink: MemorySink) -> None:
    """
    An accepted agreement version is honoured; another is refused with the reason.
    """
    labeler = make(sink)

    accepted = labeler.decide(LabelContext(opt_out=OPT_OUT))
    refused = labeler.decide(LabelContext(opt_out=OptOut(user="u", agreement_version="old")))

    assert (True, False) == (accepted.accepted, refused.accepted)
    assert "not accepted" in (refused.refusal or "")


def test_decide_raises_a_refusal_in_raise_mode(sink: MemorySink) -> None:
    """
    ``opt_out_on_error = "raise"``: the refusal is raised when deciding, before anything is generated.
    """
    with pytest.raises(OptOutError, match="not accepted"):
        make(sink, opt_out_on_error="raise").decide(
            LabelContext(opt_out=OptOut(user="u", agreement_version="x"))
        )


def test_a_given_decision_is_used_as_is(sink: MemorySink) -> None:
    """
    ``label(decision=…)`` does not decide again: the request's one decision is applied.
    """
    labeler = make(sink)
    decision = OptOutDecision(opt_out=OPT_OUT)

    out = labeler.label(TEXT, context=LabelContext(user="u-1"), decision=decision)

    assert (False, True, ["generated"]) == (out.explicit, out.opted_out, [r.kind for r in sink.records])


def test_alabel_awaits_the_async_sink(sink: MemorySink) -> None:
    """
    ``alabel()`` records an opt-out through the sink's async path before returning.
    """
    labeler = make(sink)

    out = asyncio.run(labeler.alabel(TEXT, context=LabelContext(opt_out=OPT_OUT)))

    assert (True, 1, out.produce_id) == (out.opted_out, sink.async_calls, sink.records[0].produce_id)


def test_astream_records_before_and_after(sink: MemorySink) -> None:
    """
    An opted-out async stream: "generated" before the first chunk, "completed" with the hash after.
    """
    labeler = make(sink)

    async def run() -> str:
        stream = await labeler.astream(context=LabelContext(opt_out=OPT_OUT))
        assert ["generated"] == [r.kind for r in sink.records]
        text = stream.feed(TEXT) + stream.finish()
        await labeler.acomplete(stream)
        return text

    text = asyncio.run(run())

    assert ["generated", "completed"] == [r.kind for r in sink.records]
    assert sink.records[1].content_sha256 is not None
    assert "人工智能" not in text


def test_finish_of_an_async_stream_writes_nothing(sink: MemorySink) -> None:
    """
    ``StreamLabeler.finish()`` is sans-I/O: an async stream's completion record waits for ``acomplete``.
    """
    labeler = make(sink)

    async def run() -> None:
        stream = await labeler.astream(context=LabelContext(opt_out=OPT_OUT))
        stream.feed(TEXT)
        stream.finish()

    asyncio.run(run())

    assert ["generated"] == [r.kind for r in sink.records]


def test_complete_before_finish_is_an_error(sink: MemorySink) -> None:
    """
    A stream's completion record needs its finished text.
    """
    labeler = make(sink)
    stream = labeler.stream()

    with pytest.raises(StreamStateError, match="finish"):
        labeler.complete(stream)


def test_describe_gives_metadata_and_tag_without_a_record(sink: MemorySink) -> None:
    """
    Output with no text (tool calls, JSON mode) gets metadata and the interface tag; no record.
    """
    labeler = make(sink)

    with labeler.context(opt_out=OPT_OUT):
        described = labeler.describe(language="en")

    assert ("", False, [], PRODUCER) == (
        described.text,
        described.explicit,
        sink.records,
        described.metadata.content_producer,
    )
    assert described.ui.produce_id == described.produce_id == described.metadata.produce_id


def test_opt_out_in_a_finished_handler_context_is_gone(sink: MemorySink) -> None:
    """
    A binding lasts while its block runs: a stream made after the block sees no opt-out (bind it
    where the response is produced, or pass ``context=``).
    """
    labeler = make(sink)
    with labeler.context(opt_out=OPT_OUT):
        pass

    stream = labeler.stream()

    assert stream.opt_out is None
