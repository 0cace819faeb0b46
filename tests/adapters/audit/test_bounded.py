"""
Async and time-bounded appends: the event loop's thread never runs a commit, a store that does
not answer is an error within the bound, and what a caller gave up on is not written.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel import LabelContext, LabelPolicy, OptOut
from aigclabel.adapters.audit import AuditStore, AuditStoreError
from aigclabel.audit import RecordSinkError
from aigclabel.audit.recorder import Recorder
from aigclabel.ids import new_produce_id

from tests.adapters.audit import backend_url, record
from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
CONCURRENT = 50


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """
    A fresh store URL on each backend.
    """
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(name="commit_threads")
def _commit_threads(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """
    The ids of the threads that ran a blocking store commit (AuditStore._commit_batch).
    """
    seen: set[int] = set()
    original = AuditStore._commit_batch

    def probe(self: AuditStore, records: list[Any]) -> Any:
        seen.add(threading.get_ident())
        return original(self, records)

    monkeypatch.setattr(AuditStore, "_commit_batch", probe)
    return seen


def _policy(url: str, **extra: Any) -> LabelPolicy:
    return LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store=url,
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
        **extra,
    )


def test_the_event_loop_never_runs_a_commit(url: str, commit_threads: set[int]) -> None:
    """
    50 concurrent opted-out record_async calls: every record committed, none on the loop's thread.
    """
    recorder = Recorder(_policy(url))

    async def one(i: int) -> int:
        ctx = LabelContext(user=f"u-{i}", opt_out=OPT_OUT)
        stored = await recorder.record_async(
            kind="generated", context=ctx, opt_out=OPT_OUT, produce_id=new_produce_id()[0], text="答"
        )
        return int(stored.seq or 0)

    async def main() -> tuple[int, list[int]]:
        seqs = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        await recorder.aclose()
        return threading.get_ident(), list(seqs)

    loop_thread, seqs = asyncio.run(main())

    assert list(range(1, CONCURRENT + 1)) == sorted(seqs)
    assert commit_threads
    assert loop_thread not in commit_threads
    with AuditStore.open(url, chain_key=CHAIN_KEY.encode(), create=False) as store:
        assert (True, CONCURRENT) == (store.verify().ok, store.verify().records)


def test_the_sync_path_commits_on_the_writer_thread(url: str, commit_threads: set[int]) -> None:
    """
    record() waits on the writer thread's future; the caller's thread never commits.
    """
    recorder = Recorder(_policy(url))
    recorder.record(kind="generated", context=None, opt_out=OPT_OUT, produce_id="p", text=None)
    recorder.close()

    assert commit_threads
    assert threading.get_ident() not in commit_threads


@pytest.fixture(name="stuck")
def _stuck(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """
    Commits block until the returned event is set (a database that does not answer).
    """
    release = threading.Event()
    original = AuditStore._commit_batch

    def frozen(self: AuditStore, records: list[Any]) -> Any:
        release.wait(30)
        return original(self, records)

    monkeypatch.setattr(AuditStore, "_commit_batch", frozen)
    yield release
    release.set()


def test_a_store_that_does_not_answer_is_an_error_not_a_hang(tmp_path: Path, stuck: threading.Event) -> None:
    """
    record() and record_async() raise RecordSinkError once audit_timeout_seconds pass.
    """
    recorder = Recorder(_policy(f"sqlite:///{tmp_path}/a.db", audit_timeout_seconds=0.1))

    with pytest.raises(RecordSinkError, match=r"within 0\.1 s"):
        recorder.record(kind="generated", context=None, opt_out=OPT_OUT, produce_id="p", text=None)
    with pytest.raises(RecordSinkError, match="has not answered"):
        asyncio.run(
            recorder.record_async(kind="generated", context=None, opt_out=OPT_OUT, produce_id="q", text=None)
        )
    stuck.set()
    recorder.close()


def test_a_record_given_up_before_the_writer_took_it_is_not_written(
    tmp_path: Path, stuck: threading.Event
) -> None:
    """
    Behind a stuck batch, a timed-out append is withdrawn: once the store recovers it is absent.
    """
    url = f"sqlite:///{tmp_path}/w.db"
    store = AuditStore.open(url)
    first = threading.Thread(target=lambda: store.append(record(request_id="in-flight"), timeout=30))
    first.start()
    while store._committer._busy_since is None:  # the first batch is now in flight
        threading.Event().wait(0.001)

    with pytest.raises(AuditStoreError, match="did not commit"):
        store.append(record(request_id="given-up"), timeout=0.05)
    stuck.set()
    first.join()
    store.close()

    with AuditStore.open(url, create=False) as reopened:
        assert ["in-flight"] == [r.request_id for r in reopened.query()]


def test_close_does_not_wait_forever_for_a_stuck_writer(tmp_path: Path, stuck: threading.Event) -> None:
    """
    close() returns after the store's timeout even while a commit is stuck; later appends fail.
    """
    store = AuditStore.open(f"sqlite:///{tmp_path}/c.db", timeout=0.1)
    outcome: list[object] = []

    def append() -> None:
        try:
            outcome.append(store.append(record(), timeout=0.5))
        except AuditStoreError as exc:
            outcome.append(type(exc))

    pending = threading.Thread(target=append)
    pending.start()
    while store._committer._busy_since is None:
        threading.Event().wait(0.001)

    store.close()

    with pytest.raises(AuditStoreError, match="closed"):
        store.append(record())
    stuck.set()
    pending.join()
    assert 1 == len(outcome)  # the in-flight append ended (committed late or timed out), never hung


def test_appends_from_many_threads_each_get_their_own_error(tmp_path: Path) -> None:
    """
    A failed batch raises a separate exception object in each waiting caller, same message and cause.
    """
    path = tmp_path / "ro.db"
    with AuditStore.open(f"sqlite:///{path}") as store:
        store.append(record())
    errors: list[BaseException] = []
    with AuditStore.open(f"sqlite:///file:{path}?mode=ro&uri=true") as store:

        def work() -> None:
            try:
                store.append(record(), timeout=10)
            except AuditStoreError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert 8 == len({id(e) for e in errors})
    assert 1 == len({str(e) for e in errors})
    assert all(e.__cause__ is not None for e in errors)
