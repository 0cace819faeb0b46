"""
`aigclabel serve` as a process: graceful shutdown with a stream in flight, bounded; workers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aigclabel import verify

from tests.helpers import KEY
from tests.middleware.upstream import Scenario, sse_events

from .conftest import ServeProcess
from .upstream_server import StandIn

CHAT: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}], "stream": True}
AUTH = {"authorization": "Bearer k"}


def _text(body: bytes) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for _, data in sse_events(body)
        if data.startswith("{")
        for choice in json.loads(data).get("choices", [])
    )


def test_sigterm_lets_an_in_flight_stream_finish_with_its_end_label(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    SIGTERM while a 2-second stream is half-way: the stream completes (`[DONE]`, end label,
    marks verify) and the process exits 0 within the bound.
    """
    upstream.scenario = Scenario(text="y" * 100, chunk_size=1)
    upstream.chunk_delay = 0.02
    child = serve_process(
        "--upstream", upstream.url, "--policy", str(policy_file), "--shutdown-timeout", "10"
    )
    body = b""
    with httpx.stream(
        "POST", child.url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=20
    ) as response:
        chunks = response.iter_raw()
        while upstream.events_sent < 20:
            body += next(chunks)
        child.terminate()
        signalled = time.monotonic()
        body += b"".join(chunks)
    code = child.process.wait(timeout=15)
    exited_after = time.monotonic() - signalled

    assert 0 == code
    assert exited_after < 10
    assert body.endswith(b"data: [DONE]\n\n")
    text = _text(body)
    assert "confirmed" == verify(text, key=KEY).tier
    assert verify(text, key=KEY).evidence.explicit
    assert 1 == upstream.streams_completed


def test_shutdown_timeout_bounds_a_stream_that_would_not_finish(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    A stream longer than `--shutdown-timeout`: cut (no clean end) and the process still exits in time.
    """
    upstream.scenario = Scenario(text="z" * 400, chunk_size=1)
    upstream.chunk_delay = 0.02  # 8 seconds
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file), "--shutdown-timeout", "1")
    body = b""
    broken = False
    with httpx.stream(
        "POST", child.url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=20
    ) as response:
        chunks = response.iter_raw()
        body += next(chunks)
        child.terminate()
        signalled = time.monotonic()
        try:
            body += b"".join(chunks)
        except httpx.RemoteProtocolError:
            broken = True
    child.process.wait(timeout=15)
    exited_after = time.monotonic() - signalled

    assert broken
    assert not body.endswith(b"data: [DONE]\n\n")
    assert exited_after < 6


def test_two_workers_serve_labeled_responses(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    `--workers 2` on a free port: both JSON and streams come back labeled; SIGTERM stops all.
    """
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file), "--workers", "2")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(child.url + "/readyz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    texts = []
    for _ in range(4):
        response = httpx.post(
            child.url + "/v1/chat/completions", json={**CHAT, "stream": False}, headers=AUTH
        )
        texts.append(response.json()["choices"][0]["message"]["content"])
    child.stop()

    assert 0 == child.process.returncode
    assert all(verify(text, key=KEY).tier == "confirmed" for text in texts)


def test_a_broken_upstream_stream_is_logged_once_without_a_traceback(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    The caller's stream is cut; the process logs one access event with `error="stream"` and no
    "Exception in ASGI application" traceback.
    """
    upstream.scenario = Scenario(break_after=4)
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file))
    broken = False
    try:
        with httpx.stream("POST", child.url + "/v1/chat/completions", json=CHAT, headers=AUTH) as response:
            for _ in response.iter_raw():
                pass
    except httpx.RemoteProtocolError:
        broken = True
    deadline = time.monotonic() + 5
    while '"error": "stream"' not in child.error_output and time.monotonic() < deadline:
        time.sleep(0.05)
    output = child.error_output

    assert broken
    assert 1 == output.count('"error": "stream"')
    assert "Traceback" not in output
