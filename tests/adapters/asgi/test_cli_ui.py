"""
``aigclabel demo --ui``: starts uvicorn, prints its address (a free port with ``--port 0``),
serves the chat page; refuses a non-loopback host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from aigclabel.adapters.cli import main

_START = "import sys; from aigclabel.adapters.cli import main; sys.exit(main())"


def test_demo_ui_serves_the_page_on_a_free_port() -> None:
    """
    ``--port 0 --no-browser``: the first line names the port; ``/`` answers with the page;
    SIGINT stops the server with exit code 0.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGCLABEL_", "OPENAI_"))}
    with subprocess.Popen(
        [sys.executable, "-c", _START, "demo", "--ui", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as proc:
        code = _check_serving(proc)
    assert 0 == code


def _check_serving(proc: subprocess.Popen[str]) -> int:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    try:
        assert lines, "no address printed within 30 s"
        assert lines[0].startswith("serving on http://127.0.0.1:")
        url = lines[0].split()[-1]
        status = 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                response = httpx.get(url, timeout=2)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            status = response.status_code
            break
        assert 200 == status
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise
    return code


def test_demo_ui_refuses_other_hosts(capsys: object) -> None:
    """
    A non-loopback ``--host`` exits 3 with the reason (the demo has no authentication).
    """
    assert 3 == main(["demo", "--ui", "--host", "0.0.0.0", "--no-browser"])
