"""
Relay a generated stream to the browser as Server-Sent Events that carry the label data.

:func:`sse_relay` returns an :class:`AIGCEventStream`, a Starlette ``StreamingResponse``
(``text/event-stream``, ``Cache-Control: no-cache``, ``X-Accel-Buffering: no``) that sends::

    event: aigc    data: {"produce_id", "mark_id", "explicit", "ui": {...UIDisclosure...}}
    event: delta   data: {"text": "..."}                 (labeled text as released)
    event: done    data: {"aigc": {...final item with "metadata"...}, "finish_reason", "text"}
    event: error   data: {"type": "...", "message": "..."}   (then the stream ends)

``aigc`` comes before the first ``delta`` whenever the upstream gives the label data there
(wrapped clients put it on the first event that releases text); ``done`` is last and its
``text`` is the concatenation of every ``delta``. A ``: ping`` comment keeps idle proxies open.

**The context trap.** A handler written as ``with labeler.context(opt_out=...): return
StreamingResponse(gen())`` leaves its ``with`` block before the body runs, so the wrapped
client sees no opt-out: the user gets the visible label and no Art. 9 record is written.
The relay calls *open_stream* inside its own body, with the context bound there (the one
passed as ``context=``, else the one bound when :func:`sse_relay` was called).

**Disconnects.** When the browser aborts the fetch, the relay stops reading, closes the
upstream stream (which cancels the upstream request), and, for text it labels itself,
ends the label with ``StreamLabeler.abort()`` and records the completion, so the record
reflects what was delivered. The response listens for ``http.disconnect`` itself, whatever
ASGI spec version the server reports (Starlette's ``StreamingResponse`` only listens below
2.4 and otherwise waits for a failed ``send``), and closes its body deterministically
instead of leaving an async generator for the garbage collector.

**Why Starlette's own response and not sse-starlette.** The SSE framing is a dozen lines,
Starlette is already the ``web`` extra's one framework dependency, and the disconnect
handling has to be ours anyway (it must close the upstream and the label, which no generic
SSE library knows about): one dependency fewer for the same behaviour.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final

import anyio
from aigclabel.context import LabelContext
from aigclabel.exceptions import AIGCLabelError
from aigclabel.labeler import Labeler, StreamLabeler
from aigclabel.middleware.common import aigc_item, aigc_start_item
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["SSE_HEADERS", "AIGCEventStream", "OpenStream", "UpstreamEventError", "sse_event", "sse_relay"]

_log = logging.getLogger("aigclabel.asgi")

#: The headers every relay response carries (besides its content type).
SSE_HEADERS: Final[Mapping[str, str]] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

#: A zero-argument callable (sync or async) that starts the upstream stream. It may return an
#: openai ``Stream`` / ``AsyncStream`` of chat-completion chunks or Responses events, an
#: anthropic message stream (or its stream manager), an (async) iterable of parsed JSON events
#: (dicts), or an (async) iterable of ``str`` deltas from an unwrapped model (labeled here).
OpenStream = Callable[[], object]

_CLOSE_SECONDS = 5.0
_END = object()


def sse_event(name: str, data: object) -> bytes:
    """
    One Server-Sent Event: ``event: <name>`` and one line of compact UTF-8 JSON.

    JSON escapes line breaks, so the data is always one line (U+2028 needs no escape: SSE
    splits lines on CR and LF only).
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only the escaped form is valid UTF-8
        body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return b"event: " + name.encode("ascii") + b"\ndata: " + body + b"\n\n"


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _summary(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("produce_id", "mark_id", "explicit", "ui") if k in item}


class UpstreamEventError(AIGCLabelError, RuntimeError):
    """
    The upstream stream itself reported an error event (Responses ``error`` /
    ``response.failed``, Anthropic ``error``).
    """


class _EventReader:
    """
    Sans-I/O: one event of a wrapped client's stream in, the SSE events to send out.

    Reads chat-completion chunks (``choices[0]``), Responses events and Anthropic message
    events, as SDK objects or parsed dicts; takes the ``aigc`` field wherever it appears.
    """

    __slots__ = ("aigc_sent", "final", "finish_reason", "parts")

    def __init__(self) -> None:
        self.aigc_sent = False
        self.final: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.parts: list[str] = []

    def read(self, event: Any) -> list[bytes]:
        out: list[bytes] = []
        aigc = _get(event, "aigc")
        if aigc is None and _get(event, "type") in ("response.completed", "response.incomplete"):
            aigc = _get(_get(event, "response"), "aigc")  # Responses: on the response object
        if isinstance(aigc, Mapping):
            item = self._main_item(aigc)
            if item is not None:
                if not self.aigc_sent:
                    out.append(sse_event("aigc", _summary(item)))
                    self.aigc_sent = True
                if aigc.get("stage") != "start" and "metadata" in item:
                    self.final = dict(item)
        text = self._text(event)
        if text:
            self.parts.append(text)
            out.append(sse_event("delta", {"text": text}))
        return out

    @staticmethod
    def _main_item(aigc: Mapping[str, Any]) -> Mapping[str, Any] | None:
        # The answer's item: not a reasoning text's (those name their "field"), first position.
        for item in aigc.get("items") or ():
            if (
                isinstance(item, Mapping)
                and "field" not in item
                and all(item.get(k, 0) == 0 for k in ("index", "output_index", "content_index"))
            ):
                return item
        return None

    def _text(self, event: Any) -> str | None:
        choices = _get(event, "choices")
        if choices is not None:
            for choice in choices:
                if (_get(choice, "index") or 0) != 0:
                    continue
                if (reason := _get(choice, "finish_reason")) is not None:
                    self.finish_reason = str(reason)
                delta = _get(choice, "delta")
                text = _get(delta, "content") if delta is not None else _get(choice, "text")
                return text if isinstance(text, str) else None
            return None
        kind = _get(event, "type")
        if kind == "response.output_text.delta":
            text = _get(event, "delta")
            return text if isinstance(text, str) else None
        if kind == "content_block_delta":
            delta = _get(event, "delta")
            text = _get(delta, "text") if _get(delta, "type") == "text_delta" else None
            return text if isinstance(text, str) else None
        if kind == "message_delta":
            reason = _get(_get(event, "delta"), "stop_reason")
            if reason is not None:
                self.finish_reason = str(reason)
        elif kind == "response.completed":
            self.finish_reason = "stop"
        elif kind == "response.incomplete":
            details = _get(_get(event, "response"), "incomplete_details")
            self.finish_reason = str(_get(details, "reason") or "incomplete")
        elif kind in ("error", "response.failed"):
            error = _get(event, "error") or _get(_get(event, "response"), "error")
            message = _get(error, "message") if error is not None else None
            raise UpstreamEventError(str(message or f"the upstream stream reported {kind!r}"))
        return None

    def done(self) -> bytes:
        return sse_event(
            "done", {"aigc": self.final, "finish_reason": self.finish_reason, "text": "".join(self.parts)}
        )


class _TextLabeling:
    """
    Labels ``str`` deltas from an unwrapped model with a :class:`StreamLabeler`.
    """

    __slots__ = ("_labeler", "aigc_sent", "finished", "stream")

    def __init__(self, labeler: Labeler, stream: StreamLabeler) -> None:
        self._labeler = labeler
        self.stream = stream
        self.aigc_sent = False
        self.finished = False

    def _aigc(self) -> list[bytes]:
        if self.aigc_sent or self.stream.disclosure is None:
            return []
        self.aigc_sent = True
        return [sse_event("aigc", _summary(aigc_start_item(self.stream)))]

    def start(self) -> list[bytes]:
        return self._aigc()

    def read(self, delta: str) -> list[bytes]:
        out = self.stream.feed(delta)
        if not out:
            return []
        return [*self._aigc(), sse_event("delta", {"text": out})]

    async def finish(self) -> list[bytes]:
        self.finished = True
        tail = self.stream.finish()
        await self._labeler.acomplete(self.stream)
        result = self.stream.result
        assert result is not None  # set by finish()
        events = self._aigc()
        if tail:
            events.append(sse_event("delta", {"text": tail}))
        events.append(
            sse_event(
                "done", {"aigc": aigc_item(result, index=0), "finish_reason": "stop", "text": result.text}
            )
        )
        return events

    async def abort(self) -> list[bytes]:
        """
        End the label over what was delivered and record it; the events that carry the end
        label, for a client that is still connected (an upstream error).
        """
        self.finished = True
        tail = self.stream.abort()
        await self._labeler.acomplete(self.stream)
        return [sse_event("delta", {"text": tail})] if tail else []


class _Upstream:
    """
    Uniform async iteration and closing over whatever *open_stream* returned.
    """

    __slots__ = ("_close", "_items")

    def __init__(self, items: AsyncIterator[Any], close: Callable[[], Any]) -> None:
        self._items = items
        self._close = close

    @classmethod
    async def open(cls, open_stream: OpenStream) -> _Upstream:
        if _is_async_callable(open_stream):
            obj: Any = await open_stream()  # type: ignore[misc]
        else:
            # A sync client blocks while it sends the request (and writes an opt-out record):
            # a worker thread, which inherits the bound context.
            obj = await anyio.to_thread.run_sync(open_stream)
            if inspect.isawaitable(obj):
                obj = await obj
        if hasattr(obj, "__aiter__"):
            return cls(obj.__aiter__(), _async_closer(obj))
        if hasattr(obj, "__aenter__"):  # a stream manager (anthropic ``messages.stream()``)
            entered = await obj.__aenter__()

            async def exit_manager() -> None:
                await obj.__aexit__(None, None, None)

            return cls(entered.__aiter__(), exit_manager)
        if hasattr(obj, "__enter__") and not hasattr(obj, "__iter__"):
            entered = await anyio.to_thread.run_sync(obj.__enter__)
            return cls(
                _in_thread(iter(entered)), lambda: anyio.to_thread.run_sync(obj.__exit__, None, None, None)
            )
        if hasattr(obj, "__iter__") and not isinstance(obj, str | bytes):
            close = getattr(obj, "close", None)
            return cls(
                _in_thread(iter(obj)),
                (lambda: anyio.to_thread.run_sync(close)) if callable(close) else _nothing,
            )
        raise TypeError(
            f"open_stream() returned a {type(obj).__name__}: expected a (async) stream of events or "
            "of str deltas"
        )

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items

    async def aclose(self) -> None:
        result = self._close()
        if inspect.isawaitable(result):
            await result


def _is_async_callable(obj: object) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    method = obj.__call__ if callable(obj) and not inspect.isroutine(obj) else None
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(method)


def _async_closer(obj: Any) -> Callable[[], Any]:
    for name in ("aclose", "close"):
        method = getattr(obj, name, None)
        if callable(method):
            return method  # type: ignore[no-any-return]
    return _nothing


async def _nothing() -> None:
    return None


async def _in_thread(items: Iterator[Any]) -> AsyncIterator[Any]:
    """
    A sync iterator read one item at a time in a worker thread (the event loop never blocks).
    """
    while True:
        item = await anyio.to_thread.run_sync(next, items, _END)
        if item is _END:
            return
        yield item


class AIGCEventStream(StreamingResponse):
    """
    The SSE relay response; build it with :func:`sse_relay` (same arguments).

    The body is produced when the server sends the response, in the request's task:
    *open_stream* is called there with the label context bound, every upstream event is
    translated to ``aigc`` / ``delta`` / ``done`` (or one ``error``), and on a disconnect the
    upstream is closed and a self-labeled text is aborted and recorded before the response
    returns (bounded by *close_timeout* seconds).

    .. versionadded:: 0.3.0
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        labeler: Labeler,
        open_stream: OpenStream,
        *,
        context: LabelContext | None = None,
        ping_seconds: float | None = 15.0,
        close_timeout: float = _CLOSE_SECONDS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(labeler, Labeler):
            raise TypeError(f"labeler must be a Labeler, not {type(labeler).__name__}")
        if not callable(open_stream):
            raise TypeError("open_stream must be a zero-argument callable that starts the upstream stream")
        if ping_seconds is not None and not (ping_seconds > 0 and math.isfinite(ping_seconds)):
            raise ValueError(f"ping_seconds must be a positive number or None, not {ping_seconds!r}")
        self.labeler = labeler
        self.open_stream = open_stream
        #: The context the upstream is opened under (captured now: a handler's ``with`` block
        #: has usually ended by the time the body runs).
        self.context = context if context is not None else labeler.current_context()
        self.ping_seconds = ping_seconds
        self.close_timeout = close_timeout
        self._body: AsyncGenerator[bytes, None] = self._events()
        super().__init__(self._body, media_type=self.media_type, headers={**SSE_HEADERS, **(headers or {})})

    def _bound(self) -> AbstractContextManager[object]:
        ctx = self.context
        if ctx is None:
            return nullcontext()
        return self.labeler.context(**{f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)})

    async def _events(self) -> AsyncGenerator[bytes, None]:
        upstream: _Upstream | None = None
        text: _TextLabeling | None = None
        reader = _EventReader()
        try:
            with self._bound():
                upstream = await _Upstream.open(self.open_stream)
                async for item in upstream:
                    if isinstance(item, str):
                        if text is None:
                            stream = await self.labeler.astream(context=self.context)
                            text = _TextLabeling(self.labeler, stream)
                            for chunk in text.start():
                                yield chunk
                        for chunk in text.read(item):
                            yield chunk
                    else:
                        for chunk in reader.read(item):
                            yield chunk
                if text is not None:
                    for chunk in await text.finish():
                        yield chunk
                else:
                    yield reader.done()
        except Exception as exc:
            _log.warning("aigc-label: the relayed stream failed: %s: %s", type(exc).__name__, exc)
            if text is not None and not text.finished:
                # The client is still there: what it received gets its end label first.
                for chunk in await text.abort():
                    yield chunk
            yield sse_event("error", {"type": type(exc).__name__, "message": str(exc)})
        finally:
            # Runs on a normal end, an error, a cancellation (client gone) and aclose(): shielded,
            # so the upstream is closed and the record written even inside a cancelled scope.
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + self.close_timeout
                if upstream is not None:
                    try:
                        await upstream.aclose()
                    except Exception:
                        _log.exception("aigc-label: closing the upstream stream failed")
                if text is not None and not text.finished:
                    await text.abort()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """
        Send the events; stop at once when the client disconnects, then clean up.
        """
        body = self._body
        lock = anyio.Lock()
        last_sent = [anyio.current_time()]

        async def send_body(chunk: bytes) -> None:
            async with lock:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                last_sent[0] = anyio.current_time()

        async def watch_disconnect(cancel: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            cancel.cancel()

        async def ping(interval: float) -> None:
            while True:
                await anyio.sleep(max(0.0, last_sent[0] + interval - anyio.current_time()))
                if anyio.current_time() - last_sent[0] >= interval:
                    await send_body(b": ping\n\n")

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(watch_disconnect, tasks.cancel_scope)
                if self.ping_seconds is not None:
                    tasks.start_soon(ping, self.ping_seconds)
                try:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": self.status_code,
                            "headers": self.raw_headers,
                        }
                    )
                    async for chunk in body:
                        await send_body(chunk)
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                except OSError:  # the server says the client is gone (ASGI 2.4)
                    pass
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await body.aclose()
        if self.background is not None:
            await self.background()


def sse_relay(
    labeler: Labeler,
    open_stream: OpenStream,
    *,
    context: LabelContext | None = None,
    ping_seconds: float | None = 15.0,
    close_timeout: float = _CLOSE_SECONDS,
    headers: Mapping[str, str] | None = None,
) -> AIGCEventStream:
    """
    Relay a labeled stream to the browser as SSE (``aigc``, ``delta``, ``done``, ``error``).

    >>> @app.post("/api/chat")                                        # doctest: +SKIP
    ... async def chat(request):
    ...     ctx = LabelContext(user=user, opt_out=opt_out)
    ...     return sse_relay(labeler, lambda: client.chat.completions.create(
    ...         model=model, messages=messages, stream=True), context=ctx)

    Args:
        labeler: the labeler of the wrapped client (its context is bound while the upstream
            is opened and read), and the one that labels ``str`` deltas.
        open_stream: a zero-argument callable, sync or async, that starts the upstream stream
            (see :data:`OpenStream`); called inside the response body, never before.
        context: the request's label context (user, opt-out, language); by default the one
            bound for *labeler* when this is called.
        ping_seconds: send ``: ping`` after this many idle seconds (``None``: never).
        close_timeout: seconds allowed for closing the upstream and recording after a
            disconnect.
        headers: extra response headers.

    Returns:
        A ``StreamingResponse`` subclass; return it from a Starlette or FastAPI handler.

    Raises:
        TypeError: *labeler* is not a Labeler, or *open_stream* is not callable.
        ValueError: *ping_seconds* is not positive.

    Upstream errors (at open or mid-stream) become one ``error`` event, after which the
    stream ends; a stream of ``str`` cut short by an error is aborted and recorded.

    .. versionadded:: 0.3.0
    """
    return AIGCEventStream(
        labeler,
        open_stream,
        context=context,
        ping_seconds=ping_seconds,
        close_timeout=close_timeout,
        headers=headers,
    )
