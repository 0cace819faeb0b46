"""
The audit record store: round trips, queries, the hash chain against tampering, retention and the CLI.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aigclabel import AIGCMetadata, KeyMaterialError, verify
from aigclabel.adapters.audit import GENESIS_HASH, AuditRecord, AuditStore, AuditStoreError
from aigclabel.adapters.audit_cli import add_audit_commands, run_audit
from aigclabel.audit.records import RECORD_FIELDS, canonical_bytes
from aigclabel.ids import new_produce_id

from tests.adapters.audit import backend_url, record
from tests.helpers import KEY, PRODUCER

CHAIN_KEY = b"an audit chain key, 32 bytes ok!"
T0 = datetime(2025, 9, 1, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """
    A fresh store URL on each backend.
    """
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(name="store")
def _store(url: str) -> Iterator[AuditStore]:
    """
    An open, empty, unkeyed store.
    """
    store = AuditStore.open(url)
    yield store
    store.close()


def sql(url: str, statement: str, **params: Any) -> None:
    """
    Run one statement directly against the store's database (a tamperer's view).
    """
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def fill(store: AuditStore, n: int = 5) -> list[AuditRecord]:
    return [store.append(record(f"u-{i}")) for i in range(n)]


# -- round trip ------------------------------------------------------------------------------


def test_append_returns_the_stored_record_with_its_chain_fields(store: AuditStore) -> None:
    """
    append() sets time (UTC), seq, prev_hash and hash; the first record links to 64 zeros.
    """
    first, second = store.append(record()), store.append(record())
    assert (1, GENESIS_HASH) == (first.seq, first.prev_hash)
    assert (2, first.hash) == (second.seq, second.prev_hash)
    assert first.time is not None
    assert timedelta(0) == first.time.utcoffset()
    assert 64 == len(str(first.hash))
    assert first.hash != second.hash


def test_every_field_survives_a_reopen(url: str) -> None:
    """
    A committed record reads back identically, every field, after the store is closed and reopened.
    """
    original = record(
        "用户-1",
        text="本内容由人工智能生成 — 全文",
        time=T0,
        kind="downloaded",
        label="2",
        agreement_version=None,
        labels_applied=(),
    )
    with AuditStore.open(url) as store:
        stored = store.append(original)
    with AuditStore.open(url, create=False) as store:
        (read,) = store.query()
    assert stored == read
    assert T0 == read.time
    assert {f: getattr(original, f) for f in RECORD_FIELDS[:-4]} == {
        f: getattr(read, f) for f in RECORD_FIELDS[:-4]
    }


def test_resolve_maps_a_mark_id_to_the_first_write_metadata(store: AuditStore) -> None:
    """
    resolve() is a Resolver: the mark id of a ProduceID gives that content's implicit label.
    """
    stored = store.append(record(label="3"))
    mark = stored.mark_id()
    assert mark is not None
    expected = AIGCMetadata.first_write(producer=PRODUCER, produce_id=stored.produce_id, label="3")
    assert expected == store.resolve(mark)
    assert store.resolve("00000000") is None
    assert store.resolve("not-hex!") is None


def test_resolve_completes_the_verdict_of_an_excerpt(store: AuditStore, labeler: Any) -> None:
    """
    A recorded release lets verify() name the label of an excerpt that has no seal (the record keeps
    producer, ProduceID and Label; ReservedCode1, the seal's digest, is not part of a record).
    """
    labeled = labeler.label("这是一段很长的回答。" * 400)
    store.append(record(produce_id=labeled.produce_id))
    excerpt = labeled.text[len(labeled.text) // 3 : 2 * len(labeled.text) // 3]
    verdict = verify(excerpt, key=KEY, resolver=store)
    expected = AIGCMetadata.first_write(producer=PRODUCER, produce_id=labeled.produce_id, label="1")
    assert ("confirmed", expected) == (verdict.tier, verdict.metadata)


def test_a_record_without_a_package_produce_id_has_no_mark_id(store: AuditStore) -> None:
    """
    Foreign ProduceIDs are stored and queryable, but resolve nothing.
    """
    stored = store.append(record(produce_id="vendor-123"))
    assert stored.mark_id() is None
    assert [stored] == list(store.query(produce_id="vendor-123"))


# -- query ------------------------------------------------------------------------------------


def test_query_filters_by_user_produce_id_kind_and_limit(store: AuditStore) -> None:
    """
    Filters combine with AND; results come in seq order; limit caps them.
    """
    a1 = store.append(record("alice"))
    b1 = store.append(record("bob", kind="copied"))
    a2 = store.append(record("alice", kind="exported"))
    assert [a1, a2] == list(store.query(user="alice"))
    assert [b1] == list(store.query(produce_id=b1.produce_id))
    assert [b1, a2] == list(store.query(kind=["copied", "exported"]))
    assert [a2] == list(store.query(user="alice", kind="exported"))
    assert [a1, b1] == list(store.query(limit=2))
    assert [] == list(store.query(user="carol"))


def test_query_time_range_includes_since_and_excludes_until(store: AuditStore) -> None:
    """
    since <= time < until, to the microsecond; offsets other than UTC compare correctly.
    """
    times = [T0 + timedelta(hours=h) for h in range(4)]
    stored = [store.append(record(time=t)) for t in times]
    assert stored[1:3] == list(store.query(since=times[1], until=times[3]))
    assert stored[1:] == list(store.query(since=times[1]))
    assert stored[:1] == list(store.query(until=times[1]))
    beijing = times[2].astimezone(timezone(timedelta(hours=8)))
    assert stored[2:] == list(store.query(since=beijing))


def test_query_and_verify_page_through_many_records(
    store: AuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Results stream a page at a time without losing or repeating a record, with or without a limit.
    """
    import aigclabel.adapters.audit.store as store_module

    monkeypatch.setattr(store_module, "_PAGE", 3)
    stored = fill(store, 10)
    assert stored == list(store.query())
    assert stored[:7] == list(store.query(limit=7))
    assert stored[::2] == list(store.query(user=None, kind="generated"))[::2]
    assert (True, 10) == (store.verify().ok, store.verify().records)


def test_query_rejects_naive_times_and_inverted_ranges(store: AuditStore) -> None:
    """
    A naive datetime or since after until is a ValueError with a clear message.
    """
    with pytest.raises(ValueError, match="timezone-aware"):
        list(store.query(since=datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="after until"):
        list(store.query(since=T0, until=T0 - timedelta(seconds=1)))


# -- the chain against tampering --------------------------------------------------------------


def test_an_untouched_chain_verifies(store: AuditStore) -> None:
    """
    verify() counts every record and reports no break.
    """
    fill(store, 7)
    report = store.verify()
    assert (True, 7, None, None) == (report.ok, report.records, report.first_broken_seq, report.reason)


def test_the_hash_is_the_sha256_of_prev_hash_and_canonical_json(store: AuditStore) -> None:
    """
    An unkeyed chain's hash can be recomputed by anyone from the documented encoding.
    """
    import hashlib

    stored = store.append(record(time=T0))
    data = canonical_bytes(stored)
    assert data.startswith(GENESIS_HASH.encode() + b'{"account":"acct-7"')
    assert b'"time":"2025-09-01T08:00:00.123456Z"' in data
    assert hashlib.sha256(data).hexdigest() == stored.hash


_EDITS = {
    "time_us": "time_us + 1",
    "kind": "'copied'",
    "user_id": "'mallory'",
    "produce_id": f"'{new_produce_id()[0]}'",
    "mark_id": "'00000000'",
    "content_producer": "'001191110102MAD55U9H0F10003'",
    "label": "'3'",
    "agreement_version": "'2099-01'",
    "labels_applied": "'[\"implicit\"]'",
    "labels_waived": "'[]'",
    "content_sha256": f"'{'cd' * 32}'",
    "account": "'acct-0'",
    "ip": "'198.51.100.1'",
    "client": "'cli'",
    "request_id": "'req-x'",
    "conversation_id": "'conv-x'",
    "model": "'other'",
    "text": "'added text'",
    "prev_hash": f"'{'0' * 64}'",
    "hash": f"'{'f' * 64}'",
}


@pytest.mark.parametrize("column", sorted(_EDITS))
def test_verify_names_a_record_whose_column_was_updated(url: str, store: AuditStore, column: str) -> None:
    """
    Changing any stored column of record 3 breaks the chain at record 3.
    """
    fill(store)
    sql(url, f"UPDATE aigc_audit_records SET {column} = {_EDITS[column]} WHERE seq = 3")
    report = store.verify()
    assert (False, 3) == (report.ok, report.first_broken_seq)
    assert report.reason


def test_verify_detects_a_deleted_record(url: str, store: AuditStore) -> None:
    """
    A gap in seq names the missing record.
    """
    fill(store)
    sql(url, "DELETE FROM aigc_audit_records WHERE seq = 2")
    report = store.verify()
    assert (False, 2) == (report.ok, report.first_broken_seq)
    assert "record 2 is missing" in str(report.reason)


def test_verify_detects_records_cut_off_the_end(url: str, store: AuditStore) -> None:
    """
    Deleting the newest records is noticed through the chain head.
    """
    fill(store)
    sql(url, "DELETE FROM aigc_audit_records WHERE seq >= 4")
    report = store.verify()
    assert (False, 4) == (report.ok, report.first_broken_seq)
    assert "missing from the end" in str(report.reason)


def test_verify_detects_a_deleted_and_renumbered_record(url: str, store: AuditStore) -> None:
    """
    Deleting a record and renumbering the rest to close the gap breaks prev_hash at the splice.
    """
    fill(store)
    sql(url, "DELETE FROM aigc_audit_records WHERE seq = 2")
    sql(url, "UPDATE aigc_audit_records SET seq = seq - 1 WHERE seq > 2")
    sql(url, "UPDATE aigc_audit_head SET seq = seq - 1")
    report = store.verify()
    assert (False, 2) == (report.ok, report.first_broken_seq)


def test_verify_detects_two_swapped_records(url: str, store: AuditStore) -> None:
    """
    Swapping the seq of two rows (reordering) breaks the chain at the earlier one.
    """
    fill(store)
    sql(url, "UPDATE aigc_audit_records SET seq = -1 WHERE seq = 2")
    sql(url, "UPDATE aigc_audit_records SET seq = 2 WHERE seq = 4")
    sql(url, "UPDATE aigc_audit_records SET seq = 4 WHERE seq = -1")
    report = store.verify()
    assert (False, 2) == (report.ok, report.first_broken_seq)


def test_verify_detects_a_forged_row_appended_behind_the_head(url: str, store: AuditStore) -> None:
    """
    A row inserted after the last record, even with a correctly recomputed SHA-256, is named.
    """
    stored = fill(store)
    last = stored[-1]
    forged = AuditRecord(**{**{f: getattr(last, f) for f in RECORD_FIELDS}, "user": "mallory", "hash": None})
    forged = _rehash(forged, seq=6, prev_hash=str(last.hash))
    row = _row(forged)
    cols = ", ".join(row)
    sql(url, f"INSERT INTO aigc_audit_records ({cols}) VALUES ({', '.join(':' + c for c in row)})", **row)
    report = store.verify()
    assert (False, 6) == (report.ok, report.first_broken_seq)
    assert "after the chain head" in str(report.reason)


def test_verify_detects_a_forged_row_with_a_made_up_hash(url: str, store: AuditStore) -> None:
    """
    A row inserted in place of a deleted one, with a hash the tamperer made up, is named.
    """
    stored = fill(store)
    sql(url, "DELETE FROM aigc_audit_records WHERE seq = 3")
    forged = _rehash(stored[2], seq=3, prev_hash=str(stored[1].hash))
    row = {**_row(forged), "user_id": "mallory"}
    cols = ", ".join(row)
    sql(url, f"INSERT INTO aigc_audit_records ({cols}) VALUES ({', '.join(':' + c for c in row)})", **row)
    report = store.verify()
    assert (False, 3) == (report.ok, report.first_broken_seq)


def _rehash(rec: AuditRecord, *, seq: int, prev_hash: str) -> AuditRecord:
    import dataclasses
    import hashlib

    rec = dataclasses.replace(rec, seq=seq, prev_hash=prev_hash, hash=None)
    return dataclasses.replace(rec, hash=hashlib.sha256(canonical_bytes(rec)).hexdigest())


def _row(rec: AuditRecord) -> dict[str, Any]:
    from aigclabel.adapters.audit.schema import to_row

    return to_row(rec)


# -- keyed chains ------------------------------------------------------------------------------


def test_a_keyed_chain_verifies_with_its_key_and_fails_with_another(url: str) -> None:
    """
    An HMAC chain proves intact only under its own key; without a key or with another it fails.
    """
    with AuditStore.open(url, chain_key=CHAIN_KEY) as store:
        fill(store, 3)
        assert store.verify().ok
    with AuditStore.open(url, chain_key=b"some other key of 16+ bytes") as store:
        report = store.verify()
        assert (False, 1) == (report.ok, report.first_broken_seq)
        assert "does not match" in str(report.reason)
        with pytest.raises(AuditStoreError, match="does not match"):
            store.append(record())
    with AuditStore.open(url) as store:
        assert not store.verify().ok
        with pytest.raises(AuditStoreError, match="keyed"):
            store.append(record())


def test_a_keyed_chain_resists_a_recomputed_sha256(url: str) -> None:
    """
    A tamperer without the key cannot make an edited record verify by recomputing its hash.
    """
    with AuditStore.open(url, chain_key=CHAIN_KEY) as store:
        stored = fill(store, 3)
        edited = _rehash(
            AuditRecord(**{**{f: getattr(stored[2], f) for f in RECORD_FIELDS}, "user": "mallory"}),
            seq=3,
            prev_hash=str(stored[1].hash),
        )
        sql(url, "UPDATE aigc_audit_records SET user_id = 'mallory', hash = :h WHERE seq = 3", h=edited.hash)
        sql(url, "UPDATE aigc_audit_head SET hash = :h", h=edited.hash)
        assert (False, 3) == (store.verify().ok, store.verify().first_broken_seq)


def test_the_chain_key_is_never_in_a_repr_or_error(tmp_path: Path) -> None:
    """
    Neither repr() nor error messages show the chain key.
    """
    url = f"sqlite:///{tmp_path}/k.db"
    with AuditStore.open(url, chain_key=CHAIN_KEY) as store:
        text = repr(store)
    with (
        AuditStore.open(url, chain_key=b"another key, 16 bytes+") as store,
        pytest.raises(AuditStoreError) as err,
    ):
        store.append(record())
    assert CHAIN_KEY.decode() not in text + str(err.value)
    with pytest.raises(KeyMaterialError):
        AuditStore.open(url, chain_key=b"short")


# -- retention ---------------------------------------------------------------------------------


def test_purge_deletes_only_records_past_retention_and_the_chain_still_verifies(store: AuditStore) -> None:
    """
    Records older than retention go, recent ones stay, a checkpoint record documents the purge.
    """
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = [store.append(record(time=now - timedelta(days=d))) for d in (400, 185)]
    recent = [store.append(record(time=now - timedelta(days=d))) for d in (183, 100, 1)]
    report = store.purge(now=now)
    assert (2, old[1].seq) == (report.deleted, report.purged_through_seq)
    remaining = list(store.query())
    assert recent == remaining[:3]
    checkpoint = remaining[3]
    assert ("checkpoint", report.checkpoint_seq) == (checkpoint.kind, checkpoint.seq)
    assert json.loads(str(checkpoint.text))["purged_through_hash"] == old[1].hash
    assert store.verify().ok
    store.append(record())
    assert (True, 5) == (store.verify().ok, store.verify().records)
    assert [] == list(store.query(until=now - timedelta(days=184)))


def test_purge_in_the_past_deletes_nothing(store: AuditStore) -> None:
    """
    With now far in the past nothing is past retention, so nothing is deleted and nothing appended.
    """
    fill(store, 3)
    report = store.purge(now=datetime(2000, 1, 1, tzinfo=UTC))
    assert (0, None, None) == (report.deleted, report.purged_through_seq, report.checkpoint_seq)
    assert 3 == len(list(store.query()))


def test_purge_in_the_far_future_keeps_a_verifiable_checkpoint(store: AuditStore) -> None:
    """
    Purging everything leaves the checkpoint record; purging again and appending keeps the chain valid.
    """
    fill(store, 4)
    future = datetime.now(UTC) + timedelta(days=10_000)
    assert 4 == store.purge(now=future).deleted
    assert (True, 1) == (store.verify().ok, store.verify().records)
    store.append(record())
    assert 2 == store.purge(now=future).deleted  # the old checkpoint record and the new one
    report = store.verify()
    assert (True, 1) == (report.ok, report.records)


def test_a_forged_purge_checkpoint_is_detected(url: str, store: AuditStore) -> None:
    """
    Deleting the oldest records and inventing a checkpoint row for them is not a valid purge.
    """
    stored = fill(store, 4)
    sql(url, "DELETE FROM aigc_audit_records WHERE seq <= 2")
    sql(
        url,
        "INSERT INTO aigc_audit_checkpoints VALUES (2, :h, 2, 0, 0)",
        h=stored[1].hash,
    )
    report = store.verify()
    assert (False, 3) == (report.ok, report.first_broken_seq)
    assert "not confirmed" in str(report.reason)


@pytest.mark.parametrize("days", [0, 30, 183])
def test_retention_under_184_days_is_rejected(tmp_path: Path, days: int) -> None:
    """
    Art. 9 requires at least six months; the store refuses a shorter retention before touching disk.
    """
    with pytest.raises(ValueError, match="184"):
        AuditStore.open(f"sqlite:///{tmp_path}/r.db", retention_days=days)
    assert not (tmp_path / "r.db").exists()


def test_a_longer_retention_is_kept(tmp_path: Path) -> None:
    """
    retention_days above the minimum is accepted and used by purge.
    """
    with AuditStore.open(f"sqlite:///{tmp_path}/r.db", retention_days=400) as store:
        now = datetime(2026, 6, 1, tzinfo=UTC)
        store.append(record(time=now - timedelta(days=300)))
        assert (400, 0) == (store.retention_days, store.purge(now=now).deleted)


# -- input checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "4", "label"),
        ("kind", "viewed", "kind"),
        ("content_sha256", "XYZ", "content_sha256"),
        ("time", datetime(2025, 1, 1), "timezone-aware"),
        ("user", "a\x00b", "NUL"),
        ("model", 5, "string"),
    ],
)
def test_an_invalid_record_is_rejected_and_nothing_is_stored(
    store: AuditStore, field: str, value: object, message: str
) -> None:
    """
    A bad field is a ValueError naming it; the chain is unchanged.
    """
    with pytest.raises(ValueError, match=message):
        store.append(record(**{field: value}))
    assert 0 == store.verify().records


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://x@localhost/db"])
def test_non_durable_or_unsupported_urls_are_rejected(url: str) -> None:
    """
    In-memory SQLite is not durable and other databases are not supported.
    """
    with pytest.raises(ValueError, match=r"in-memory|unsupported"):
        AuditStore.open(url)


def test_opening_a_missing_store_without_create_fails_and_creates_nothing(tmp_path: Path) -> None:
    """
    create=False (the CLI's read commands) never creates an empty store by accident.
    """
    with pytest.raises(AuditStoreError, match="no audit store"):
        AuditStore.open(f"sqlite:///{tmp_path}/none.db", create=False)
    assert [] == list(tmp_path.iterdir())


def test_append_after_close_raises(store: AuditStore) -> None:
    """
    A closed store refuses to record rather than dropping the record.
    """
    store.close()
    with pytest.raises(AuditStoreError, match="closed"):
        store.append(record())


# -- the command line --------------------------------------------------------------------------


def run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="aigclabel")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    code = run_audit(parser.parse_args(argv), out)
    return code, out.getvalue()


def test_cli_verify_exits_0_when_intact_and_2_naming_the_broken_record(url: str, store: AuditStore) -> None:
    """
    ``audit verify`` prints the record count, or the first broken seq with exit 2.
    """
    fill(store, 3)
    assert (0, "audit chain intact: 3 records\n") == run(["audit", "verify", "--store", url])
    sql(url, "UPDATE aigc_audit_records SET user_id = 'mallory' WHERE seq = 2")
    code, out = run(["audit", "verify", "--store", url])
    assert 2 == code
    assert "BROKEN at record 2" in out


def test_cli_query_jsonl_parses_back_into_records(url: str, store: AuditStore) -> None:
    """
    ``audit query --format jsonl`` prints one record per line that AuditRecord.from_dict reads back.
    """
    alice = store.append(record("alice", time=T0))
    store.append(record("bob", time=T0))
    code, out = run(["audit", "query", "--store", url, "--user", "alice"])
    assert 0 == code
    assert [alice] == [AuditRecord.from_dict(json.loads(line)) for line in out.splitlines()]


def test_cli_query_csv_has_a_header_and_one_row_per_record(url: str, store: AuditStore) -> None:
    """
    ``audit query --format csv`` writes every field; label lists are JSON arrays in one cell.
    """
    stored = [store.append(record(f"u-{i}", time=T0 + timedelta(days=i))) for i in range(3)]
    code, out = run(
        [
            "audit",
            "query",
            "--store",
            url,
            "--since",
            "2025-09-02T08:00:00.123456Z",
            "--until",
            "2025-12-31",
            "--format",
            "csv",
        ]
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert 0 == code
    assert [r.hash for r in stored[1:]] == [row["hash"] for row in rows]
    assert list(RECORD_FIELDS) == list(rows[0])
    assert ["implicit", "marks"] == json.loads(rows[0]["labels_applied"])
    assert "" == rows[0]["text"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "not an ISO 8601 time"),
        (["--until", "2025-13-01"], "not an ISO 8601 time"),
        (["--since", "2025-10-01", "--until", "2025-09-01"], "is after --until"),
    ],
)
def test_cli_query_rejects_malformed_times_with_exit_3(
    url: str, store: AuditStore, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """
    Malformed times and inverted ranges exit 3 with a message naming the flag.
    """
    assert (3, "") == run(["audit", "query", "--store", url, *argv])
    assert message in capsys.readouterr().err


def test_cli_export_writes_every_record_to_a_file(url: str, store: AuditStore, tmp_path: Path) -> None:
    """
    ``audit export -o FILE`` writes all records (for a regulator), in seq order.
    """
    stored = fill(store, 4)
    target = tmp_path / "export.jsonl"
    assert (0, "") == run(["audit", "export", "--store", url, "--format", "jsonl", "-o", str(target)])
    lines = target.read_text("utf-8").splitlines()
    assert stored == [AuditRecord.from_dict(json.loads(line)) for line in lines]


def test_cli_purge_reports_nothing_inside_retention(url: str, store: AuditStore) -> None:
    """
    ``audit purge`` deletes nothing that is inside retention and says so.
    """
    fill(store, 2)
    code, out = run(["audit", "purge", "--store", url, "--retention-days", "365"])
    assert 0 == code
    assert "nothing to purge" in out
    assert 2 == store.verify().records


def test_cli_purge_rejects_a_short_retention(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """
    ``--retention-days`` under 184 exits 3 with the rule in the message.
    """
    assert 3 == run(["audit", "purge", "--store", url, "--retention-days", "90"])[0]
    assert "184" in capsys.readouterr().err


def test_cli_reads_the_chain_key_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A keyed store verifies with ``--chain-key-file`` or AIGCLABEL_AUDIT_CHAIN_KEY, and not without.
    """
    url = f"sqlite:///{tmp_path}/keyed.db"
    with AuditStore.open(url, chain_key=CHAIN_KEY) as store:
        fill(store, 2)
    key_file = tmp_path / "chain.key"
    key_file.write_bytes(CHAIN_KEY + b"\n")
    assert 0 == run(["audit", "verify", "--store", url, "--chain-key-file", str(key_file)])[0]
    assert 2 == run(["audit", "verify", "--store", url])[0]
    monkeypatch.setenv("AIGCLABEL_AUDIT_CHAIN_KEY", CHAIN_KEY.decode())
    assert 0 == run(["audit", "verify", "--store", url])[0]


def test_cli_on_a_missing_store_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A URL with no store behind it is a clear error, not a new empty store.
    """
    assert 3 == run(["audit", "verify", "--store", f"sqlite:///{tmp_path}/nope.db"])[0]
    assert "no audit store" in capsys.readouterr().err
