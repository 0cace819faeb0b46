"""
How the Recorder refuses and fails: an opt-out that is not an OptOut, no store configured, a store that
cannot be opened (its password never shown), a factory's own RecordSinkError, a third-party sink failing
on the async path, and closing a recorder that never opened a sink.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aigclabel import LabelContext, LabelPolicy, OptOut
from aigclabel.audit import AuditRecord, RecordSinkError
from aigclabel.audit.recorder import Recorder

from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
CONTEXT = LabelContext(user="u-1", request_id="req-9", opt_out=OPT_OUT)


def _policy(**extra: Any) -> LabelPolicy:
    values: dict[str, Any] = {
        "producer": PRODUCER,
        "key": KEY,
        "audit_store": "sqlite:///unused.db",
        "opt_out_agreements": ["2025-09"],
        "audit_chain_key": CHAIN_KEY,
    }
    values.update(extra)
    return LabelPolicy(**values)


def _fields() -> dict[str, Any]:
    return {"kind": "generated", "context": CONTEXT, "opt_out": OPT_OUT, "produce_id": "pid-1", "text": "答"}


class _Context:
    """
    A recording context whose `opt_out` is not an OptOut (what a caller passing a flag would send).
    """

    user = "u-1"
    conversation = None
    request_id = "req-9"
    model = None
    opt_out = "yes"


def test_an_opt_out_that_is_not_an_optout_is_refused() -> None:
    """
    `decide` refuses an `opt_out` of another type, naming the type it got.
    """
    assert (None, "opt_out must be an aigclabel.OptOut, not str") == Recorder(_policy()).decide(_Context())


def test_recording_without_a_store_is_a_record_sink_error() -> None:
    """
    With no `audit_store` and no sink, writing a record raises `RecordSinkError`: no store is configured.
    """
    recorder = Recorder(_policy(audit_store=None, opt_out_allowed=False))

    with pytest.raises(RecordSinkError, match=r"no record store is configured \(audit_store\)"):
        recorder.record(**_fields())


def test_a_store_that_cannot_be_opened_is_a_record_sink_error_without_its_password() -> None:
    """
    A store URL the SQL sink cannot open raises `RecordSinkError` chained to its cause, the password masked.
    """
    recorder = Recorder(_policy(audit_store="postgresql+psycopg://aigc:s3cret@127.0.0.1:notaport/aigc"))

    with pytest.raises(RecordSinkError) as caught:
        recorder.record(**_fields())

    message = str(caught.value)
    assert (True, False, ValueError) == (
        message.startswith("the record store postgresql+psycopg://aigc:***@127.0.0.1:notaport/aigc cannot"),
        "s3cret" in message,
        type(caught.value.__cause__),
    )


def test_a_factorys_own_record_sink_error_reaches_the_caller_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    A sink factory that raises `RecordSinkError` itself: that very error reaches the caller, not a wrapper.
    """
    error = RecordSinkError("the record store is read-only")

    def factory(policy: LabelPolicy) -> Any:
        raise error

    monkeypatch.setattr("aigclabel.audit.recorder.find_sink_factory", lambda scheme: factory)

    with pytest.raises(RecordSinkError) as caught:
        Recorder(_policy()).record(**_fields())

    assert error is caught.value


class _Broken:
    """
    A third-party sink whose append fails with its own error.
    """

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        raise ConnectionResetError("peer went away")

    def close(self) -> None:
        """
        Nothing to release.
        """


def test_a_foreign_sink_error_on_the_async_path_becomes_a_record_sink_error() -> None:
    """
    Whatever a third-party sink raises under `record_async`, the caller sees `RecordSinkError` chained to it.
    """
    recorder = Recorder(_policy(), _Broken())

    with pytest.raises(RecordSinkError, match="the record could not be written: peer went away") as caught:
        asyncio.run(recorder.record_async(**_fields()))

    assert isinstance(caught.value.__cause__, ConnectionResetError)


def test_record_async_opens_the_registered_sink_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    With no sink given, `record_async` opens the one registered for the store's scheme and writes through it.
    """
    written: list[AuditRecord] = []

    class _Sink:
        def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
            written.append(record)
            return record

        def close(self) -> None:
            """
            Nothing to release.
            """

    monkeypatch.setattr("aigclabel.audit.recorder.find_sink_factory", lambda scheme: lambda policy: _Sink())

    stored = asyncio.run(Recorder(_policy()).record_async(**_fields()))

    assert ([stored], "u-1") == (written, stored.user)


def test_closing_a_recorder_that_never_opened_a_sink_does_nothing() -> None:
    """
    `close()` and `aclose()` on a recorder that never wrote a record open nothing and raise nothing.
    """
    recorder = Recorder(_policy(audit_store="postgresql+psycopg://aigc:s3cret@127.0.0.1:notaport/aigc"))

    recorder.close()
    recorder.close()
    asyncio.run(recorder.aclose())
    asyncio.run(recorder.aclose())

    with pytest.raises(RecordSinkError, match="cannot be opened"):
        recorder.sink()
