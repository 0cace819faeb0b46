"""
A real stand-in upstream on 127.0.0.1: OpenAI and Anthropic over a socket, JSON and SSE.

:class:`StandIn` serves, under uvicorn in a background thread on a free loopback port, what
`tests.middleware.upstream` answers at the transport seam (chat completions, legacy
completions, Responses, Anthropic messages; the bodies the real APIs send), plus
`GET /v1/models` (which sets a cookie), `POST /v1/embeddings` and
`GET /v1/chat/completions/{id}`. Knobs, set on the instance at any time (they apply to the next
request):

* `scenario`: the `Scenario` (text, chunking, `status` for an error body, `break_after` for a
  stream that drops its connection after that many events);
* `chunk_delay`: seconds between two SSE events;
* `hang`: seconds to wait before answering (a timeout on the caller's side);
* `pause_after`, `pause`: after that many SSE events, go silent for `pause` seconds once (a
  timeout in the middle of a stream);
* `endless`: a chat completion stream that never ends until the client goes away (back-pressure);
  `POST /v1/endless` always answers such a stream (a route no one labels: pure relaying).

Counters (read from the test's thread): `streams_opened`, `streams_closed` (however a stream
ended), `streams_completed` (every event sent), `streams_cancelled` (the caller went away
first), `events_sent`, `bytes_sent`, and `requests` (what the upstream was sent).

    with StandIn() as upstream:
        client = openai.OpenAI(base_url=upstream.url + "/v1", api_key="k")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import httpx
import uvicorn

from tests.middleware.upstream import CREATED, RecordedRequest, Scenario, encode_sse, handler

__all__ = ["ServerThread", "StandIn", "free_port", "serve_app"]

Json = dict[str, Any]

#: The model list `GET /v1/models` returns.
MODELS: Json = {
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": CREATED, "owned_by": "system"},
        {"id": "text-embedding-3-small", "object": "model", "created": CREATED, "owned_by": "system"},
    ],
}
#: The body `POST /v1/embeddings` returns.
EMBEDDINGS: Json = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.125, -0.25, 0.5]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}


def free_port() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """
    *app* under uvicorn on a free 127.0.0.1 port, in a daemon thread; start and stop are bounded.
    """

    def __init__(self, app: Any, *, timeout: float = 10.0, graceful: float = 2.0, **options: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._timeout = timeout
        settings: dict[str, Any] = {
            "log_level": "warning",
            "lifespan": "on",
            "interface": "asgi3",
            "timeout_graceful_shutdown": graceful,
            "loop": "auto",  # uvloop when installed: asyncio here answered 40 ms late (Nagle)
        }
        config = uvicorn.Config(app, **{**settings, **options})
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> str:
        """
        Start serving; return the base URL.

        Raises:
            RuntimeError: the server did not start within the timeout.
        """
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        return self.url

    def stop(self) -> None:
        """
        Stop serving (open connections get the graceful timeout); wait for the thread, bounded.

        Raises:
            RuntimeError: the thread is still alive after the timeout.
        """
        self.server.should_exit = True
        self._thread.join(self._timeout)
        self._sock.close()
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(self._timeout)
            raise RuntimeError("uvicorn did not stop")


@dataclass
class _Counters:
    streams_opened: int = 0
    streams_closed: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0
    events_sent: int = 0
    bytes_sent: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)


class StandIn(_Counters):
    """
    The stand-in upstream server. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    Args:
        scenario: what the generation endpoints answer (changeable later through the attribute).
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        super().__init__()
        self.scenario = scenario or Scenario()
        self.chunk_delay = 0.0
        self.hang = 0.0
        self.pause_after: int | None = None
        self.pause = 0.0
        self.endless = False
        self._server = ServerThread(self.app)
        self.url = self._server.url

    @property
    def last(self) -> RecordedRequest:
        """
        The most recent request.
        """
        return self.requests[-1]

    @property
    def streams_open(self) -> int:
        """
        Streams opened and not yet closed.
        """
        return self.streams_opened - self.streams_closed

    def start(self) -> str:
        """
        Start serving; return the base URL (without `/v1`).
        """
        return self._server.start()

    def stop(self) -> None:
        """
        Stop serving (bounded).
        """
        self._server.stop()

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        """
        The ASGI application.
        """
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{self.url}{scope['path']}" + (f"?{query}" if query else "")
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        if self.hang:
            with anyio.move_on_after(self.hang):
                await _until_disconnect(receive)
        path = scope["path"].rstrip("/")
        if scope["method"] == "GET" and path == "/v1/models":
            self._record(request, body)
            await _json(send, 200, MODELS, [(b"set-cookie", b"session=upstream-secret; Path=/")])
            return
        if scope["method"] == "POST" and path == "/v1/embeddings":
            self._record(request, body)
            await _json(send, 200, EMBEDDINGS)
            return
        if scope["method"] == "GET" and path.startswith("/v1/chat/completions/"):
            self._record(request, body)
            request = httpx.Request("POST", f"{self.url}/v1/chat/completions", headers=headers, content=b"{}")
            body = b"{}"
        elif path == "/v1/endless" or (
            self.endless and path.endswith("/chat/completions") and b'"stream"' in body
        ):
            self._record(request, body)
            await self._stream(receive, send, 200, [(b"content-type", b"text/event-stream")], _endless())
            return
        upstream = handler(httpx, self.scenario)
        response = upstream(request)
        self.requests.extend(upstream.requests)
        raw = [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            content = b"".join(response.stream)
            await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
            await send({"type": "http.response.body", "body": content})
            return
        await self._stream(receive, send, response.status_code, raw, _frames(response))

    def _record(self, request: httpx.Request, body: bytes) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(RecordedRequest(request.method, request.url.path, headers, body, request))

    async def _stream(
        self,
        receive: Any,
        send: Any,
        status: int,
        headers: list[tuple[bytes, bytes]],
        frames: Iterator[bytes],
    ) -> None:
        self.streams_opened += 1
        gone = dropped = completed = False
        sent = 0
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    nonlocal gone
                    await _until_disconnect(receive)
                    gone = True
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                try:
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    for frame in frames:
                        # A checkpoint per event even without a delay: the loop must see a disconnect.
                        await anyio.sleep(self.chunk_delay)
                        if sent == self.pause_after:
                            await anyio.sleep(self.pause)
                        sent += 1
                        await send({"type": "http.response.body", "body": frame, "more_body": True})
                        self.events_sent += 1
                        self.bytes_sent += len(frame)
                    await send({"type": "http.response.body", "body": b""})
                    self.streams_completed += 1
                    completed = True
                except OSError:  # the client went away while a frame was being sent
                    gone = True
                except _Dropped:
                    dropped = True
                group.cancel_scope.cancel()
        finally:
            self.streams_closed += 1
            if gone and not dropped and not completed:
                self.streams_cancelled += 1
        if dropped:  # uvicorn drops a connection whose app raises mid-body
            raise RuntimeError("stand-in upstream: connection dropped mid-stream")


class _Dropped(Exception):
    """
    The scenario's stream breaks here: the ASGI app raises, uvicorn drops the connection.
    """


def _frames(response: httpx.Response) -> Iterator[bytes]:
    try:
        yield from response.stream  # type: ignore[misc]
    except httpx.ReadError:
        raise _Dropped from None


def _endless() -> Iterator[bytes]:
    chunk: Json = {
        "id": "chatcmpl-Endless",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }
    yield encode_sse(None, json.dumps(chunk))
    piece = "All work and no play makes a dull stream. " * 24
    while True:
        chunk["choices"] = [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]
        yield encode_sse(None, json.dumps(chunk))


async def _until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _json(send: Any, status: int, body: Json, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def serve_app(app: Any, **options: Any) -> ServerThread:
    """
    A started :class:`ServerThread` for *app* (stop it with :meth:`ServerThread.stop`); *options*
    are uvicorn settings.
    """
    server = ServerThread(app, **options)
    server.start()
    return server
