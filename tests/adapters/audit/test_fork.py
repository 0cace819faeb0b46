"""
Fork safety: a child forked after the parent wrote records (gunicorn --preload, multiprocessing,
Celery prefork) starts its own writer and connections, and its opt-outs finish.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aigclabel import LabelContext, Labeler, LabelPolicy, OptOut
from aigclabel.adapters.audit import AuditStore

from tests.adapters.audit import backend_url, record
from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
TEXT = "杭州是浙江省的省会，以西湖闻名。" * 20
OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
#: How long a child may take before it is killed and the test fails (a hang guard, not a timing check).
GUARD_SECONDS = 60


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def _url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """
    A fresh store URL on each backend.
    """
    with backend_url(request.param, tmp_path) as url:
        yield url


def _in_child(work: Callable[[], bool]) -> int:
    """
    Run *work* in a forked child; its exit status: 0 when it returned True, 1 otherwise.
    A child that has not finished after GUARD_SECONDS is killed (status -9).
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's result is its exit status
        code = 1
        try:
            code = 0 if work() else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + GUARD_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -9


def test_an_opt_out_after_fork_finishes_in_the_child(url: str) -> None:
    """
    The parent labels with an opt-out (its writer thread runs), forks; the child's opt-out is
    recorded and released, and the parent keeps recording after it.
    """
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=url,
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
        )
    )
    ctx = LabelContext(user="u-1", opt_out=OPT_OUT)
    before = labeler.label(TEXT, context=ctx)

    def child() -> bool:
        out = labeler.label(TEXT, context=ctx)
        labeler.close()
        return out.opted_out and out.notice is None

    status = _in_child(child)
    after = labeler.label(TEXT, context=ctx)
    labeler.close()

    assert (True, 0, True) == (before.opted_out, status, after.opted_out)
    with AuditStore.open(url, chain_key=CHAIN_KEY.encode(), create=False) as store:
        report = store.verify()
    assert (True, 3) == (report.ok, report.records)


def test_a_store_appends_from_a_forked_child_and_the_parent(url: str) -> None:
    """
    A store whose writer and pool were used before fork() works in the child and still in the parent.
    """
    store = AuditStore.open(url)
    store.append(record(request_id="parent-before"), timeout=10)

    def child() -> bool:
        stored = store.append(record(request_id="child"), timeout=10)
        store.close()
        return stored.seq == 2

    status = _in_child(child)
    store.append(record(request_id="parent-after"), timeout=10)
    store.close()

    assert 0 == status
    with AuditStore.open(url, create=False) as reopened:
        assert ["parent-before", "child", "parent-after"] == [r.request_id for r in reopened.query()]
