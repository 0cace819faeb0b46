"""
Labeling transports for ``httpx`` and ``httpx2``, sync and async.

A transport wraps the client's own transport and delegates ``handle_request``; it owns
no client state. For the four generation endpoints it labels every 2xx body a client SDK
could read generated text from, whatever its Content-Type (see :mod:`.sniff`): JSON
objects, SSE streams (see :mod:`aigclabel.middleware.rewrite`). A 2xx body it cannot label
raises :class:`~aigclabel.middleware.UnlabelableResponseError` and is never released;
empty bodies, error (non-2xx) responses and every other request pass through untouched,
except Batch output files (``GET …/files/{id}/content``, Anthropic batch results), whose
JSON lines are labeled one by one (see :mod:`.batch`).

When an upstream stream breaks, the original exception propagates (the client SDK raises
its usual connection error) and no end label or seal is emitted for the text that never
arrived; a stream that ends cleanly without its final event gets its end label and seal
in a synthesized final event.

This module is the library-independent part, written once: :func:`handle` and
:func:`ahandle` drive one call, and the body classes stream the rewritten bytes. The public
classes are per HTTP library, because each must subclass that library's own base transport
(openai ≥ 3 and anthropic ≥ 2 speak ``httpx2``; most other code ``httpx``):
:mod:`aigclabel.middleware.httpx` and :mod:`aigclabel.middleware.httpx2`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aigclabel.explicit import Language
from aigclabel.labeler import LabelContext, Labeler, OptOutDecision, StreamLabeler
from aigclabel.optout import OptOut
from opentelemetry.trace import Span, TracerProvider

from .apis import stream_rewriter
from .batch import BatchRewriter, batch_route
from .common import BodyShapeError, Reasoning, UnlabelableResponseError, UpstreamStreamError
from .endpoints import CONTEXT_HEADERS, Endpoint, RequestInfo, inspect_request, keep_watermarking, route
from .history import HistoryHygiene
from .jsonbody import JSONRewriter
from .rewrite import StreamRewriter
from .sniff import EMPTY, JSON, SSE, BodyKind, Sniffer
from .telemetry import end_span, start_span

__all__ = ["AsyncBody", "AsyncLines", "HTTPLib", "Labeling", "SyncBody", "SyncLines", "ahandle", "handle"]

_DROP = (b"content-length", b"content-encoding", b"transfer-encoding")

#: What a shell does with a response: pass it on, stream it through the SSE rewriter, or
#: read its first bytes to learn what it is (:meth:`_Call.respond`).
PASS, STREAM, SNIFF = "pass", "stream", "sniff"


@dataclass(frozen=True, slots=True)
class HTTPLib:
    """
    What the shells need from one HTTP library (``httpx`` or ``httpx2``): its request and
    response classes, the error a broken stream becomes, and its body classes.
    """

    name: str
    request: Callable[..., Any]
    response: Callable[..., Any]
    remote_protocol_error: type[Exception]
    sync_body: Callable[..., Any]
    async_body: Callable[..., Any]
    sync_lines: Callable[..., Any]
    async_lines: Callable[..., Any]


class _Core:
    """
    Everything the four transport classes share: request inspection and response rewriting.
    """

    __slots__ = ("contexts", "hygiene", "labeler", "lib", "reasoning", "tracer_provider")

    def __init__(
        self,
        lib: HTTPLib,
        labeler: Labeler,
        tracer_provider: TracerProvider | None,
        hygiene: bool,
        reasoning: Reasoning,
    ) -> None:
        if reasoning not in ("label", "pass"):
            raise ValueError(f"reasoning must be 'label' or 'pass', not {reasoning!r}")
        self.lib = lib
        self.labeler = labeler
        self.tracer_provider = tracer_provider
        self.hygiene = HistoryHygiene(labeler) if hygiene else None
        self.reasoning: Reasoning = reasoning
        self.contexts: dict[str, LabelContext] = {}  # see model_context

    def prepare(
        self, request: Any, endpoint: Endpoint
    ) -> tuple[Any, RequestInfo, LabelContext | None, OptOutDecision]:
        """
        ``(request to send, what it asks for, context, opt-out decision)`` for a request to
        *endpoint*: the opt-out is decided once per request, here.
        """
        headers: dict[str, str] = {}
        # Headers.__contains__ is slow; scan the raw pairs once for our prefix.
        for key, _ in request.headers.raw:
            if key[:7].lower() == b"x-aigc-":
                headers = {name: request.headers[name] for name in CONTEXT_HEADERS if name in request.headers}
                for name in headers:
                    del request.headers[name]
                break
        # A retrieval (GET) has no body: its stream flag is the query (parsing it is not free).
        stream_query = request.method == "GET" and request.url.params.get("stream") == "true"
        info = inspect_request(endpoint, request.content, headers, stream_query=stream_query)
        context = self.labeler.current_context()
        if context is None and not info.context and info.model:
            context = self.model_context(info.model)
        elif info.context or info.model:
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
                language=_language(info.context.get("language")) or base.language,
            )
        # A refused opt-out in "raise" mode fails before anything is generated upstream; an
        # accepted one is recorded by the labeler before any unlabeled text is released.
        decision = self.labeler.decide(context)
        body = self.hygiene.rewrite(request.content) if self.hygiene is not None else None
        if self.labeler.policy.watermark is not None:
            # The policy watermarks every answer: vLLM's per-request "watermarking": false is not sent.
            body = keep_watermarking(request.content if body is None else body) or body
        if body is not None:
            headers = request.headers.copy()
            del headers["content-length"]
            request = self.lib.request(
                request.method, request.url, headers=headers, content=body, extensions=request.extensions
            )
        return request, info, context, decision

    def model_context(self, model: str) -> LabelContext:
        """
        ``LabelContext(model=model)``, made once per model: the context of a request that
        names its model and nothing else (frozen, so one object serves every such request).
        """
        context = self.contexts.get(model)
        if context is None:
            if len(self.contexts) >= 256:  # clients that invent model names: stay bounded
                self.contexts.clear()
            context = self.contexts[model] = LabelContext(model=model)
        return context

    def batch(self, response: Any, kind: str, stream_cls: Callable[..., Any]) -> Any:
        """
        A Batch output file response whose JSON lines are labeled as they stream through.
        """
        if not 200 <= response.status_code < 300:
            return response
        context = self.labeler.current_context()
        rewriter = BatchRewriter(
            self.labeler,
            context,
            kind,
            self.reasoning,
            decision=self.labeler.decide(context),
            status_code=response.status_code,
            content_type=_raw_header(response, b"content-type").decode("latin-1"),
        )
        encoded = _raw_header(response, b"content-encoding") not in (b"", b"identity")
        return self.lib.response(
            response.status_code,
            headers=_headers(response),
            stream=stream_cls(response, rewriter, encoded),
            extensions=response.extensions,
        )

    def begin(self, request: Any, endpoint: Endpoint) -> _Call:
        """
        Start labeling one call to *endpoint* (span opened). The shells route the request
        and read its body first (``read()`` or ``aread()``).
        """
        request, info, context, decision = self.prepare(request, endpoint)
        return _Call(self, request, info, context, decision, start_span(self.tracer_provider, info))


class _Call:
    """
    One labeled call, shared by the sync and async shells: what to send, what to do with
    the response, and the span that ends exactly once.
    """

    __slots__ = (
        "announced",
        "completed",
        "context",
        "core",
        "decision",
        "ended",
        "info",
        "request",
        "response",
        "rewriter",
        "span",
    )

    def __init__(
        self,
        core: _Core,
        request: Any,
        info: RequestInfo,
        context: LabelContext | None,
        decision: OptOutDecision,
        span: Span,
    ) -> None:
        self.core = core
        self.request = request
        self.info = info
        self.context = context
        self.decision = decision
        self.span = span
        self.ended = False
        self.response: Any = None
        self.rewriter: StreamRewriter | JSONRewriter | None = None
        self.completed = 0  # finished streams whose completion record is written
        self.announced = False  # the response says it is an SSE stream (set by respond)

    @property
    def records(self) -> bool:
        """
        Whether labeling this call may write an Art. 9 record (an accepted opt-out, or every
        release recorded): the async shell then runs the rewriter off the event loop's thread.
        """
        return self.decision.accepted or _records_all(self.core.labeler)

    def _newly_closed(self) -> list[StreamLabeler]:
        rewriter = self.rewriter
        if not isinstance(rewriter, StreamRewriter) or len(rewriter.closed) == self.completed:
            return []
        new = rewriter.closed[self.completed :]
        self.completed = len(rewriter.closed)
        return new

    def complete(self) -> None:
        """
        Write the completion records of the streams finished since the last call (sync shell):
        called after each chunk of a recording call, before its output is released.
        """
        for stream in self._newly_closed():
            self.core.labeler.complete(stream)

    async def acomplete(self) -> None:
        """
        :meth:`complete`, awaited (the record sink's async path).
        """
        for stream in self._newly_closed():
            await self.core.labeler.acomplete(stream)

    def failed(self, exc: BaseException) -> None:
        """
        The inner transport raised before a response.
        """
        self.end(exc, status=0)

    def respond(self, response: Any) -> str:
        """
        What the shell does with *response*: :data:`PASS` it on (an error status),
        :data:`STREAM` it (an SSE stream that was asked for), or :data:`SNIFF` its first
        bytes and hand them to :meth:`sniffed`.
        """
        self.response = response
        if not 200 <= response.status_code < 300:
            self.end(None)
            return PASS
        self.announced = _media_type(response) == b"text/event-stream"
        return STREAM if self.info.stream and self.announced else SNIFF

    @property
    def encoded(self) -> bool:
        """
        Whether the body must go through the library's content decoders (undecoded bodies
        are read straight off the inner stream, with no decoder chain).
        """
        return _raw_header(self.response, b"content-encoding") not in (b"", b"identity")

    def sniffer(self) -> Sniffer:
        """
        A sniffer for this body: SSE is expected when a stream was asked for or announced.
        """
        return Sniffer(stream=self.info.stream or self.announced)

    def streaming(self, stream: Any) -> Any:
        """
        The response to return for an SSE body rewritten by *stream*.
        """
        response = self.response
        self.rewriter = stream_rewriter(
            self.core.labeler, self.info, self.context, self.core.reasoning, decision=self.decision
        )
        return self.core.lib.response(
            response.status_code, headers=_headers(response), stream=stream, extensions=response.extensions
        )

    def sniffed(self, kind: BodyKind | None, body: bytes) -> Any:
        """
        The response for a body read whole: labeled JSON, or an empty body passed on.

        Raises:
            UnlabelableResponseError: the body is neither (its reading was stopped).
        """
        if kind == JSON:
            return self.json(body)
        if kind != EMPTY:
            raise self.refuse("the body is neither a JSON object nor an SSE stream")
        self.end(None)
        response = self.response
        return self.core.lib.response(
            response.status_code, headers=_headers(response), content=body, extensions=response.extensions
        )

    def json(self, body: bytes) -> Any:
        """
        The response with its JSON body labeled, and the ``AIGC`` header.
        """
        response = self.response
        new = self.json_bytes(body)
        assert isinstance(self.rewriter, JSONRewriter)
        labeled = self.rewriter.labeled
        extra = {"aigc": labeled[0].metadata.to_json()} if labeled else {}
        return self.core.lib.response(
            response.status_code,
            headers=_headers(response, extra),
            content=new,
            extensions=response.extensions,
        )

    def json_bytes(self, body: bytes) -> bytes:
        """
        The labeled JSON *body*; the span ends.

        Raises:
            UnlabelableResponseError: the body cannot be labeled; nothing of it is released.
        """
        rewriter = self.rewriter = JSONRewriter(
            self.core.labeler, self.info, self.context, self.core.reasoning, decision=self.decision
        )
        try:
            new = rewriter.rewrite(body)
        except BodyShapeError as exc:
            raise self.refuse(str(exc)) from exc
        except Exception as exc:
            self.end(exc)  # never release the body unlabeled; never leave the span open
            raise
        self.end(None, body=body)
        return new

    def refuse(self, reason: str) -> UnlabelableResponseError:
        """
        The error for a 2xx body that cannot be labeled; the span ends with it.
        """
        response = self.response
        error = UnlabelableResponseError(
            reason,
            endpoint=self.info.endpoint.value,
            status_code=response.status_code,
            content_type=_raw_header(response, b"content-type").decode("latin-1"),
        )
        self.end(error)
        return error

    def stream_error(self, exc: Exception) -> Exception:
        """
        What to raise when the upstream stream fails: the original error (the client SDK
        raises what it always raises; no end label or seal is emitted), or for our own
        base class the library's ``RemoteProtocolError``.
        """
        if isinstance(exc, BodyShapeError):
            return self.refuse(str(exc))
        self.end(exc)
        if type(exc) is UpstreamStreamError:
            error: Exception = self.core.lib.remote_protocol_error(str(exc))
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
            reasoning=rewriter.reasoning if rewriter is not None else None,
        )


def _records_all(labeler: Labeler) -> bool:
    policy = labeler.policy
    return policy.audit_record_all and policy.audit_store is not None


async def _off_loop(offload: bool, fn: Callable[..., Any], *args: Any) -> Any:
    """
    ``fn(*args)``, on a worker thread when *offload* (it may wait for a record sink).
    """
    return await asyncio.to_thread(fn, *args) if offload else fn(*args)


def _media_type(response: Any) -> bytes:
    return _raw_header(response, b"content-type").split(b";")[0].strip().lower()


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


class Labeling:
    """
    What every labeling transport holds, whatever its HTTP library: the wrapped transport,
    the labeler, and the labeling core. ``isinstance(t, Labeling)`` finds ours.
    """

    # No __slots__: the libraries' base transports have none, so instances keep a __dict__ anyway.
    transport: Any
    labeler: Labeler
    _core: _Core
    _close_transport: bool

    def _setup(
        self,
        lib: HTTPLib,
        transport: object,
        labeler: Labeler,
        tracer_provider: TracerProvider | None,
        history_hygiene: bool,
        reasoning: Reasoning,
        close_transport: bool,
    ) -> None:
        if not isinstance(labeler, Labeler):
            raise TypeError(f"labeler must be an aigclabel.Labeler, not {type(labeler).__qualname__}")
        self.transport = transport
        self.labeler = labeler
        self._core = _Core(lib, labeler, tracer_provider, history_hygiene, reasoning)
        self._close_transport = close_transport

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} {self.transport!r} {self.labeler!r}>"


def handle(core: _Core, send: Callable[[Any], Any], request: Any) -> Any:
    """
    One call through a sync labeling transport: *send* is the wrapped transport's
    ``handle_request``.
    """
    endpoint = route(request.method, request.url.path)
    if endpoint is None:
        batch = batch_route(request.method, request.url.path)
        response = send(request)
        return response if batch is None else core.batch(response, batch, core.lib.sync_lines)
    request.read()  # a streamed request body must be read before it is inspected
    call = core.begin(request, endpoint)
    try:
        response = send(call.request)
    except BaseException as exc:
        call.failed(exc)
        raise
    action = call.respond(response)
    if action == PASS:
        return response
    if action == STREAM:
        return call.streaming(core.lib.sync_body(call))
    sniffer = call.sniffer()
    try:
        source = iter(response.iter_bytes() if call.encoded else response.stream)
        for chunk in source:
            if sniffer.feed(chunk) is not None:
                break
        else:
            sniffer.finish()
        if sniffer.kind == SSE:
            return call.streaming(core.lib.sync_body(call, sniffer.head, source))
        if sniffer.kind == JSON:
            sniffer.head.extend(source)
    except BaseException as exc:
        call.end(exc)
        response.close()
        raise
    response.close()
    return call.sniffed(sniffer.kind, b"".join(sniffer.head))


async def ahandle(core: _Core, send: Callable[[Any], Awaitable[Any]], request: Any) -> Any:
    """
    One call through an async labeling transport: *send* is the wrapped transport's
    ``handle_async_request``.
    """
    endpoint = route(request.method, request.url.path)
    if endpoint is None:
        batch = batch_route(request.method, request.url.path)
        response = await send(request)
        return response if batch is None else core.batch(response, batch, core.lib.async_lines)
    await request.aread()  # a streamed request body must be read before it is inspected
    call = core.begin(request, endpoint)
    try:
        response = await send(call.request)
    except BaseException as exc:
        call.failed(exc)
        raise
    action = call.respond(response)
    if action == PASS:
        return response
    if action == STREAM:
        return call.streaming(core.lib.async_body(call))
    sniffer = call.sniffer()
    try:
        source = (response.aiter_bytes() if call.encoded else response.stream).__aiter__()
        async for chunk in source:
            if sniffer.feed(chunk) is not None:
                break
        else:
            sniffer.finish()
        if sniffer.kind == SSE:
            return call.streaming(core.lib.async_body(call, sniffer.head, source))
        if sniffer.kind == JSON:
            sniffer.head.extend([chunk async for chunk in source])
    except BaseException as exc:
        call.end(exc)
        await response.aclose()
        raise
    await response.aclose()
    return await _off_loop(call.records, call.sniffed, sniffer.kind, b"".join(sniffer.head))


class SyncBody:
    """
    The body of an SSE response, labeled as it streams (sync). Each HTTP library module
    mixes it into that library's ``SyncByteStream``.
    """

    def __init__(self, call: _Call, head: list[bytes] | None = None, source: Any = None) -> None:
        self._call = call
        self._head = head or []
        self._source = source
        self._iterated = False

    def __iter__(self) -> Iterator[bytes]:
        if self._iterated:  # a client draining the response again gets nothing twice
            return
        self._iterated = True
        call = self._call
        try:
            head, source = self._head, self._source
            if source is None:  # announced as SSE: its first bytes still decide
                response = call.response
                source = iter(response.iter_bytes() if call.encoded else response.stream)
                sniffer = call.sniffer()
                for chunk in source:
                    if sniffer.feed(chunk) is not None:
                        break
                head = sniffer.head
                if sniffer.kind == JSON:
                    head.extend(source)
                    yield call.json_bytes(b"".join(head))
                    return
            rewriter = call.rewriter
            assert isinstance(rewriter, StreamRewriter)
            feed, records = rewriter.feed, call.records
            for chunk in itertools.chain(head, source):
                out = feed(chunk)
                if records:  # a stream finished by this chunk: its record before its last event
                    call.complete()
                if out:
                    yield out
            tail = rewriter.close()
            call.complete()
        except Exception as exc:
            raise call.stream_error(exc)  # noqa: B904 - the cause is set where it is not exc itself
        if tail:
            yield tail
        call.end(None)

    def close(self) -> None:
        self._call.response.close()
        self._call.end(None)


class AsyncBody:
    """
    The body of an SSE response, labeled as it streams (async); see :class:`SyncBody`.
    """

    def __init__(self, call: _Call, head: list[bytes] | None = None, source: Any = None) -> None:
        self._call = call
        self._head = head or []
        self._source = source
        self._iterated = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterated:  # a client draining the response again gets nothing twice
            return
        self._iterated = True
        call = self._call
        try:
            head, source = self._head, self._source
            if source is None:  # announced as SSE: its first bytes still decide
                response = call.response
                source = (response.aiter_bytes() if call.encoded else response.stream).__aiter__()
                sniffer = call.sniffer()
                async for chunk in source:
                    if sniffer.feed(chunk) is not None:
                        break
                head = sniffer.head
                if sniffer.kind == JSON:
                    head.extend([chunk async for chunk in source])
                    yield await _off_loop(call.records, call.json_bytes, b"".join(head))
                    return
            rewriter = call.rewriter
            assert isinstance(rewriter, StreamRewriter)
            feed = rewriter.feed
            # A recording call (opening a stream writes its record) runs the rewriter on worker
            # threads, never on the loop's; the others pay one boolean test a chunk.
            records = call.records
            for chunk in head:
                out = await asyncio.to_thread(feed, chunk) if records else feed(chunk)
                if records:
                    await call.acomplete()
                if out:
                    yield out
            async for chunk in source:
                out = await asyncio.to_thread(feed, chunk) if records else feed(chunk)
                if records:
                    await call.acomplete()
                if out:
                    yield out
            tail = await asyncio.to_thread(rewriter.close) if records else rewriter.close()
            await call.acomplete()
        except Exception as exc:
            raise call.stream_error(exc)  # noqa: B904 - the cause is set where it is not exc itself
        if tail:
            yield tail
        call.end(None)

    async def aclose(self) -> None:
        await self._call.response.aclose()
        self._call.end(None)


class SyncLines:
    """
    A Batch output file, labeled line by line as it streams (sync).
    """

    def __init__(self, response: Any, rewriter: BatchRewriter, encoded: bool) -> None:
        self._response = response
        self._rewriter = rewriter
        self._encoded = encoded

    def __iter__(self) -> Iterator[bytes]:
        response, feed = self._response, self._rewriter.feed
        for chunk in response.iter_bytes() if self._encoded else response.stream:
            out = feed(chunk)
            if out:
                yield out
        tail = self._rewriter.close()
        if tail:
            yield tail

    def close(self) -> None:
        self._response.close()


class AsyncLines:
    """
    A Batch output file, labeled line by line as it streams (async).
    """

    def __init__(self, response: Any, rewriter: BatchRewriter, encoded: bool) -> None:
        self._response = response
        self._rewriter = rewriter
        self._encoded = encoded

    async def __aiter__(self) -> AsyncIterator[bytes]:
        response, feed = self._response, self._rewriter.feed
        offload = self._rewriter.records  # labeling a line may write a record: off the loop
        async for chunk in response.aiter_bytes() if self._encoded else response.stream:
            out = await _off_loop(offload, feed, chunk)
            if out:
                yield out
        tail = await _off_loop(offload, self._rewriter.close)
        if tail:
            yield tail

    async def aclose(self) -> None:
        await self._response.aclose()


def _language(tag: str | None) -> Language | None:
    """
    The label language an ``x-aigc-language`` value names (``zh-CN`` → ``zh``), else ``None``.
    """
    primary = (tag or "").strip().lower().partition("-")[0]
    return "zh" if primary == "zh" else "en" if primary == "en" else None
