"""
Labeling transports for ``httpx`` and ``httpx2``, sync and async.

A transport wraps the client's own transport and delegates ``handle_request``; it owns
no client state. When an upstream stream breaks, the original exception propagates (the
client SDK raises its usual connection error) and no end label or seal is emitted for the
text that never arrived; a stream that ends cleanly before its final event raises the
library's ``RemoteProtocolError``. For the four generation endpoints it labels 2xx JSON bodies and SSE
streams (see :mod:`aigclabel.middleware.rewrite`); error responses, other content
types and every other request pass through untouched. The same classes exist for both
HTTP libraries because openai ≥ 3 and anthropic ≥ 2 speak ``httpx2``.
"""

from __future__ import annotations

import functools
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aigclabel.exceptions import OptOutError
from aigclabel.labeler import _CONTEXT, LabelContext, Labeler
from aigclabel.optout import OptOut
from opentelemetry.trace import Span, TracerProvider

from .endpoints import CONTEXT_HEADERS, Endpoint, RequestInfo, inspect_request, route
from .history import HistoryHygiene
from .rewrite import JSONRewriter, StreamRewriter, UpstreamStreamError
from .telemetry import end_span, start_span

__all__ = ["transport_classes"]

_DROP = (b"content-length", b"content-encoding", b"transfer-encoding")


class _Core:
    """
    Everything the four transport classes share: request inspection and response rewriting.
    """

    __slots__ = ("hygiene", "labeler", "lib", "tracer_provider")

    def __init__(
        self, lib: types.ModuleType, labeler: Labeler, tracer_provider: TracerProvider | None, hygiene: bool
    ) -> None:
        self.lib = lib
        self.labeler = labeler
        self.tracer_provider = tracer_provider
        self.hygiene = HistoryHygiene(labeler) if hygiene else None

    def prepare(self, request: Any, endpoint: Endpoint) -> tuple[Any, RequestInfo, LabelContext | None]:
        """
        ``(request to send, what it asks for, context)`` for a request to *endpoint*.
        """
        headers: dict[str, str] = {}
        # Headers.__contains__ is slow; scan the raw pairs once for our prefix.
        if any(k[:7].lower() == b"x-aigc-" for k, _ in request.headers.raw):
            headers = {name: request.headers[name] for name in CONTEXT_HEADERS if name in request.headers}
            for name in headers:
                del request.headers[name]
        # A retrieval (GET) has no body: its stream flag is the query (parsing it is not free).
        stream_query = request.method == "GET" and request.url.params.get("stream") == "true"
        info = inspect_request(endpoint, request.content, headers, stream_query=stream_query)
        context = _CONTEXT.get()
        if info.context or info.model:
            base = context or LabelContext()
            opt_out = base.opt_out
            agreement = info.context.get("opt-out")
            if agreement not in (None, "", "0", "false"):
                # x-aigc-opt-out carries the accepted user-agreement version; x-aigc-user the recipient.
                assert agreement is not None
                opt_out = OptOut(user=info.context.get("user", base.user or ""), agreement_version=agreement)
            context = LabelContext(
                user=info.context.get("user", base.user),
                conversation=info.context.get("conversation", base.conversation),
                request_id=info.context.get("request-id", base.request_id),
                opt_out=opt_out,
                model=base.model or info.model or None,
            )
        if context is not None and context.opt_out is not None:
            # A refused opt-out in "raise" mode fails before anything is generated upstream;
            # an accepted one is recorded by the labeler before any unlabeled text is released.
            _, refusal = self.labeler._recorder.decide(context)
            if refusal is not None and self.labeler.policy.opt_out_on_error == "raise":
                raise OptOutError(refusal)
        if self.hygiene is not None:
            body = self.hygiene.rewrite(request.content)
            if body is not None:
                headers = request.headers.copy()
                del headers["content-length"]
                request = self.lib.Request(
                    request.method, request.url, headers=headers, content=body, extensions=request.extensions
                )
        return request, info, context

    def begin(self, request: Any, endpoint: Endpoint) -> _Call:
        """
        Start labeling one call to *endpoint* (span opened). The shells route the request
        and read its body first (``read()`` or ``aread()``).
        """
        request, info, context = self.prepare(request, endpoint)
        return _Call(self, request, info, context, start_span(self.tracer_provider, info))


class _Call:
    """
    One labeled call, shared by the sync and async shells: what to send, what to do with
    the response, and the span that ends exactly once.
    """

    __slots__ = ("context", "core", "ended", "info", "request", "response", "rewriter", "span")

    def __init__(
        self, core: _Core, request: Any, info: RequestInfo, context: LabelContext | None, span: Span
    ) -> None:
        self.core = core
        self.request = request
        self.info = info
        self.context = context
        self.span = span
        self.ended = False
        self.response: Any = None
        self.rewriter: StreamRewriter | JSONRewriter | None = None

    def failed(self, exc: BaseException) -> None:
        """
        The inner transport raised before a response.
        """
        self.end(exc, status=0)

    def respond(self, response: Any, stream_cls: type) -> tuple[Any, bool]:
        """
        ``(response, body_needed)``: a passed-through or streaming response, or the
        inner response whose JSON body the shell must read and hand to :meth:`json`.
        """
        self.response = response
        mode = _mode(response)
        if mode is None:
            self.end(None)
            return response, False
        if mode == "json":
            return response, True
        self.rewriter = StreamRewriter(self.core.labeler, self.info, self.context)
        lib = self.core.lib
        stream = stream_cls(self)
        return lib.Response(
            response.status_code, headers=_headers(response), stream=stream, extensions=response.extensions
        ), False

    def json(self, body: bytes) -> Any:
        """
        The response with its JSON body labeled.
        """
        response = self.response
        rewriter = self.rewriter = JSONRewriter(self.core.labeler, self.info, self.context)
        try:
            new = rewriter.rewrite(body)
        except Exception as exc:
            self.end(exc)  # never release the body unlabeled; never leave the span open
            raise
        self.end(None, body=body)
        extra = {"aigc": rewriter.labeled[0].metadata.to_json()} if rewriter.labeled else {}
        return self.core.lib.Response(
            response.status_code,
            headers=_headers(response, extra),
            content=body if new is None else new,
            extensions=response.extensions,
        )

    @property
    def encoded(self) -> bool:
        """
        Whether the stream must go through the library's content decoders.
        """
        return _raw_header(self.response, b"content-encoding") not in (b"", b"identity")

    def stream_error(self, exc: Exception) -> Exception:
        """
        What to raise when the upstream stream fails: the original error (the client SDK
        raises what it always raises), or for a clean end before the final event the
        library's ``RemoteProtocolError``. No end label or seal is emitted either way.
        """
        self.end(exc)
        if isinstance(exc, UpstreamStreamError):
            error: Exception = self.core.lib.RemoteProtocolError(str(exc))
            error.__cause__ = exc
            return error
        return exc

    def end(
        self, error: BaseException | None, *, status: int | None = None, body: bytes | None = None
    ) -> None:
        if self.ended:
            return
        self.ended = True
        rewriter = self.rewriter
        policy = self.core.labeler.policy
        end_span(
            self.span,
            status_code=self.response.status_code if status is None else status,
            labeled=rewriter.labeled if rewriter is not None else (),
            placement=policy.placement,
            marks=policy.marks,
            body=body,
            summary=rewriter.summary if isinstance(rewriter, StreamRewriter) else None,
            error=error,
        )


def _mode(response: Any) -> str | None:
    """
    ``"json"`` or ``"sse"`` for a 2xx body we can label, else ``None`` (pass through).
    """
    if not 200 <= response.status_code < 300:
        return None
    ctype = _raw_header(response, b"content-type").split(b";")[0].strip().lower()
    return {b"application/json": "json", b"text/event-stream": "sse"}.get(ctype)


def _headers(response: Any, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    out = [(k, v) for k, v in response.headers.raw if k.lower() not in _DROP]
    out.extend((k.encode("ascii"), v.encode("utf-8")) for k, v in (extra or {}).items())
    return out


def _raw_header(response: Any, name: bytes) -> bytes:
    # Headers.get / __contains__ rebuild lower-cased lists on every call; scan the raw pairs.
    for key, value in response.headers.raw:
        if key.lower() == name:
            return bytes(value)
    return b""


@functools.cache
def transport_classes(lib: types.ModuleType) -> tuple[type, type]:
    """
    Build ``(LabelingTransport, AsyncLabelingTransport)`` for ``httpx`` or ``httpx2``.
    """

    class _SyncStream(lib.SyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, call: _Call) -> None:
            self._call = call

        def __iter__(self) -> Iterator[bytes]:
            call = self._call
            rewriter = call.rewriter
            assert isinstance(rewriter, StreamRewriter)
            try:
                # Undecoded bodies are read straight off the inner stream (no decoder chain).
                source = call.response.iter_bytes() if call.encoded else call.response.stream
                for chunk in source:
                    out = rewriter.feed(chunk)
                    if out:
                        yield out
                tail = rewriter.close()
            except Exception as exc:
                raise call.stream_error(exc)  # noqa: B904 - the cause is set where it is not exc itself
            if tail:
                yield tail
            call.end(None)

        def close(self) -> None:
            self._call.response.close()
            self._call.end(None)

    class _AsyncStream(lib.AsyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, call: _Call) -> None:
            self._call = call

        async def __aiter__(self) -> AsyncIterator[bytes]:
            call = self._call
            rewriter = call.rewriter
            assert isinstance(rewriter, StreamRewriter)
            try:
                source = call.response.aiter_bytes() if call.encoded else call.response.stream
                async for chunk in source:
                    out = rewriter.feed(chunk)
                    if out:
                        yield out
                tail = rewriter.close()
            except Exception as exc:
                raise call.stream_error(exc)  # noqa: B904 - the cause is set where it is not exc itself
            if tail:
                yield tail
            call.end(None)

        async def aclose(self) -> None:
            await self._call.response.aclose()
            self._call.end(None)

    class _Wrapping:
        """
        What both transports hold: the wrapped transport and the shared labeling core.
        """

        def __init__(
            self,
            inner: Any,
            labeler: Labeler,
            *,
            tracer_provider: TracerProvider | None = None,
            history_hygiene: bool = True,
        ) -> None:
            self.inner = inner
            self._core = _Core(lib, labeler, tracer_provider, history_hygiene)

    class LabelingTransport(_Wrapping, lib.BaseTransport):  # type: ignore[name-defined, misc]
        """
        Wraps a transport; labels generation responses (see module docstring).
        """

        def handle_request(self, request: Any) -> Any:
            endpoint = route(request.method, request.url.path)
            if endpoint is None:
                return self.inner.handle_request(request)
            request.read()  # a streamed request body must be read before it is inspected
            call = self._core.begin(request, endpoint)
            try:
                response = self.inner.handle_request(call.request)
            except BaseException as exc:
                call.failed(exc)
                raise
            response, body_needed = call.respond(response, _SyncStream)
            if not body_needed:
                return response
            try:
                body = response.read()
            finally:
                response.close()
            return call.json(body)

        def close(self) -> None:
            self.inner.close()

    class AsyncLabelingTransport(_Wrapping, lib.AsyncBaseTransport):  # type: ignore[name-defined, misc]
        """
        Wraps an async transport; labels generation responses (see module docstring).
        """

        async def handle_async_request(self, request: Any) -> Any:
            endpoint = route(request.method, request.url.path)
            if endpoint is None:
                return await self.inner.handle_async_request(request)
            await request.aread()  # a streamed request body must be read before it is inspected
            call = self._core.begin(request, endpoint)
            try:
                response = await self.inner.handle_async_request(call.request)
            except BaseException as exc:
                call.failed(exc)
                raise
            response, body_needed = call.respond(response, _AsyncStream)
            if not body_needed:
                return response
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            return call.json(body)

        async def aclose(self) -> None:
            await self.inner.aclose()

    LabelingTransport.__qualname__ = LabelingTransport.__name__ = f"LabelingTransport[{lib.__name__}]"
    AsyncLabelingTransport.__qualname__ = AsyncLabelingTransport.__name__ = (
        f"AsyncLabelingTransport[{lib.__name__}]"
    )
    return LabelingTransport, AsyncLabelingTransport
