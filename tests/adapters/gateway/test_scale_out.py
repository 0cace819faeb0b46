"""
Scale-out: two `aigclabel serve` processes (or one with two workers) on one PostgreSQL record
store keep one chain.

The processes label for the same producer, read the same consent store, and record every opt-out
release in one store (a fresh PostgreSQL schema per test, see `tests.adapters.audit`). Opted-out
requests, JSON and streamed, go to both concurrently, interleaved; afterwards the store holds the
records of every request, in one chain that verifies.

The PostgreSQL URL comes from ``AIGCLABEL_TEST_POSTGRES_URL`` (``bash scripts/test-postgres.sh``
starts a server and prints it); without it the test fails, like the record store's own tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aigclabel import verify
from aigclabel.adapters.asgi import SQLiteConsentStore
from aigclabel.adapters.audit import AuditStore

from tests.adapters.audit import postgres_schema_url
from tests.adapters.gateway.upstream_server import StandIn, free_port
from tests.helpers import CHAIN_KEY, KEY, PRODUCER
from tests.middleware.upstream import Scenario

AGREEMENT = "2025-09"
USER_HEADER = "x-end-user"
TEXT = "杭州是浙江省的省会，以西湖闻名。Two gateways, one chain. " * 4
#: Requests sent to each process.
PER_PROCESS = 16
#: Seconds a process may take to start, and to stop after SIGTERM.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
AIGCLABEL = Path(sys.executable).with_name("aigclabel")


class Gateway:
    """
    One `aigclabel serve` subprocess on a free loopback port (`--port 0`; a fixed free port with
    `--workers` > 1), ready once its banner is printed and `/healthz` answers.
    """

    def __init__(self, upstream: str, policy: Path, log: Path, workers: int = 1) -> None:
        self.log = log
        port = free_port() if workers > 1 else 0
        argv = [str(AIGCLABEL), "serve", "--upstream", upstream, "--policy", str(policy)]
        argv += ["--port", str(port), "--workers", str(workers)]
        with log.open("wb") as stderr:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ)
            )
        found: list[str] = []
        stdout = self.popen.stdout
        assert stdout is not None

        ready = threading.Event()

        def read() -> None:  # drains stdout to the end: a full pipe would block the child
            for line in stdout:
                if not found and line.startswith("serving on "):
                    found.append(line.split()[2].rstrip("/"))
                    ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        ready.wait(START_TIMEOUT)
        if not found:
            self.stop()
            pytest.fail(
                f"`aigclabel serve` did not announce its URL within {START_TIMEOUT:.0f} s:\n{self.errors()}"
            )
        self.url = found[0]
        self._healthy()

    def _healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.popen.poll() is None:
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"`aigclabel serve` at {self.url} never answered /healthz:\n{self.errors()}")

    def errors(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> int:
        """
        SIGTERM (graceful shutdown), then SIGKILL after STOP_TIMEOUT; the exit status.
        """
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)
        self.reader.join(STOP_TIMEOUT)  # EOF once the child is gone
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode


@pytest.fixture(name="store_url")
def _store_url() -> Iterator[str]:
    with postgres_schema_url() as url:
        yield url


@pytest.fixture(name="gateways", params=["two processes", "one process, two workers"])
def _gateways(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[list[Gateway]]:
    users = [f"user-{i}" for i in range(2 * PER_PROCESS)]
    consent = tmp_path / "consent.db"
    with SQLiteConsentStore(consent) as store:
        for user in users:
            store.set(user, opted_out=True, agreement_version=AGREEMENT)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        "[aigclabel]\n"
        f"producer = {json.dumps(PRODUCER)}\n"
        f"key = {json.dumps(KEY)}\n"
        f"audit_store = {json.dumps(store_url)}\n"
        f"audit_chain_key = {json.dumps(CHAIN_KEY)}\n"
        f"opt_out_agreements = [{json.dumps(AGREEMENT)}]\n"
        "[gateway]\n"
        f"user_header = {json.dumps(USER_HEADER)}\n"
        f"consent_store = {json.dumps(str(consent))}\n",
        encoding="utf-8",
    )
    with StandIn(Scenario(text=TEXT, chunk_size=9)) as upstream:
        upstream.chunk_delay = 0.002
        started: list[Gateway] = []
        try:
            if request.param == "two processes":
                for name in ("a", "b"):
                    started.append(Gateway(upstream.url, policy, tmp_path / f"gateway-{name}.log"))
            else:
                started.append(Gateway(upstream.url, policy, tmp_path / "gateway.log", workers=2))
            yield started
        finally:
            for gateway in started:
                gateway.stop()


async def _ask(client: httpx.AsyncClient, url: str, user: str, stream: bool) -> dict[str, Any]:
    """
    One opted-out chat completion; its text and the ProduceID its `aigc` data names.
    """
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    headers = {"authorization": "Bearer sk-test", USER_HEADER: user}
    if not stream:
        response = await client.post(url + "/v1/chat/completions", json=body, headers=headers)
        assert response.status_code == 200, response.text
        doc = response.json()
        text = doc["choices"][0]["message"]["content"]
        return {"user": user, "stream": False, "text": text, "aigc": doc["aigc"]}
    pieces: list[str] = []
    aigc: dict[str, Any] | None = None
    async with client.stream("POST", url + "/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[len("data: ") :])
            pieces.extend((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices", []))
            if (chunk.get("aigc") or {}).get("stage") == "end":
                aigc = chunk["aigc"]
    assert aigc is not None
    return {"user": user, "stream": True, "text": "".join(pieces), "aigc": aigc}


async def _interleaved(gateways: list[Gateway]) -> list[dict[str, Any]]:
    calls = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        for i in range(PER_PROCESS):
            for j in range(2):  # two processes alternate; two workers share one port
                url = gateways[j % len(gateways)].url
                calls.append(_ask(client, url, f"user-{2 * i + j}", stream=i % 2 == 1))
        return list(await asyncio.gather(*calls))


def test_gateway_processes_and_workers_write_one_postgresql_chain_that_verifies(
    gateways: list[Gateway], store_url: str
) -> None:
    """
    32 opted-out requests (16 JSON, 16 streamed), interleaved and concurrent over two processes
    (or two workers): every answer is without the visible label and keeps its marks; the store
    holds exactly one `generated` record per answer (user and ProduceID) and one `completed`
    record per stream, each answer's `generated` first, numbered 1…48 in one chain that
    verifies; the processes then stop cleanly.
    """
    answers = asyncio.run(_interleaved(gateways))
    for gateway in gateways:
        assert gateway.popen.poll() is None, gateway.errors()
    store = AuditStore.open(store_url, chain_key=CHAIN_KEY.encode(), create=False)
    try:
        records = list(store.query())
        report = store.verify()
        # Short answers carry a micro seal (mark id only): the record store resolves the rest.
        verdicts = [verify(a["text"], key=KEY, resolver=store) for a in answers]
    finally:
        store.close()
    generated = {(a["user"], a["aigc"]["items"][0]["produce_id"]) for a in answers}
    completed = {(a["user"], a["aigc"]["items"][0]["produce_id"]) for a in answers if a["stream"]}
    total = len(generated) + len(completed)
    exits = [gateway.stop() for gateway in gateways]
    first = {}
    for r in records:
        first.setdefault((r.user, r.produce_id), r.kind)

    assert all(a["aigc"]["items"][0]["ui"]["opted_out"] for a in answers)
    assert [("intact", a["aigc"]["items"][0]["produce_id"]) for a in answers] == [
        (v.status, v.produce_id) for v in verdicts
    ]
    assert (len(generated), len(completed)) == (2 * PER_PROCESS, PER_PROCESS)
    assert sorted((r.user, r.produce_id) for r in records if r.kind == "generated") == sorted(generated)
    assert sorted((r.user, r.produce_id) for r in records if r.kind == "completed") == sorted(completed)
    assert set(first.values()) == {"generated"}
    assert [r.seq for r in records] == list(range(1, total + 1))
    assert (report.ok, report.records, report.reason) == (True, total, None)
    assert exits == [0] * len(gateways)  # a graceful shutdown on SIGTERM
    assert not [g.log.name for g in gateways if "Traceback" in g.errors()]
