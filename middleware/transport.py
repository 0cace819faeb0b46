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
from opentelemetry.trace import Span, TracerProvider

from .endpoints import CONTEXT_HEADERS, RequestInfo, inspect_request, route
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

    def prepare(self, request: Any) -> tuple[Any, RequestInfo, LabelContext | None] | None:
        """
        ``(request to send, what it asks for, context)``, or ``None`` to pass it through.
        """
        endpoint = route(request.method, request.url.path)
        if endpoint is None:
            return None
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
        if info.context:
            base = context or LabelContext()
            opt_out = info.context.get("opt-out")
            context = LabelContext(
                user=info.context.get("user", base.user),
                conversation=info.context.get("conversation", base.conversation),
                request_id=info.context.get("request-id", base.request_id),
                opt_out=opt_out if opt_out not in (None, "", "0", "false") else base.opt_out,
            )
        if context is not None and context.opt_out is not None:
            # Refuse before anything is generated: never unlabeled text without its record.
            self.labeler.stream(context=context)
            raise OptOutError("opt-out requested but not recordable")  # pragma: no cover - stream() raised
        if self.hygiene is not None:
            body = self.hygiene.rewrite(request.content)
            if body is not None:
                headers = request.headers.copy()
                del headers["content-length"]
                request = self.lib.Request(
                    request.method, request.url, headers=headers, content=body, extensions=request.extensions
                )
        return request, info, context

    @staticmethod
    def mode(response: Any) -> str | None:
        """
        ``"json"`` or ``"sse"`` for a 2xx body we can label, else ``None`` (pass through).
        """
        if not 200 <= response.status_code < 300:
            return None
        ctype = _raw_header(response, b"content-type").split(b";")[0].strip().lower()
        return {b"application/json": "json", b"text/event-stream": "sse"}.get(ctype)

    @staticmethod
    def headers(response: Any, extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in _DROP]
        out.extend((k.encode("ascii"), v.encode("utf-8")) for k, v in (extra or {}).items())
        return out


def _raw_header(response: Any, name: bytes) -> bytes:
    for key, value in response.headers.raw:
        if key.lower() == name:
            return bytes(value)
    return b""


def _finish(core: _Core, span: Span, status: int, rewriter: Any, error: BaseException | None = None) -> None:
    end_span(
        span,
        status_code=status,
        labeled=rewriter.labeled,
        placement=core.labeler.policy.placement,
        marks=core.labeler.policy.marks,
        summary=rewriter.summary,
        error=error,
    )


@functools.cache
def transport_classes(lib: types.ModuleType) -> tuple[type, type]:
    """
    Build ``(LabelingTransport, AsyncLabelingTransport)`` for ``httpx`` or ``httpx2``.
    """

    class _SyncStream(lib.SyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, response: Any, rewriter: StreamRewriter, core: _Core, span: Span) -> None:
            self._response = response
            self._rewriter = rewriter
            self._core = core
            self._span = span
            self._ended = False

        def __iter__(self) -> Iterator[bytes]:
            rewriter = self._rewriter
            try:
                response = self._response
                # Undecoded bodies are read straight off the inner stream (no decoder chain).
                encoded = _raw_header(response, b"content-encoding") not in (b"", b"identity")
                source = response.iter_bytes() if encoded else response.stream
                for chunk in source:
                    out = rewriter.feed(chunk)
                    if out:
                        yield out
                tail = rewriter.close()
            except UpstreamStreamError as exc:
                # A clean end before the final event: report it the way a dropped connection is
                # reported, so the client SDK raises its own connection error.
                self._end(exc)
                raise lib.RemoteProtocolError(str(exc)) from exc
            except Exception as exc:
                # The upstream broke mid-stream: no end label or seal for text that never came,
                # and the original error, so the client SDK raises what it always raises.
                self._end(exc)
                raise
            if tail:
                yield tail
            self._end(None)

        def _end(self, error: BaseException | None) -> None:
            if not self._ended:
                self._ended = True
                _finish(self._core, self._span, self._response.status_code, self._rewriter, error)

        def close(self) -> None:
            self._response.close()
            self._end(None)

    class _AsyncStream(lib.AsyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, response: Any, rewriter: StreamRewriter, core: _Core, span: Span) -> None:
            self._response = response
            self._rewriter = rewriter
            self._core = core
            self._span = span
            self._ended = False

        async def __aiter__(self) -> AsyncIterator[bytes]:
            rewriter = self._rewriter
            try:
                response = self._response
                encoded = _raw_header(response, b"content-encoding") not in (b"", b"identity")
                source = response.aiter_bytes() if encoded else response.stream
                async for chunk in source:
                    out = rewriter.feed(chunk)
                    if out:
                        yield out
                tail = rewriter.close()
            except UpstreamStreamError as exc:
                # A clean end before the final event: report it the way a dropped connection is
                # reported, so the client SDK raises its own connection error.
                self._end(exc)
                raise lib.RemoteProtocolError(str(exc)) from exc
            except Exception as exc:
                # The upstream broke mid-stream: no end label or seal for text that never came,
                # and the original error, so the client SDK raises what it always raises.
                self._end(exc)
                raise
            if tail:
                yield tail
            self._end(None)

        def _end(self, error: BaseException | None) -> None:
            if not self._ended:
                self._ended = True
                _finish(self._core, self._span, self._response.status_code, self._rewriter, error)

        async def aclose(self) -> None:
            await self._response.aclose()
            self._end(None)

    class LabelingTransport(lib.BaseTransport):  # type: ignore[name-defined, misc]
        """
        Wraps a transport; labels generation responses (see module docstring).
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

        def handle_request(self, request: Any) -> Any:
            core = self._core
            if route(request.method, request.url.path) is not None:
                request.read()  # a streamed request body must be read before it is inspected
            prepared = core.prepare(request)
            if prepared is None:
                return self.inner.handle_request(request)
            request, info, context = prepared
            span = start_span(core.tracer_provider, info)
            try:
                response = self.inner.handle_request(request)
            except BaseException as exc:
                end_span(span, status_code=0, labeled=(), placement="", marks=False, error=exc)
                raise
            mode = core.mode(response)
            if mode is None:
                end_span(span, status_code=response.status_code, labeled=(), placement="", marks=False)
                return response
            if mode == "sse":
                rewriter = StreamRewriter(core.labeler, info, context)
                return lib.Response(
                    response.status_code,
                    headers=core.headers(response),
                    stream=_SyncStream(response, rewriter, core, span),
                    extensions=response.extensions,
                )
            try:
                body = response.read()
            finally:
                response.close()
            return _json_response(lib, core, info, context, span, response, body)

        def close(self) -> None:
            self.inner.close()

    class AsyncLabelingTransport(lib.AsyncBaseTransport):  # type: ignore[name-defined, misc]
        """
        Wraps an async transport; labels generation responses (see module docstring).
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

        async def handle_async_request(self, request: Any) -> Any:
            core = self._core
            if route(request.method, request.url.path) is not None:
                await request.aread()  # a streamed request body must be read before it is inspected
            prepared = core.prepare(request)
            if prepared is None:
                return await self.inner.handle_async_request(request)
            request, info, context = prepared
            span = start_span(core.tracer_provider, info)
            try:
                response = await self.inner.handle_async_request(request)
            except BaseException as exc:
                end_span(span, status_code=0, labeled=(), placement="", marks=False, error=exc)
                raise
            mode = core.mode(response)
            if mode is None:
                end_span(span, status_code=response.status_code, labeled=(), placement="", marks=False)
                return response
            if mode == "sse":
                rewriter = StreamRewriter(core.labeler, info, context)
                return lib.Response(
                    response.status_code,
                    headers=core.headers(response),
                    stream=_AsyncStream(response, rewriter, core, span),
                    extensions=response.extensions,
                )
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            return _json_response(lib, core, info, context, span, response, body)

        async def aclose(self) -> None:
            await self.inner.aclose()

    LabelingTransport.__qualname__ = LabelingTransport.__name__ = f"LabelingTransport[{lib.__name__}]"
    AsyncLabelingTransport.__qualname__ = AsyncLabelingTransport.__name__ = (
        f"AsyncLabelingTransport[{lib.__name__}]"
    )
    return LabelingTransport, AsyncLabelingTransport


def _json_response(
    lib: types.ModuleType,
    core: _Core,
    info: RequestInfo,
    context: LabelContext | None,
    span: Span,
    response: Any,
    body: bytes,
) -> Any:
    rewriter = JSONRewriter(core.labeler, info, context)
    new = rewriter.rewrite(body)
    end_span(
        span,
        status_code=response.status_code,
        labeled=rewriter.labeled,
        placement=core.labeler.policy.placement,
        marks=core.labeler.policy.marks,
        body=body,
    )
    extra = {"aigc": rewriter.labeled[0].metadata.to_json()} if rewriter.labeled else {}
    return lib.Response(
        response.status_code,
        headers=core.headers(response, extra),
        content=body if new is None else new,
        extensions=response.extensions,
    )
