"""
A naive pass-through proxy: the floor for a Python proxy in the gateway benchmark (bench/gateway.py).

    python bench/naive_proxy.py --upstream http://127.0.0.1:9001 [--host 127.0.0.1] [--port 0]

A Starlette app on uvicorn (uvloop and httptools when importable, like ``aigclabel serve``) with one
``httpx.AsyncClient`` per process: every request under ``/v1/`` is sent upstream as it came (method,
path, query, body, headers minus the hop-by-hop ones) and the upstream's response streamed back chunk by
chunk as it arrives — no parsing, no labeling, no records. The upstream response is closed when the
relay ends or the client goes away. Prints ``serving on http://HOST:PORT/`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

#: Headers never forwarded in either direction (hop-by-hop, or recomputed by the sending side).
HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    # A response whose body a (test) transport already read cannot be streamed again.
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


def create_app(upstream: str, *, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """
    The proxy app relaying ``/v1/{path}`` to *upstream* (a base URL without ``/v1``).

    *transport* replaces the client's default transport (tests only). The client has no overall
    timeout on reads (streams may idle) but a 10 s connect timeout and no connection limit.
    """
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=1000)
        async with httpx.AsyncClient(
            base_url=upstream,
            transport=transport,
            timeout=httpx.Timeout(None, connect=10.0),
            limits=limits,
        ) as client:
            state["client"] = client
            yield

    async def relay(request: Request) -> StreamingResponse:
        client = state["client"]
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP]
        sent = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        response = await client.send(sent, stream=True)
        out = {k: v for k, v in response.headers.items() if k.lower() not in HOP | {"content-encoding"}}
        return StreamingResponse(
            _body(response),
            status_code=response.status_code,
            headers=out,
            background=BackgroundTask(response.aclose),
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/v1/{path:path}", relay, methods=methods)], lifespan=lifespan)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upstream", required=True, help="the upstream base URL (without /v1)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]
    options: dict[str, object] = {"log_level": "warning", "access_log": False}
    for name, module in (("loop", "uvloop"), ("http", "httptools")):
        try:
            __import__(module)
            options[name] = module
        except ImportError:
            pass
    server = uvicorn.Server(uvicorn.Config(create_app(args.upstream), **options))  # type: ignore[arg-type]

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():  # ends with the server at the latest
            await asyncio.sleep(0.01)
        if server.started:
            print(f"serving on http://{host}:{port}/", flush=True)
        await task

    if options.get("loop") == "uvloop":
        import uvloop

        uvloop.run(serve())
    else:
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
