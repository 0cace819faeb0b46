"""
External anchors: the newest records cut off with the head row rewritten to match pass the
store's own check, and are caught against the signed anchors in the mirror; verify_chain
checks an exported file with no database.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aigclabel import LabelPolicy
from aigclabel.adapters.audit import (
    ANCHOR_EVENT,
    Anchor,
    AuditStore,
    iter_jsonl,
    open_record_sink,
    read_anchors,
    verify_chain,
)
from aigclabel.adapters.audit_cli import add_audit_commands, run_audit
from aigclabel.audit import AuditRecord

from tests.adapters.audit import backend_url, record
from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """
    A fresh store URL on each backend.
    """
    with backend_url(request.param, tmp_path) as url:
        yield url


def _sink(url: str, logs: Path) -> AuditStore:
    return open_record_sink(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=url,
            audit_chain_key=CHAIN_KEY,
            audit_log_dir=str(logs),
        )
    )


def _fill(url: str, logs: Path, count: int) -> list[AuditRecord]:
    sink = _sink(url, logs)
    try:
        return [sink.append(record(request_id=str(i)), timeout=10) for i in range(count)]
    finally:
        sink.close()


def _truncate(url: str, keep: int) -> None:
    """
    Delete every record after *keep* and rewrite the head row to the last one kept.
    """
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM aigc_audit_records WHERE seq > {keep}")
            last = conn.exec_driver_sql(f"SELECT hash FROM aigc_audit_records WHERE seq = {keep}").scalar()
            conn.exec_driver_sql(f"UPDATE aigc_audit_head SET seq = {keep}, hash = '{last}' WHERE id = 1")
    finally:
        engine.dispose()


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_audit_commands(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    return run_audit(parser.parse_args(list(argv)), out), out.getvalue()


def test_every_committed_batch_leaves_a_signed_anchor_in_the_mirror(url: str, tmp_path: Path) -> None:
    """
    The mirror holds each record and, after it, an anchor of the newest seq signed by the chain key.
    """
    stored = _fill(url, tmp_path / "logs", 3)
    anchors = read_anchors(tmp_path / "logs")

    assert [1, 2, 3] == [a.seq for a in anchors]
    assert [r.hash for r in stored] == [a.hash for a in anchors]
    assert all(a.is_signed_by(CHAIN_KEY.encode()) for a in anchors)


def test_cutting_the_newest_records_and_rewriting_the_head_is_caught_by_the_anchor(
    url: str, tmp_path: Path
) -> None:
    """
    Without the anchor the shortened chain verifies; with it, the missing records are named.
    """
    logs = tmp_path / "logs"
    _fill(url, logs, 10)
    _truncate(url, keep=7)

    with AuditStore.open(url, chain_key=CHAIN_KEY.encode(), create=False) as store:
        alone = store.verify()
        anchored = store.verify(anchor=read_anchors(logs))

    assert (True, 7) == (alone.ok, alone.records)
    assert (False, 8) == (anchored.ok, anchored.first_broken_seq)
    assert "records 8..10 are missing" in str(anchored.reason)


def test_records_written_after_a_truncation_do_not_hide_it(url: str, tmp_path: Path) -> None:
    """
    New records reusing the cut seqs differ from the anchors of the deleted ones.
    """
    logs = tmp_path / "logs"
    _fill(url, logs, 6)
    _truncate(url, keep=4)
    _fill(url, logs, 3)  # seqs 5..7 again, with other content

    with AuditStore.open(url, chain_key=CHAIN_KEY.encode(), create=False) as store:
        report = store.verify(anchor=read_anchors(logs))

    assert (False, 5) == (report.ok, report.first_broken_seq)
    assert "differs from its external anchor" in str(report.reason)


def test_cli_verify_with_an_anchor_exits_2_after_a_truncation(url: str, tmp_path: Path) -> None:
    """
    aigclabel audit verify --anchor DIR exits 0 on the intact store and 2 once records are cut.
    """
    logs = tmp_path / "logs"
    key_file = tmp_path / "chain.key"
    key_file.write_text(CHAIN_KEY)
    _fill(url, logs, 5)
    args = ("audit", "verify", "--store", url, "--chain-key-file", str(key_file), "--anchor", str(logs))

    before = _cli(*args)
    _truncate(url, keep=3)
    after = _cli(*args)

    assert (0, 2) == (before[0], after[0])
    assert "BROKEN at record 4" in after[1]


def test_an_anchor_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    """
    A forged anchor (not signed by the chain key) fails the check instead of being trusted.
    """
    stored = _fill(f"sqlite:///{tmp_path}/a.db", tmp_path / "logs", 2)
    forged = Anchor(2, str(stored[-1].hash), "2025-09-01T00:00:00Z", "hmac-sha256", "00" * 32)

    report = verify_chain(stored, CHAIN_KEY.encode(), forged)

    assert (False, 2) == (report.ok, report.first_broken_seq)
    assert "not signed with this chain's key" in str(report.reason)


def test_verify_chain_checks_an_export_and_the_mirror_without_a_database(tmp_path: Path) -> None:
    """
    The export and the mirror directory verify with verify --file; an edited line is named.
    """
    url = f"sqlite:///{tmp_path}/a.db"
    logs = tmp_path / "logs"
    key_file = tmp_path / "chain.key"
    key_file.write_text(CHAIN_KEY)
    _fill(url, logs, 4)
    export = tmp_path / "export.jsonl"
    assert (
        0 == _cli("audit", "export", "--store", url, "--chain-key-file", str(key_file), "-o", str(export))[0]
    )
    lines = export.read_text("utf-8").splitlines()
    edited = tmp_path / "edited.jsonl"
    row = json.loads(lines[2])
    row["user"] = "someone-else"
    edited.write_text("\n".join([*lines[:2], json.dumps(row), *lines[3:]]) + "\n", "utf-8")

    codes = [
        _cli("audit", "verify", "--file", str(path), "--chain-key-file", str(key_file), "--anchor", str(logs))
        for path in (export, logs, edited)
    ]

    assert [0, 0, 2] == [code for code, _ in codes]
    assert "BROKEN at record 3: hash mismatch" in codes[2][1]


def test_an_unkeyed_chain_writes_unsigned_anchors_that_still_catch_truncation(tmp_path: Path) -> None:
    """
    Without a chain key the anchors carry no signature and still pin the chain's length.
    """
    sink = AuditStore.open(
        f"sqlite:///{tmp_path}/u.db", after_commit=_mirrors(tmp_path / "logs"), connect=False
    )
    stored = [sink.append(record(), timeout=10) for _ in range(3)]
    sink.close()
    anchors = read_anchors(tmp_path / "logs")

    report = verify_chain(stored[:2], None, anchors)

    assert [None, None, None] == [a.signature for a in anchors]
    assert (False, 3) == (report.ok, report.first_broken_seq)


def _mirrors(logs: Path) -> Any:
    from aigclabel.adapters.audit import Mirrors

    return Mirrors(logs, None)


def test_anchors_are_also_opentelemetry_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Each batch emits its records as aigc.audit.record events and then one aigc.audit.anchor event.
    """
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    monkeypatch.setattr(_logs, "get_logger", provider.get_logger)

    (stored,) = _fill(f"sqlite:///{tmp_path}/o.db", tmp_path / "logs", 1)
    events = [e.log_record for e in exporter.get_finished_logs()]
    anchor = Anchor.from_dict(
        {k.removeprefix("aigc.audit.anchor."): v for k, v in dict(events[1].attributes or {}).items()}
    )

    assert ["aigc.audit.record", ANCHOR_EVENT] == [e.event_name for e in events]
    assert (stored.seq, stored.hash, True) == (
        anchor.seq,
        anchor.hash,
        anchor.is_signed_by(CHAIN_KEY.encode()),
    )


def test_a_mirror_line_that_is_neither_record_nor_anchor_is_named(tmp_path: Path) -> None:
    """
    iter_jsonl names the file and line of anything it cannot read.
    """
    path = tmp_path / "bad.jsonl"
    path.write_text('{"anchor": {"seq": 1}}\n', "utf-8")

    with pytest.raises(ValueError, match=r"bad\.jsonl:1: .*lacks 'hash'"):
        list(iter_jsonl(path))


def test_a_record_from_the_mirror_equals_the_stored_one(tmp_path: Path) -> None:
    """
    The mirror line parses back into exactly the stored record (so its hash recomputes).
    """
    (stored,) = _fill(f"sqlite:///{tmp_path}/m.db", tmp_path / "logs", 1)
    (mirrored,) = [r for r in iter_jsonl(tmp_path / "logs") if isinstance(r, AuditRecord)]

    assert stored == mirrored
