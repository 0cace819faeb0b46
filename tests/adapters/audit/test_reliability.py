"""
The audit store under stress: concurrent threads and processes, a writer killed mid-run,
a full disk, a read-only store and an unreachable server. Nothing acknowledged is ever lost.
"""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aigclabel.adapters.audit import AuditStore, AuditStoreError

from tests.adapters.audit import backend_url, record

THREADS, PER_THREAD = 8, 150
PROCESSES, PER_PROCESS = 4, 100


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """
    A fresh store URL on each backend.
    """
    with backend_url(request.param, tmp_path) as url:
        yield url


def _append_many(url: str, worker: int, count: int) -> list[int]:
    """
    Append *count* records as user ``w{worker}``; return the acknowledged seqs (runs in a child).
    """
    with AuditStore.open(url) as store:
        return [int(store.append(record(f"w{worker}", request_id=str(i))).seq or 0) for i in range(count)]


def _check_complete(url: str, users: dict[str, int]) -> None:
    with AuditStore.open(url, create=False) as store:
        records = list(store.query())
        report = store.verify()
    assert (True, sum(users.values())) == (report.ok, report.records)
    assert list(range(1, len(records) + 1)) == [r.seq for r in records]
    for user, count in users.items():
        assert sorted(str(i) for i in range(count)) == sorted(
            str(r.request_id) for r in records if r.user == user
        )


@pytest.mark.parametrize("group_commit", [True, False])
def test_eight_threads_append_into_one_chain(url: str, group_commit: bool) -> None:
    """
    8 threads appending concurrently lose nothing, duplicate nothing, and leave one valid chain.
    """
    errors: list[BaseException] = []
    acked: list[int] = []
    with AuditStore.open(url, group_commit=group_commit) as store:

        def work(worker: int) -> None:
            try:
                for i in range(PER_THREAD):
                    acked.append(int(store.append(record(f"t{worker}", request_id=str(i))).seq or 0))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [] == errors
    assert list(range(1, THREADS * PER_THREAD + 1)) == sorted(acked)
    _check_complete(url, {f"t{w}": PER_THREAD for w in range(THREADS)})


def test_four_processes_append_into_one_chain(url: str) -> None:
    """
    4 spawned processes, each with its own store object, append to one store: one valid chain.
    """
    AuditStore.open(url).close()  # create the schema once, as a deployment would
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        results = pool.starmap(_append_many, [(url, w, PER_PROCESS) for w in range(PROCESSES)])
    acked = sorted(seq for seqs in results for seq in seqs)
    assert list(range(1, PROCESSES * PER_PROCESS + 1)) == acked
    _check_complete(url, {f"w{w}": PER_PROCESS for w in range(PROCESSES)})


def test_processes_racing_to_create_the_store_agree_on_one_schema(url: str) -> None:
    """
    Processes opening a store that does not exist yet create it once, without errors.
    """
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        results = pool.starmap(_append_many, [(url, w, 5) for w in range(PROCESSES)])
    assert list(range(1, PROCESSES * 5 + 1)) == sorted(s for seqs in results for s in seqs)
    _check_complete(url, {f"w{w}": 5 for w in range(PROCESSES)})


_KILLED_WRITER = """
import sys
from aigclabel.adapters.audit import AuditRecord, AuditStore
store = AuditStore.open(sys.argv[1])
i = 0
while True:
    rec = AuditRecord(kind="generated", user="k", produce_id=f"pid-{i}", content_producer="p", label="1",
                      agreement_version="2025-09", text="x" * 2000)
    print(store.append(rec).seq, flush=True)
    i += 1
"""


def test_a_writer_killed_mid_run_loses_no_acknowledged_record(url: str) -> None:
    """
    SIGKILL while appending: every seq the writer acknowledged is stored, and the chain verifies.
    """
    AuditStore.open(url).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acked: list[int] = []
    try:
        for line in child.stdout:
            acked.append(int(line))
            if len(acked) >= 200:
                break
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    acked += [int(line) for line in rest.split()]
    assert len(acked) >= 200, err
    assert -signal.SIGKILL == child.returncode
    with AuditStore.open(url, create=False) as store:
        stored = {r.seq for r in store.query()}
        report = store.verify()
    assert set(acked) <= stored
    assert (True, len(stored)) == (report.ok, report.records)
    with AuditStore.open(url) as store:  # the store keeps working after the crash
        assert store.append(record()).seq == len(stored) + 1


def test_a_full_disk_raises_and_records_nothing(tmp_path: Path) -> None:
    """
    When SQLite cannot grow the file (max_page_count at the current size), append raises
    AuditStoreError; no partial record is left and the chain still verifies.
    """
    url = f"sqlite:///{tmp_path}/full.db"
    with AuditStore.open(url) as store:
        store.append(record())

    def cap(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()

    sa.event.listen(sa.pool.Pool, "connect", cap)
    try:
        with AuditStore.open(url) as store:
            with pytest.raises(AuditStoreError, match="disk is full") as err:
                store.append(record(text="本" * 20_000))  # needs pages the file may not grow by
            assert isinstance(err.value.__cause__, sa.exc.OperationalError)
    finally:
        sa.event.remove(sa.pool.Pool, "connect", cap)
    with AuditStore.open(url) as store:
        report = store.verify()
        assert report.ok
        assert report.records == len(list(store.query()))


def test_a_read_only_store_raises_on_append_and_still_verifies(tmp_path: Path) -> None:
    """
    A store opened read-only (SQLite ``mode=ro``) refuses to record with AuditStoreError, but can be
    verified and queried (a regulator's copy).
    """
    path = tmp_path / "ro.db"
    with AuditStore.open(f"sqlite:///{path}") as store:
        stored = store.append(record())
    with AuditStore.open(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        with pytest.raises(AuditStoreError, match="read-only"):
            store.append(record())
        assert store.verify().ok
        assert [stored] == list(store.query())


def test_a_read_only_directory_cannot_host_a_new_store(tmp_path: Path) -> None:
    """
    Creating a store where no file can be created is an AuditStoreError at open, not later.
    """
    with pytest.raises(AuditStoreError, match="cannot open"):
        AuditStore.open(f"sqlite:///{tmp_path}/missing-dir/audit.db")


def test_an_unreachable_postgresql_server_is_an_audit_store_error() -> None:
    """
    A server that refuses connections fails the open with an actionable AuditStoreError.
    """
    with pytest.raises(AuditStoreError, match="reachable") as err:
        AuditStore.open("postgresql+psycopg://aigc:secret-pw@127.0.0.1:1/aigc")
    assert "secret-pw" not in str(err.value)
    assert err.value.__cause__ is not None


def test_a_group_commit_batch_failure_reaches_every_waiting_caller(tmp_path: Path) -> None:
    """
    When the batch transaction fails, each thread waiting in append() gets the AuditStoreError.
    """
    url = f"sqlite:///{tmp_path}/batch.db"
    with AuditStore.open(url) as store:
        store.append(record())
    errors: list[BaseException] = []
    path = tmp_path / "batch.db"
    with AuditStore.open(f"sqlite:///file:{path}?mode=ro&uri=true") as store:

        def work() -> None:
            try:
                store.append(record())
            except AuditStoreError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert THREADS == len(errors)
