"""
Real-browser fixtures: the demo app under uvicorn on a free loopback port (a background
thread), Debian's chromium driven by Playwright, and a page with clipboard permissions.

Chromium is not downloaded by Playwright here: scripts/test-browser.sh installs Debian's
``chromium`` package. Without it the tests fail (they are part of the suite, never skipped).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Bounded waits (milliseconds for Playwright, seconds for threads).
WAIT_MS = 15_000
SERVER_START_S = 15.0


def chromium_path() -> str:
    """
    The chromium executable, or a test failure naming the script that installs it.
    """
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is missing: run `bash scripts/test-browser.sh` (installs Debian's chromium)")
    return path


def launch_chromium(playwright: Any) -> Any:
    """
    Launch headless chromium with the flags that keep it offline and quiet.
    """
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


class LoopbackServer:
    """
    An ASGI app served by uvicorn in a daemon thread on 127.0.0.1 (a free port).
    """

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            http="h11",
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="demo-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + SERVER_START_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=SERVER_START_S)
        self._sock.close()


def make_demo_app(data_dir: Path, chunk_delay: float = 0.03) -> Any:
    """
    The package's demo app (the offline stand-in model), its stores under *data_dir*.
    """
    from aigclabel.adapters.asgi import create_demo_app

    return create_demo_app(chunk_delay=chunk_delay, data_dir=data_dir, use_env=False)


@pytest.fixture(scope="session", name="server")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """
    The demo app on a loopback port for the whole session.
    """
    server = LoopbackServer(make_demo_app(tmp_path_factory.mktemp("demo")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", name="browser")
def _browser() -> Iterator[Any]:
    """
    One headless chromium per module. Playwright's sync API keeps an event loop running in
    the main thread while it is started: stopping it when the module ends lets the tests
    that follow use ``asyncio.run`` again.
    """
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    assert path
    manager = sync_playwright().start()
    try:
        browser = launch_chromium(manager)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.stop()


@pytest.fixture(name="context")
def _context(browser: Any, server: LoopbackServer) -> Iterator[Any]:
    """
    A fresh browser context allowed to read and write the clipboard of the demo's origin.
    """
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(WAIT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(name="page")
def _page(context: Any, server: LoopbackServer) -> Any:
    """
    The demo chat page, loaded and ready (its module script ran).
    """
    # Consent lives in the session's server: every test starts with the visible label on.
    response = context.request.post(
        server.url + "/api/consent",
        data={"user": "demo-user", "opted_out": False, "agreement_version": "demo-v1"},
        timeout=WAIT_MS,
    )
    assert response.ok, response.status
    page = context.new_page()
    page.goto(server.url + "/", timeout=WAIT_MS)
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    return page


@pytest.fixture(name="artifacts")
def _artifacts() -> Path:
    """
    Where screenshots go (tests/artifacts/, ignored by git).
    """
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
