"""
Forwarding to the upstream: one labeled ``httpx.AsyncClient`` per process and tenant.

Each :class:`UpstreamClient` holds an ``httpx.AsyncClient`` whose transport is the public
:class:`~aigclabel.middleware.httpx.AsyncLabelingTransport` over ``httpx.AsyncHTTPTransport``:
the gateway rewrites nothing itself. Between the two sits a timing shim that stamps when a
request leaves for the upstream and when each upstream chunk arrives, so that the gateway can
measure what it adds (:mod:`.metrics`); it costs one ``perf_counter()`` a chunk.

The client keeps no cookies (a shared client must not carry one caller's upstream cookies to
the next), follows no redirects and never retries (the caller's SDK decides).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from aigclabel.labeler import Labeler
from aigclabel.middleware.httpx import AsyncLabelingTransport
from aigclabel.optout import OptOut

from .config import GatewayConfig

__all__ = ["HOP_BY_HOP", "TIMING", "Timing", "UpstreamClient", "response_headers"]

#: The request extension that carries a :class:`Timing` through the transports.
TIMING = "aigc_gateway.timing"


class Timing:
    """
    ``time.perf_counter()`` stamps of one proxied request, in seconds.

    Attributes:
        received: the request arrived at the gateway.
        dispatched: the request left for the upstream (``0.0`` until then).
        first_in: the first upstream body bytes arrived (``0.0`` until then).
        last_in: the latest upstream body bytes arrived.
    """

    __slots__ = ("dispatched", "first_in", "last_in", "received")

    def __init__(self, received: float) -> None:
        self.received = received
        self.dispatched = 0.0
        self.first_in = 0.0
        self.last_in = 0.0


class _TimedStream(httpx.AsyncByteStream):
    __slots__ = ("_stream", "_timing")

    def __init__(self, stream: httpx.AsyncByteStream, timing: Timing) -> None:
        self._stream = stream
        self._timing = timing

    async def __aiter__(self) -> AsyncIterator[bytes]:
        timing = self._timing
        async for chunk in self._stream:
            timing.last_in = now = time.perf_counter()
            if not timing.first_in:
                timing.first_in = now
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class _TimedTransport(httpx.AsyncBaseTransport):
    """
    Stamps :class:`Timing` on requests that carry one; otherwise the inner transport, unchanged.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timing: Timing | None = request.extensions.get(TIMING)
        if timing is None:
            return await self._transport.handle_async_request(request)
        timing.dispatched = time.perf_counter()
        response = await self._transport.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw,
            stream=_TimedStream(response.stream, timing),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._transport.aclose()


class UpstreamClient:
    """
    One tenant's way upstream: its labeler, its upstream key, and its labeled client.

    Args:
        config: the gateway's settings (upstream URL, timeouts, pool size).
        name: the tenant's name (``"default"`` without tenants).
        labeler: labels this tenant's responses.
        upstream_key: the key sent upstream in place of the caller's, or ``None`` to forward
            the caller's own credentials.

    .. versionadded:: 0.3.0
    """

    def __init__(self, config: GatewayConfig, name: str, labeler: Labeler, upstream_key: str | None) -> None:
        self.name = name
        self.labeler = labeler
        self.upstream_key = upstream_key
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=30.0,
        )
        inner = _TimedTransport(httpx.AsyncHTTPTransport(limits=limits, retries=0))
        self.transport = AsyncLabelingTransport(inner, labeler)
        timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.write_timeout,
            pool=config.pool_timeout,
        )
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # stores nothing
        self.client = httpx.AsyncClient(
            transport=self.transport,
            base_url=config.upstream,
            timeout=timeout,
            follow_redirects=False,
            cookies=jar,
        )

    def __repr__(self) -> str:
        return f"<UpstreamClient {self.name!r} {self.client.base_url}>"

    async def send(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timing: Timing,
        *,
        user: str | None = None,
        opt_out: OptOut | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        """
        Send one request upstream; return its response, labeled where it carries generated text,
        with the body not yet read (``stream=True``), except a labeled JSON body, which the
        labeling transport has read and rewritten already (``is_stream_consumed``: read
        ``.content``, never ``aiter_raw()``).

        *user*, *opt_out* and *request_id* are bound as the labeler's context for this request
        (the transport decides the opt-out, and writes its record, inside).

        Raises:
            httpx.TransportError: the upstream could not be reached or timed out.
            aigclabel.middleware.UnlabelableResponseError: a 2xx body that cannot be labeled.
            aigclabel.OptOutError: an opt-out that cannot be recorded.
        """
        request = self.client.build_request(
            method, target, headers=headers, content=body, extensions={TIMING: timing}
        )
        if user is None and opt_out is None and request_id is None:
            return await self.client.send(request, stream=True)
        with self.labeler.context(user=user, opt_out=opt_out, request_id=request_id):
            return await self.client.send(request, stream=True)

    async def aclose(self) -> None:
        """
        Close the client and its connections.
        """
        await self.client.aclose()


def response_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """
    *response*'s headers for the caller: hop-by-hop headers dropped.
    """
    return [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]


#: Headers that concern one connection, never forwarded either way.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
