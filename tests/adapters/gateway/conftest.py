"""
Fixtures for the gateway tests: the stand-in upstream and gateways on loopback ports.
"""

from __future__ import annotations

import io
import json
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel.adapters.gateway import GatewayConfig, create_gateway_app, uvicorn_options
from aigclabel.adapters.gateway.access_log import access_logger

from tests.adapters.asgi.support import wait_until
from tests.helpers import KEY, PRODUCER

from .upstream_server import ServerThread, StandIn

#: The second tenant's producer code and key.
PRODUCER_B = "001191110102MAD55U9H0F1A001"
KEY_B = "9a7c3e1f5b2d8046a1c9e7f3b5d20864"
#: The tenants' gateway keys and upstream keys.
GATEWAY_KEY_A = "gw-tenant-a-0123456789abcdef"
GATEWAY_KEY_B = "gw-tenant-b-fedcba9876543210"
UPSTREAM_KEY_A = "sk-upstream-a"
UPSTREAM_KEY_B = "sk-upstream-b"


class Gateway:
    """
    A gateway app served on a loopback port, with its captured access log.
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.log_stream = io.StringIO()
        self.app = create_gateway_app(config, logger=access_logger(self.log_stream))
        self.server = ServerThread(self.app, **uvicorn_options(config))
        self.url = self.server.url

    @property
    def access_log(self) -> list[dict[str, Any]]:
        """
        The access-log events so far.
        """
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines() if line]

    def logged(self, count: int, *, timeout: float = 5.0) -> list[dict[str, Any]]:
        """
        The access-log events once there are at least *count* (a request is logged after its last
        byte is sent, so the caller may see the response first); waits at most *timeout* seconds.
        """
        wait_until(lambda: len(self.access_log) >= count, timeout=timeout)
        return self.access_log


@pytest.fixture(name="upstream")
def _upstream() -> Iterator[StandIn]:
    """
    A started stand-in upstream (OpenAI and Anthropic, JSON and SSE), stopped after the test.
    """
    with StandIn() as server:
        yield server


@pytest.fixture(name="policy_file")
def _policy_file(tmp_path: Path) -> Path:
    """
    A policy file: the default producer and key.
    """
    path = tmp_path / "policy.toml"
    path.write_text(f'producer = "{PRODUCER}"\nkey = "{KEY}"\n', encoding="utf-8")
    return path


@pytest.fixture(name="tenants_file")
def _tenants_file(tmp_path: Path) -> Path:
    """
    Two tenants, each with its own producer, key and upstream key.
    """
    path = tmp_path / "tenants.toml"
    path.write_text(
        f'[tenants."{GATEWAY_KEY_A}"]\nname = "a"\nupstream_key = "{UPSTREAM_KEY_A}"\n'
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\n\n'
        f'[tenants."{GATEWAY_KEY_B}"]\nname = "b"\nupstream_key = "{UPSTREAM_KEY_B}"\n'
        f'producer = "{PRODUCER_B}"\nkey = "{KEY_B}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(name="start_gateway")
def _start_gateway() -> Iterator[Callable[[GatewayConfig], Gateway]]:
    """
    Start gateways for a configuration; each is stopped (bounded) after the test.
    """
    started: list[Gateway] = []

    def start(config: GatewayConfig) -> Gateway:
        gateway = Gateway(config)
        gateway.server.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in reversed(started):
        gateway.server.stop()


@pytest.fixture(name="gateway")
def _gateway(
    upstream: StandIn, policy_file: Path, start_gateway: Callable[[GatewayConfig], Gateway]
) -> Gateway:
    """
    A gateway without tenants (callers' keys forwarded) in front of the stand-in upstream.
    """
    return start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, user_header="x-end-user"))


class ServeProcess:
    """
    `aigclabel serve` in a child process on a free loopback port.
    """

    def __init__(self, *arguments: str, timeout: float = 30.0) -> None:
        command = [sys.executable, "-m", "aigclabel.adapters.cli", "serve", "--port", "0", *arguments]
        # The access log goes to standard error: a file, never an undrained pipe (a full pipe
        # would block the child's writes, and with them its event loop).
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.stderr, text=True, start_new_session=True
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and self.process.poll() is None:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                break
        if not line.startswith("serving on "):
            self.stop()
            raise RuntimeError(f"aigclabel serve did not start: {line!r} {self.error_output[-2000:]}")
        self.url = line.split()[-1].rstrip("/")

    @property
    def error_output(self) -> str:
        """
        What the child wrote to standard error so far (its access log, uvicorn's messages).
        """
        self.stderr.seek(0)
        return self.stderr.read()

    @property
    def rss_bytes(self) -> int:
        """
        The child's resident set size (Linux).
        """
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def terminate(self) -> None:
        """
        Send SIGTERM (a graceful shutdown).
        """
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        """
        Stop the child: SIGTERM, then SIGKILL after *timeout* seconds.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


@pytest.fixture(name="serve_process")
def _serve_process() -> Iterator[Callable[..., ServeProcess]]:
    """
    Start `aigclabel serve` children; each is stopped (bounded) after the test.
    """
    started: list[ServeProcess] = []

    def start(*arguments: str) -> ServeProcess:
        child = ServeProcess(*arguments)
        started.append(child)
        return child

    yield start
    for child in started:
        child.stop()
