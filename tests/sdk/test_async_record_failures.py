"""
The labeler's async (and stream completion) paths when the record store fails: an opted-out text or
stream falls back to the visible label and says why; a labeled release or a completion whose record
cannot be written is logged and released anyway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aigclabel import LabelContext, Labeler, LabelPolicy, OptOut, verify
from aigclabel.audit import AuditRecord, RecordSinkError

from tests.helpers import CHAIN_KEY, KEY, PRODUCER, visible

TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
LABEL = "[AI-generated content · 本内容由AI生成]"
OPTED_OUT = LabelContext(user="u-1", opt_out=OptOut(user="u-1", agreement_version="2025-09"))
UNRECORDED = "the opt-out record could not be written (the record store is unavailable); the text is labeled"


class _Sink:
    """
    A record sink that fails for the record kinds in *failing* and keeps the others.
    """

    def __init__(self, *failing: str) -> None:
        self.failing = set(failing)
        self.records: list[AuditRecord] = []
        self.closed = False

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        if record.kind in self.failing:
            raise RecordSinkError("the record store is unavailable")
        self.records.append(record)
        return record

    def close(self) -> None:
        self.closed = True


def _labeler(sink: _Sink, **extra: Any) -> Labeler:
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
        **extra,
    )
    return Labeler(policy, sink=sink)


def test_alabel_of_an_opted_out_text_whose_record_fails_labels_it_and_says_why() -> None:
    """
    `alabel` of an opted-out text whose record cannot be written returns it labeled, with a notice.
    """
    result = asyncio.run(_labeler(_Sink("generated")).alabel(TEXT, context=OPTED_OUT))

    assert (True, "confirmed", UNRECORDED) == (
        visible(result.text).endswith(LABEL),
        verify(result.text, key=KEY).tier,
        result.notice,
    )


@pytest.mark.parametrize("asynchronous", [False, True], ids=["label", "alabel"])
def test_a_recorded_release_whose_record_fails_is_logged_and_released(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """
    Under `audit_record_all`, a labeled text whose record cannot be written is still returned labeled; the
    failure is logged.
    """
    labeler = _labeler(_Sink("generated"), audit_record_all=True)

    with caplog.at_level(logging.ERROR, logger="aigclabel"):
        result = asyncio.run(labeler.alabel(TEXT)) if asynchronous else labeler.label(TEXT)

    assert ("confirmed", None, ["aigc-label: the record of a labeled release could not be written"]) == (
        verify(result.text, key=KEY).tier,
        result.notice,
        [r.getMessage() for r in caplog.records],
    )


def test_astream_of_an_opted_out_stream_whose_record_fails_is_labeled() -> None:
    """
    `astream` for an opted-out request whose opening record cannot be written gives a labeled stream that
    says why.
    """

    async def main() -> tuple[str, str | None]:
        stream = await _labeler(_Sink("generated")).astream(context=OPTED_OUT)
        text = stream.feed(TEXT) + stream.finish()
        assert stream.result is not None
        return text, stream.result.notice

    text, notice = asyncio.run(main())

    assert (True, UNRECORDED) == (visible(text).endswith(LABEL), notice)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["complete", "acomplete"])
def test_a_completion_record_that_fails_is_logged(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """
    An opted-out stream whose `completed` record cannot be written stays unlabeled (it is out); the failure
    is logged, and only the opening record is stored.
    """
    sink = _Sink("completed")
    labeler = _labeler(sink)

    async def main() -> str:
        stream = await labeler.astream(context=OPTED_OUT)
        text = stream.feed(TEXT) + stream.finish()
        await labeler.acomplete(stream)
        return text

    with caplog.at_level(logging.ERROR, logger="aigclabel"):
        if asynchronous:
            text = asyncio.run(main())
        else:
            stream = labeler.stream(context=OPTED_OUT)
            text = stream.feed(TEXT) + stream.finish()
            labeler.complete(stream)

    assert (TEXT, ["generated"], ["aigc-label: the completion record of a stream could not be written"]) == (
        visible(text),
        [r.kind for r in sink.records],
        [r.getMessage() for r in caplog.records],
    )


def test_acomplete_of_a_labeled_stream_writes_nothing() -> None:
    """
    A stream that was labeled as usual (no opt-out, no `audit_record_all`) needs no completion record.
    """
    sink = _Sink()
    labeler = _labeler(sink)

    async def main() -> str:
        stream = await labeler.astream()
        text = stream.feed(TEXT) + stream.finish()
        await labeler.acomplete(stream)
        return text

    text = asyncio.run(main())

    assert ("confirmed", []) == (verify(text, key=KEY).tier, sink.records)


def test_aclose_closes_the_record_sink() -> None:
    """
    `Labeler.aclose()` closes the record sink it was given.
    """
    sink = _Sink()

    asyncio.run(_labeler(sink).aclose())

    assert sink.closed
