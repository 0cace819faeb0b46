"""
The core's side of Art. 9 records: the Recorder builds a record and waits, bounded, for a
RecordSink; it finds the SQL store by URL scheme and never imports it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from typing import Any

import pytest
from aigclabel import LabelContext, LabelPolicy, OptOut, PolicyError
from aigclabel.audit import AsyncRecordSink, AuditRecord, RecordSink, RecordSinkError
from aigclabel.audit.recorder import Recorder
from aigclabel.audit.sink import find_sink_factory, url_scheme

from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
CONTEXT = LabelContext(user="u-1", request_id="req-9", opt_out=OPT_OUT)


def policy(**extra: Any) -> LabelPolicy:
    values: dict[str, Any] = {
        "producer": PRODUCER,
        "key": KEY,
        "audit_store": "sqlite:///unused.db",
        "opt_out_agreements": ["2025-09"],
        "audit_chain_key": CHAIN_KEY,
    }
    values.update(extra)
    return LabelPolicy(**values)


class _ListSink:
    """
    A sync-only sink keeping records in a list, noting the timeout and thread of each append.
    """

    def __init__(self, block: threading.Event | None = None) -> None:
        self.records: list[AuditRecord] = []
        self.timeouts: list[float | None] = []
        self.threads: list[int] = []
        self.block = block
        self.closed = False

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.timeouts.append(timeout)
        self.threads.append(threading.get_ident())
        if self.block is not None:
            self.block.wait(10)
        self.records.append(record)
        return record

    def close(self) -> None:
        self.closed = True


def _record(recorder: Recorder, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "kind": "generated",
        "context": CONTEXT,
        "opt_out": OPT_OUT,
        "produce_id": "pid-1",
        "text": "答",
    }
    values.update(fields)
    return recorder.record(**values)


def test_a_list_sink_satisfies_the_sync_protocol_only() -> None:
    """
    RecordSink and AsyncRecordSink are runtime-checkable protocols; a sync sink is not async.
    """
    sink = _ListSink()

    assert (True, False) == (isinstance(sink, RecordSink), isinstance(sink, AsyncRecordSink))


def test_record_builds_the_record_and_bounds_the_wait_by_the_policy() -> None:
    """
    The record names recipient, request and waived label; the sink gets audit_timeout_seconds.
    """
    sink = _ListSink()
    recorder = Recorder(policy(audit_timeout_seconds=2.5), sink)

    stored = _record(recorder)

    assert ("u-1", "req-9", ("explicit",), "2025-09") == (
        stored.user,
        stored.request_id,
        stored.labels_waived,
        stored.agreement_version,
    )
    assert [2.5] == sink.timeouts


def test_an_invalid_record_is_a_record_sink_error_and_reaches_no_sink() -> None:
    """
    A field the store would refuse (a NUL in the user) is a RecordSinkError before the sink.
    """
    sink = _ListSink()
    recorder = Recorder(policy(), sink)

    with pytest.raises(RecordSinkError, match="NUL"):
        _record(recorder, opt_out=OptOut(user="u\x00", agreement_version="2025-09"))
    assert [] == sink.records


def test_a_foreign_sink_error_becomes_a_record_sink_error() -> None:
    """
    Whatever a third-party sink raises, the labeler sees one error type, chained to the cause.
    """

    class _Broken(_ListSink):
        def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
            raise ConnectionResetError("peer went away")

    with pytest.raises(RecordSinkError, match="peer went away") as info:
        _record(Recorder(policy(), _Broken()))
    assert isinstance(info.value.__cause__, ConnectionResetError)


def test_an_unknown_url_scheme_names_the_registered_ones() -> None:
    """
    No sink registered for the scheme: a RecordSinkError naming it and the schemes that exist.
    """
    recorder = Recorder(policy(audit_store="kafka://broker/audit"))

    with pytest.raises(RecordSinkError, match=r"'kafka'.*postgresql, sqlite"):
        _record(recorder)


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("sqlite:///a.db", "sqlite"),
        ("postgresql+psycopg://u:p@h/db", "postgresql"),
        ("PostgreSQL://h/db", "postgresql"),
        ("no-scheme", ""),
    ],
)
def test_the_scheme_is_the_part_before_the_driver(url: str, scheme: str) -> None:
    """
    postgresql+psycopg:// finds the postgresql sink; case does not matter.
    """
    assert scheme == url_scheme(url)


def test_both_sql_schemes_find_the_adapter_through_entry_points() -> None:
    """
    sqlite and postgresql are registered as aigclabel.adapters.audit:open_record_sink.
    """
    found = {find_sink_factory(s) for s in ("sqlite", "postgresql")}

    assert ["aigclabel.adapters.audit.open_record_sink"] == [f"{f.__module__}.{f.__name__}" for f in found]


def test_record_async_runs_a_sync_sink_off_the_event_loop() -> None:
    """
    With a sync-only sink, record_async calls append on a worker thread, never the loop's.
    """
    sink = _ListSink()
    recorder = Recorder(policy(), sink)

    async def main() -> int:
        await recorder.record_async(
            kind="generated", context=CONTEXT, opt_out=OPT_OUT, produce_id="p", text=None
        )
        return threading.get_ident()

    loop_thread = asyncio.run(main())

    assert 1 == len(sink.threads)
    assert loop_thread not in sink.threads


def test_record_async_gives_up_after_the_timeout() -> None:
    """
    A sink that does not answer in audit_timeout_seconds is a RecordSinkError, not a hang.
    """
    release = threading.Event()
    recorder = Recorder(policy(audit_timeout_seconds=0.05), _ListSink(block=release))

    async def main() -> None:
        await recorder.record_async(
            kind="generated", context=CONTEXT, opt_out=OPT_OUT, produce_id="p", text=None
        )

    try:
        with pytest.raises(RecordSinkError, match="audit_timeout_seconds"):
            asyncio.run(main())
    finally:
        release.set()


def test_close_and_aclose_close_the_sink() -> None:
    """
    close() and aclose() close the sink once; the recorder then has none.
    """
    first, second = _ListSink(), _ListSink()
    Recorder(policy(), first).close()
    asyncio.run(Recorder(policy(), second).aclose())

    assert (True, True) == (first.closed, second.closed)


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan"), "soon"])
def test_the_timeout_must_be_a_positive_finite_number(value: object) -> None:
    """
    audit_timeout_seconds refuses zero, negatives, infinity, NaN and text.
    """
    with pytest.raises(PolicyError) as info:
        policy(audit_timeout_seconds=value)
    assert "audit_timeout_seconds" == info.value.field


def test_the_timeout_defaults_to_five_seconds_and_reads_the_environment() -> None:
    """
    5 s by default; AIGCLABEL_AUDIT_TIMEOUT_SECONDS sets it.
    """
    env = {"AIGCLABEL_PRODUCER": PRODUCER, "AIGCLABEL_KEY": KEY, "AIGCLABEL_AUDIT_TIMEOUT_SECONDS": "0.75"}

    assert (5.0, 0.75) == (
        LabelPolicy(producer=PRODUCER, key=KEY).audit_timeout_seconds,
        LabelPolicy.from_env(env).audit_timeout_seconds,
    )


def test_importing_the_core_loads_no_store() -> None:
    """
    import aigclabel and aigclabel.audit load neither SQLAlchemy nor the store adapter.
    """
    code = (
        "import sys, aigclabel, aigclabel.audit, aigclabel.audit.recorder\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' "
        "or m.startswith('aigclabel.adapters')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "[]" == out.stdout.strip()


def test_opt_out_needs_a_chain_key() -> None:
    """
    Accepting opt-outs without audit_chain_key is a PolicyError naming the field.
    """
    with pytest.raises(PolicyError, match="audit_chain_key") as info:
        LabelPolicy(producer=PRODUCER, key=KEY, audit_store="sqlite:///a.db", opt_out_agreements=["2025-09"])
    assert "audit_chain_key" == info.value.field


@pytest.mark.parametrize(
    "extra",
    [{}, {"opt_out_agreements": ["2025-09"], "opt_out_allowed": False}, {"audit_record_all": True}],
)
def test_no_chain_key_is_needed_while_opt_out_is_off(extra: dict[str, Any]) -> None:
    """
    Without accepted agreements, or with opt_out_allowed false, no chain key is required.
    """
    made = LabelPolicy(producer=PRODUCER, key=KEY, audit_store="sqlite:///a.db", **extra)

    assert None is made.audit_chain_key
