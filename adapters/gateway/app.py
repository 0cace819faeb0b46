"""
The gateway app: an OpenAI- and Anthropic-compatible proxy that labels every generated text.

:func:`create_gateway_app` returns a Starlette app. Every ``/v1/…`` request is forwarded to the
upstream through the tenant's labeled client (:mod:`.proxy`); what gets labeled is what the
middleware labels (:mod:`aigclabel.middleware.endpoints`: chat completions, legacy completions,
Responses, Anthropic messages, and retrieval of stored generations), everything else (models,
embeddings, files…) passes through byte for byte. Besides: ``GET /healthz``, ``GET /readyz``
and ``GET /metrics``.

**Identity.** Without tenants the caller's ``Authorization`` / ``x-api-key`` goes upstream as
sent. With tenants the caller must present a gateway key (``Authorization: Bearer <key>`` or
``x-api-key: <key>``) — anything else is 401 — and the key is replaced by the tenant's upstream
key, in the same header. The end user is the value of the header the operator names
(``GatewayConfig.user_header``), set by something the operator trusts (its auth proxy, the
tenant's backend); with tenants it is namespaced as ``<tenant name>:<user>`` — in the records,
the logs and the consent store — so one tenant cannot speak for another's users.

**Untrusted callers.** Unless ``trusted_control`` is set, the ``x-aigc-*`` control headers
(user, opt-out, language…) and a JSON body's ``"watermarking"`` switch (vLLM) are removed
before anything else sees the request: a caller cannot waive its own label.

**Art. 9 opt-out.** Only the operator grants it: the user named by ``user_header`` whose latest
consent in the ``consent_store`` is an opt-out under an agreement version the tenant's policy
accepts. The labeler decides and writes the record before the first byte of unlabeled text
leaves the labeling transport.

**Streams.** A response body is relayed chunk by chunk as the upstream sends it: the gateway
reads the next upstream chunk only after the previous one was handed to the server, and the
server's ``send`` waits while the client's socket is full — so a slow reader holds the upstream
back instead of filling the gateway's memory (at most one chunk in hand plus the server's
write buffer per stream). When the client goes away, the upstream response is closed, which
closes its connection: the upstream sees the cancellation. When the upstream breaks mid-stream,
the caller's connection is dropped without the final chunk, so its client sees the failure
(never a clean end with no end label).

**Errors.** Upstream statuses and error bodies pass through unchanged. The gateway's own
answers use the API's error shape (Anthropic's for ``/v1/messages``): 401 unknown key, 413 body
too large, 502 upstream unreachable or a body that cannot be labeled (fail closed), 504 upstream
timeout, 403 an opt-out that cannot be recorded, 500 the labeler or its record store failed
(nothing is released unlabeled).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from aigclabel.exceptions import AIGCLabelError, OptOutError
from aigclabel.labeler import Labeler
from aigclabel.middleware import UnlabelableResponseError, UpstreamStreamError
from aigclabel.middleware.endpoints import Endpoint, keep_watermarking, route
from aigclabel.optout import OptOut
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .access_log import EVENT, access_logger
from .config import GatewayConfig
from .metrics import CONTENT_TYPE, GatewayMetrics
from .proxy import HOP_BY_HOP, Timing, UpstreamClient, response_headers

__all__ = ["StreamAborted", "create_gateway_app"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: Request headers never forwarded (besides hop-by-hop ones): httpx sets them itself.
_DROP_REQUEST = HOP_BY_HOP | {b"host", b"content-length", b"expect", b"proxy-connection"}


class _Gone(Exception):
    """
    The caller went away before its request body arrived.
    """


class StreamAborted(AIGCLabelError, ConnectionError):
    """
    The upstream broke after the response started: raised out of the app, so that the server
    drops the caller's connection (ASGI has no other way to abort a response). Its message is
    safe to log; :mod:`.server` keeps uvicorn from logging a traceback for it.

    Attributes:
        kind: ``"stream"``, ``"timeout"``, ``"unlabelable"`` or ``"labeling"`` (the labeler or
            its record store failed).

    .. versionadded:: 0.3.0
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Gateway:
    """
    The state of one gateway app: clients per tenant, consent store, metrics, logger.
    """

    def __init__(self, config: GatewayConfig, logger: Any) -> None:
        self.config = config
        self.log = logger if logger is not None else access_logger()
        self.metrics = GatewayMetrics()
        self.trusted = config.trusted_control
        self.user_header = config.user_header.encode("latin-1") if config.user_header else None
        self.default: UpstreamClient | None = None
        #: sha256(gateway key) → client: a lookup that never compares keys byte by byte.
        self.tenants: dict[bytes, UpstreamClient] = {}
        if config.tenants:
            for key, tenant in config.tenants.items():
                upstream_key = tenant.upstream_key.get_secret_value() if tenant.upstream_key else None
                client = UpstreamClient(config, tenant.name, Labeler(tenant.policy), upstream_key)
                self.tenants[_digest(key.encode())] = client
        else:
            self.default = UpstreamClient(config, "default", Labeler(config.policy), None)
        self.consent: Any = None
        if config.consent_store is not None:
            from aigclabel.adapters.asgi.consent import SQLiteConsentStore

            self.consent = SQLiteConsentStore(config.consent_store)
        self.probe = httpx.AsyncClient(timeout=httpx.Timeout(2.0), follow_redirects=False)

    @property
    def clients(self) -> list[UpstreamClient]:
        return [self.default] if self.default is not None else list(self.tenants.values())

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.probe.aclose()
        if self.consent is not None:
            self.consent.close()
        self.metrics.shutdown()

    # -- per request ---------------------------------------------------------------------

    def identify(self, headers: list[tuple[bytes, bytes]]) -> tuple[UpstreamClient | None, bytes | None]:
        """
        ``(client, header that carried the gateway key)``; ``(None, None)`` for an unknown key.
        """
        if self.default is not None:
            return self.default, None
        for name, value in headers:
            key: bytes | None = None
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                key = value[7:].strip()
            elif name == b"x-api-key":
                key = value.strip()
            if key:
                client = self.tenants.get(_digest(key))
                if client is not None:
                    return client, name
        return None, None

    def upstream_headers(
        self, headers: list[tuple[bytes, bytes]], client: UpstreamClient, key_header: bytes | None
    ) -> tuple[list[tuple[bytes, bytes]], str | None]:
        """
        The headers to send upstream, and the end user's id.
        """
        out: list[tuple[bytes, bytes]] = []
        user: str | None = None
        encoding = False
        for name, value in headers:
            if name in _DROP_REQUEST:
                continue
            if name[:7] == b"x-aigc-" and not self.trusted:
                continue
            if key_header is not None and name in (b"authorization", b"x-api-key"):
                continue
            if name == self.user_header:
                user = value.decode("utf-8", "replace").strip() or None
                if user is not None and self.default is None:
                    user = f"{client.name}:{user}"  # users of different tenants are different people
            elif name == b"accept-encoding":
                encoding = True
            out.append((name, value))
        if key_header is not None and client.upstream_key is not None:
            key = client.upstream_key.encode("latin-1")
            out.append((key_header, b"Bearer " + key if key_header == b"authorization" else key))
        if not encoding:  # httpx would ask for gzip on the caller's behalf
            out.append((b"accept-encoding", b"identity"))
        return out, user

    async def opt_out(self, client: UpstreamClient, user: str | None) -> OptOut | None:
        """
        The Art. 9 opt-out the operator's consent store grants *user*, else ``None``.
        """
        if user is None or self.consent is None:
            return None
        from aigclabel.adapters.asgi.consent import ConsentError, opt_out_for

        try:
            result: OptOut | None = await asyncio.to_thread(
                opt_out_for, user, self.consent, client.labeler.policy
            )
        except ConsentError:  # not a valid user id: the visible label applies
            return None
        return result

    async def ready(self) -> tuple[bool, dict[str, str]]:
        """
        Whether the upstream answers HTTP and each SQLite record store is writable.
        """
        checks: dict[str, str] = {}
        try:
            await self.probe.get(self.config.upstream + "/")
            checks["upstream"] = "ok"
        except httpx.HTTPError as exc:
            checks["upstream"] = f"unreachable: {type(exc).__name__}"
        stores = {c.labeler.policy.audit_store for c in self.clients} - {None}
        for index, url in enumerate(sorted(s for s in stores if s)):
            checks[f"record_store_{index}"] = _store_check(url)
        return all(v in ("ok", "not checked") for v in checks.values()), checks


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def _store_check(url: str) -> str:
    """
    ``"ok"`` when a SQLite store's file (or its directory) is writable; other databases are
    checked by their first write (``"not checked"``).
    """
    if not url.startswith("sqlite"):
        return "not checked"
    path = urlsplit(url).path[1:] or "."
    if os.path.exists(path):
        return "ok" if os.access(path, os.W_OK) else f"not writable: {os.path.basename(path)}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"not writable: the folder of {os.path.basename(path)} does not exist"
    return "ok" if os.access(folder, os.W_OK) else f"not writable: the folder of {os.path.basename(path)}"


def _error_body(endpoint_anthropic: bool, status: int, kind: str, message: str) -> bytes:
    if endpoint_anthropic:
        doc: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        doc = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
    return json.dumps(doc).encode()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class _Proxy:
    """
    The ASGI endpoint for ``/v1/…``.
    """

    def __init__(self, gateway: _Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.gateway
        received = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        endpoint = route(method, path)
        anthropic = endpoint is Endpoint.MESSAGES or path.rstrip("/").endswith("/messages")
        entry: dict[str, Any] = {"method": method, "path": path, "tenant": None, "user": None}
        labeled = opted_out = False
        status = 0
        error: str | None = None
        try:
            client, key_header = gw.identify(scope["headers"])
            if client is None:
                status = 401
                body = _error_body(anthropic, 401, "authentication_error", "Unknown gateway key.")
                await _send_simple(send, 401, body)
                return
            entry["tenant"] = client.name
            headers, user = gw.upstream_headers(scope["headers"], client, key_header)
            entry["user"] = user
            try:
                content = await _read_body(receive, gw.config.max_body_bytes)
            except _Gone:
                status, entry["cancelled"] = 499, True  # nginx's "client closed request"
                return
            if content is None:
                status = 413
                body = _error_body(anthropic, 413, "request_too_large", "The request body is too large.")
                await _send_simple(send, 413, body)
                return
            if not gw.trusted:
                content = keep_watermarking(content) or content
            opt_out = await gw.opt_out(client, user) if endpoint is not None else None
            timing = Timing(received)
            query = scope.get("query_string", b"")
            target = scope.get("raw_path", path.encode()).decode("latin-1")
            if query:
                target += "?" + query.decode("latin-1")
            try:
                response = await client.send(
                    method, target, headers, content, timing, user=user, opt_out=opt_out
                )
            except httpx.TimeoutException as exc:
                status, error = 504, "timeout"
                message = f"The upstream did not answer in time ({type(exc).__name__})."
                await _send_simple(send, 504, _error_body(anthropic, 504, "timeout_error", message))
                return
            except httpx.TransportError as exc:
                status, error = 502, "connect"
                message = f"The upstream could not be reached ({type(exc).__name__})."
                await _send_simple(send, 502, _error_body(anthropic, 502, "api_error", message))
                return
            except UnlabelableResponseError as exc:
                status, error = 502, "unlabelable"
                message = f"The upstream's response cannot be labeled ({exc}); nothing was released."
                await _send_simple(send, 502, _error_body(anthropic, 502, "api_error", message))
                return
            except OptOutError as exc:
                status = 403
                await _send_simple(send, 403, _error_body(anthropic, 403, "permission_error", str(exc)))
                return
            except AIGCLabelError as exc:  # e.g. the record store failed: fail closed
                status, error = 500, "labeling"
                message = f"Labeling or recording failed ({type(exc).__name__}); nothing was released."
                await _send_simple(send, 500, _error_body(anthropic, 500, "api_error", message))
                return
            status = response.status_code
            if status >= 400:
                error = "status"
            generated = endpoint is not None and 200 <= status < 300
            opted_out = generated and opt_out is not None
            try:
                outcome = await _relay(response, timing, send, receive, gw.metrics, client.name)
            except StreamAborted as exc:
                error = exc.kind
                raise
            finally:
                await response.aclose()
            if outcome == "cancelled":
                entry["cancelled"] = True
                generated = opted_out = False
            elif outcome is not None:
                error = outcome
                generated = opted_out = False
            labeled = generated and error is None and not opted_out
        finally:
            duration = (time.perf_counter() - received) * 1000.0
            tenant = entry["tenant"] or "unknown"
            metrics = gw.metrics
            metrics.requests.add(1, {"tenant": tenant, "status": str(status)})
            if labeled:
                metrics.labeled.add(1, {"tenant": tenant})
            if opted_out and error is None:
                metrics.opted_out.add(1, {"tenant": tenant})
            if error is not None:
                metrics.upstream_errors.add(1, {"tenant": tenant, "kind": error})
            extra = {"error": error} if error is not None else {}
            gw.log.info(
                EVENT,
                **entry,
                status=status,
                duration_ms=round(duration, 3),
                labeled=labeled,
                opted_out=opted_out,
                **extra,
            )


async def _send_simple(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _relay(
    response: httpx.Response,
    timing: Timing,
    send: Send,
    receive: Receive,
    metrics: GatewayMetrics,
    tenant: str,
) -> str | None:
    """
    Send *response* to the caller; return the kind of upstream failure, if any (``"stream"``,
    ``"timeout"``), or ``None``; ``"cancelled"`` when the caller went away.

    Raises:
        StreamAborted: the upstream broke after the response started (the connection is dropped).
    """
    headers = response_headers(response)
    attributes = {"tenant": tenant}
    if response.is_stream_consumed:  # a labeled JSON body: the transport read it already
        body = response.content
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        now = time.perf_counter()
        metrics.added_ttft.record(_added_ttft(timing, now), attributes)
        await send({"type": "http.response.body", "body": body})
        return None
    state = {"started": False, "cancelled": False}
    failure: Exception | None = None
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            state["cancelled"] = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            await _pump(response, timing, send, metrics, attributes, state)
            state["done"] = True
        except (httpx.TransportError, AIGCLabelError) as exc:
            failure = exc
        group.cancel_scope.cancel()
    # The server reports a disconnect once the response is complete, too: only one before the
    # end of the body is the caller going away.
    if state["cancelled"] and not state.get("done"):
        return "cancelled"
    if failure is None:
        return None
    kind = _failure_kind(failure)
    if not state["started"]:  # nothing sent yet: answer with an error instead
        status = {"timeout": 504, "labeling": 500}.get(kind, 502)
        message = f"The upstream failed before its first byte ({type(failure).__name__})."
        anthropic = response.request.url.path.rstrip("/").endswith("/messages")
        await _send_simple(send, status, _error_body(anthropic, status, "api_error", message))
        return kind
    raise StreamAborted(kind, f"the upstream stream broke: {type(failure).__name__}") from failure


async def _pump(
    response: httpx.Response,
    timing: Timing,
    send: Send,
    metrics: GatewayMetrics,
    attributes: Mapping[str, str],
    state: dict[str, bool],
) -> None:
    """
    Relay the body chunk by chunk: the next chunk is read only after ``send`` returned.
    """
    chunks = response.aiter_raw()
    record_chunk = metrics.chunk_added.record
    try:
        async for chunk in chunks:
            now = time.perf_counter()
            if not state["started"]:
                state["started"] = True
                headers = response_headers(response)
                await send(
                    {"type": "http.response.start", "status": response.status_code, "headers": headers}
                )
                metrics.added_ttft.record(_added_ttft(timing, now), attributes)
            elif timing.last_in:
                record_chunk((now - timing.last_in) * 1000.0, attributes)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()  # type: ignore[attr-defined]
    if not state["started"]:
        state["started"] = True
        headers = response_headers(response)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _failure_kind(failure: Exception) -> str:
    if isinstance(failure, httpx.TimeoutException):
        return "timeout"
    if isinstance(failure, UnlabelableResponseError):
        return "unlabelable"
    if isinstance(failure, (httpx.TransportError, UpstreamStreamError)):
        return "stream"
    return "labeling"


def _added_ttft(timing: Timing, now: float) -> float:
    """
    Milliseconds the gateway added before the first byte: arrival → dispatch, first upstream
    byte → first byte out (the upstream's own wait excluded).
    """
    before = (timing.dispatched or now) - timing.received
    after = now - (timing.first_in or now)
    return (before + after) * 1000.0


def create_gateway_app(config: GatewayConfig, *, logger: Any = None) -> Starlette:
    """
    The gateway as a Starlette app; see the module documentation.

    Args:
        config: what to serve.
        logger: a structlog-style bound logger for the access log (default: JSON lines on
            standard error, see :mod:`.access_log`).

    Raises:
        aigclabel.PolicyError: a tenant's policy cannot make a labeler.
        aigclabel.adapters.asgi.ConsentStoreError: the consent store cannot be opened.

    .. versionadded:: 0.3.0
    """
    gateway = _Gateway(config, logger)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok, checks = await gateway.ready()
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/{path:path}", _Proxy(gateway), methods=_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app
