"""
Helpers for the asgi tests: an incremental SSE decoder, a direct ASGI driver that can
disconnect half-way, and a uvicorn server on a free loopback port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import uvicorn

Event = tuple[str, Any]


class SSEDecoder:
    """
    ``feed(bytes) -> [(event, data)]``: complete events only; a partial one waits for the next feed.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self.comments: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        out: list[Event] = []
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            name, data = "message", None
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
            if data is not None:
                out.append((name, data))
        return out


def parse(body: bytes) -> list[Event]:
    """
    Every event of a complete SSE body.
    """
    decoder = SSEDecoder()
    events = decoder.feed(body)
    assert b"" == decoder._buffer  # the body ends on an event boundary
    return events


def deltas(events: list[Event]) -> str:
    """
    The concatenated text of the ``delta`` events.
    """
    return "".join(data["text"] for name, data in events if name == "delta")


async def drive(
    app: Any,
    path: str,
    payload: Any,
    *,
    on_event: Callable[[Event], Awaitable[None] | None] | None = None,
    disconnect_after_deltas: int | None = None,
    spec_version: str = "2.4",
    timeout: float = 20.0,
) -> tuple[int, list[Event]]:
    """
    POST *payload* as JSON to *app* by calling it as ASGI; optionally disconnect after some deltas.

    Returns the status and the events received (until the disconnect).
    """
    body = json.dumps(payload).encode()
    gone = anyio.Event()
    state = {"requested": False, "status": 0, "deltas": 0}
    decoder = SSEDecoder()
    events: list[Event] = []

    async def receive() -> dict[str, Any]:
        if not state["requested"]:
            state["requested"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]
        if message["type"] != "http.response.body" or gone.is_set():
            return
        for event in decoder.feed(message["body"]):
            events.append(event)
            if on_event is not None:
                result = on_event(event)
                if result is not None:
                    await result
            if event[0] == "delta":
                state["deltas"] += 1
                if disconnect_after_deltas is not None and state["deltas"] >= disconnect_after_deltas:
                    gone.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    with anyio.fail_after(timeout):
        await app(scope, receive, send)
    return int(state["status"]), events


@contextmanager
def serve(app: Any, *, timeout: float = 10.0) -> Iterator[str]:
    """
    Run *app* under uvicorn on a free 127.0.0.1 port in a thread; yield its base URL.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def wait_until(predicate: Callable[[], bool], *, timeout: float = 5.0) -> bool:
    """
    Poll *predicate* every 10 ms until it holds or *timeout* seconds pass; return its last value.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(0.01)
    return True
