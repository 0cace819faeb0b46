"""
A frozen PostgreSQL (every server process stopped with SIGSTOP: the kernel still accepts and
acknowledges, nothing answers) gives labeled output with a notice, never a hang.

The test starts its own throwaway cluster (``initdb`` / ``pg_ctl`` in a temporary directory, on
a free port), because freezing the suite's shared server would stall every other test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel import LabelContext, Labeler, LabelPolicy, OptOut

from tests.helpers import KEY, PRODUCER

CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
TEXT = "杭州是浙江省的省会，以西湖闻名。" * 20
OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")
#: A label() that has not returned after this long is a hang (a guard, not a timing check).
GUARD_SECONDS = 60


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/test-postgres.sh)")
    return versions[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(*argv: str) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres user then.
    if os.geteuid() != 0:
        return list(argv)
    return ["runuser", "-u", "postgres", "--", *argv]


def _server_pids(postmaster: int) -> list[int]:
    """
    The postmaster and every process it started (backends, writer, checkpointer …).
    """
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(stat.parent.name))
    return pids


@pytest.fixture(name="cluster")
def _cluster() -> Iterator[dict[str, Any]]:
    """
    A running throwaway cluster: its URL and postmaster pid; stopped and deleted afterwards.
    """
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="aigc-frozen-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    run = lambda *argv: subprocess.run(  # noqa: E731
        _as_server_user(*argv), check=True, capture_output=True, text=True, timeout=120
    )
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "aigc", "--auth=trust", "--no-sync")
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        yield {"url": f"postgresql+psycopg://aigc@127.0.0.1:{port}/postgres", "pid": postmaster}
    finally:
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            for pid in _server_pids(int(pid_file.read_text().split()[0])):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            subprocess.run(
                _as_server_user(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def _label_guarded(labeler: Labeler, ctx: LabelContext) -> Any:
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(labeler.label(TEXT, context=ctx)), daemon=True)
    worker.start()
    worker.join(GUARD_SECONDS)
    assert not worker.is_alive(), "label() hung on a frozen record store"
    return result[0]


def test_a_frozen_postgresql_gives_labeled_output_with_a_notice(cluster: dict[str, Any]) -> None:
    """
    Opt-outs are honoured while the server answers; frozen, label() returns the labeled text and
    says why (first after the timeout, then at once while the commit is stuck), and never hangs.
    """
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=cluster["url"],
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
            audit_timeout_seconds=1.0,
        )
    )
    ctx = LabelContext(user="u-1", opt_out=OPT_OUT)
    healthy = _label_guarded(labeler, ctx)
    frozen = _server_pids(cluster["pid"])
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        first = _label_guarded(labeler, ctx)
        second = _label_guarded(labeler, ctx)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    labeler.close()

    assert (True, False, False) == (healthy.opted_out, first.opted_out, second.opted_out)
    assert "could not be written" in str(first.notice)
    assert "could not be written" in str(second.notice)
    assert labeler.policy.label_text_for("zh") in first.text
