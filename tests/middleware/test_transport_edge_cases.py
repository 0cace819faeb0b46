"""
The labeling transports on the paths a user hits less often: the inner transport failing, bodies that
break or end early, bodies arriving in small pieces, the async client's variants of each, a label that
leaves nothing for the end of a stream, and the transport's own construction, ``repr`` and ``close``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.audit.records import AuditRecord
from aigclabel.middleware import httpx as mw_httpx
from aigclabel.middleware import httpx2 as mw_httpx2

from tests.helpers import CHAIN_KEY, KEY, PRODUCER, visible
from tests.middleware.upstream import Scenario, handler, sse_events

URL = "http://upstream.test/v1/chat/completions"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
REQUEST: Any = {"model": "gpt-4o-mini", "messages": MESSAGES}
STREAM_REQUEST: Any = {**REQUEST, "stream": True}
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
LABEL = "[AI-generated content · 本内容由AI生成]"
MODULES = pytest.mark.parametrize(
    ("lib", "module"), [(httpx, mw_httpx), (httpx2, mw_httpx2)], ids=["httpx", "httpx2"]
)


class _Pieces:
    """
    A response body sent *size* bytes at a time, optionally breaking after *limit* bytes.
    """

    def __init__(self, lib: ModuleType, body: bytes, size: int, limit: int | None = None) -> None:
        self._lib = lib
        self._body = body if limit is None else body[:limit]
        self._size = size
        self._broken = limit is not None

    def _chunks(self) -> list[bytes]:
        return [self._body[i : i + self._size] for i in range(0, len(self._body), self._size)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()
        if self._broken:
            raise self._lib.ReadError("[Errno 104] Connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk
        if self._broken:
            raise self._lib.ReadError("[Errno 104] Connection reset by peer")

    def close(self) -> None:
        """
        Nothing to release.
        """

    async def aclose(self) -> None:
        """
        Nothing to release.
        """


def _stream_class(lib: ModuleType) -> type:
    return type(f"{lib.__name__}Pieces", (_Pieces, lib.SyncByteStream, lib.AsyncByteStream), {})


def _upstream_body(scenario: Scenario, request: Any) -> tuple[bytes, str]:
    """
    `(body, content type)` the fake upstream sends for *request* (a JSON payload).
    """
    response = handler(httpx2, scenario)(httpx2.Request("POST", URL, json=request))
    return response.read(), response.headers["content-type"]


def _pieces(
    lib: ModuleType,
    request: Any,
    size: int,
    *,
    limit: int | None = None,
    content_type: str | None = None,
    scenario: Scenario | None = None,
) -> Any:
    """
    A mock transport answering with the upstream's body for *request*, *size* bytes at a time.
    """
    body, upstream_type = _upstream_body(scenario or Scenario(text=TEXT), request)
    cls = _stream_class(lib)

    def answer(req: Any) -> Any:
        headers = {"content-type": content_type or upstream_type}
        return lib.Response(200, headers=headers, stream=cls(lib, body, size, limit))

    return lib.MockTransport(answer)


def _content(body: bytes) -> str:
    return str(json.loads(body)["choices"][0]["message"]["content"])


def _streamed_text(body: bytes) -> str:
    out = []
    for _, data in sse_events(body):
        if data.startswith("{"):
            out += [c["delta"].get("content") or "" for c in json.loads(data)["choices"]]
    return "".join(out)


class _Failing:
    """
    An inner transport that raises *error* for every request, sync and async.
    """

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def handle_request(self, request: Any) -> Any:
        self.calls += 1
        raise self.error

    async def handle_async_request(self, request: Any) -> Any:
        self.calls += 1
        raise self.error

    def close(self) -> None:
        """
        Nothing to release.
        """

    async def aclose(self) -> None:
        """
        Nothing to release.
        """


class _Closable:
    """
    An inner transport that notes whether it was closed.
    """

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


# --- construction ---------------------------------------------------------------------------------------


@MODULES
def test_an_unknown_reasoning_policy_is_refused_by_the_transport(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    `LabelingTransport(..., reasoning=...)` takes "label" or "pass" only, sync and async.
    """
    inner = handler(lib, Scenario()).transport()

    with pytest.raises(ValueError, match="reasoning must be 'label' or 'pass', not 'hide'"):
        module.LabelingTransport(inner, labeler, reasoning="hide")
    with pytest.raises(ValueError, match="reasoning must be 'label' or 'pass', not 'hide'"):
        module.AsyncLabelingTransport(inner, labeler, reasoning="hide")


@MODULES
def test_repr_names_the_wrapped_transport_and_the_labeler(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    The transport's `repr` shows its own class, the transport it wraps and its labeler.
    """
    inner = handler(lib, Scenario()).transport()

    text = repr(module.LabelingTransport(inner, labeler))

    assert f"<{module.__name__}.LabelingTransport {inner!r} {labeler!r}>" == text


@MODULES
def test_close_transport_false_leaves_the_wrapped_transport_open(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    With `close_transport=False`, closing the sync or async labeling transport leaves the inner one open.
    """
    sync_inner, async_inner = _Closable(), _Closable()

    module.LabelingTransport(sync_inner, labeler, close_transport=False).close()
    asyncio.run(module.AsyncLabelingTransport(async_inner, labeler, close_transport=False).aclose())

    assert (False, False) == (sync_inner.closed, async_inner.closed)


# --- the inner transport fails ----------------------------------------------------------------------------


@MODULES
def test_an_error_of_the_inner_transport_propagates_unchanged(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    When the wrapped transport raises before any response (here a connect error), the client gets that error.
    """
    error = lib.ConnectError("[Errno 111] Connection refused")
    with (
        lib.Client(transport=module.LabelingTransport(_Failing(error), labeler)) as client,
        pytest.raises(lib.ConnectError) as caught,
    ):
        client.post(URL, json=REQUEST)

    assert error is caught.value


@MODULES
def test_an_error_of_the_inner_async_transport_propagates_unchanged(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    When the wrapped async transport raises before any response, the async client gets that error.
    """
    error = lib.ConnectError("[Errno 111] Connection refused")

    async def main() -> None:
        async with lib.AsyncClient(
            transport=module.AsyncLabelingTransport(_Failing(error), labeler)
        ) as client:
            await client.post(URL, json=REQUEST)

    with pytest.raises(lib.ConnectError) as caught:
        asyncio.run(main())

    assert error is caught.value


# --- the async client on the one-shot paths ---------------------------------------------------------------


@MODULES
def test_an_async_error_status_passes_through_untouched(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A non-2xx answer to the async client is returned byte for byte.
    """
    upstream = handler(lib, Scenario(status=429))
    expected = upstream(httpx2.Request("POST", URL, json=REQUEST)).read() if lib is httpx2 else None

    async def main() -> tuple[int, bytes]:
        transport = module.AsyncLabelingTransport(upstream.transport(), labeler)
        async with lib.AsyncClient(transport=transport) as client:
            response = await client.post(URL, json=REQUEST)
            return response.status_code, await response.aread()

    status, body = asyncio.run(main())

    assert (429, "rate_limit_exceeded") == (status, json.loads(body)["error"]["code"])
    assert expected is None or expected == body


@MODULES
def test_an_async_empty_body_in_pieces_passes_through(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A 2xx body of only whitespace, read by the async client in pieces, is returned as sent (nothing to label).
    """
    cls = _stream_class(lib)
    inner = lib.MockTransport(lambda req: lib.Response(200, stream=cls(lib, b" \r\n\t \n ", 2)))

    async def main() -> bytes:
        async with lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client:
            return (await client.post(URL, json=REQUEST)).content

    assert b" \r\n\t \n " == asyncio.run(main())


@MODULES
def test_a_json_body_that_breaks_mid_way_raises_the_read_error(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A JSON completion whose connection drops mid-body raises the library's `ReadError`; nothing is returned.
    """
    inner = _pieces(lib, REQUEST, 64, limit=200)

    with (
        lib.Client(transport=module.LabelingTransport(inner, labeler)) as client,
        pytest.raises(lib.ReadError, match="Connection reset"),
    ):
        client.post(URL, json=REQUEST)


@MODULES
def test_an_async_json_body_that_breaks_mid_way_raises_the_read_error(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    The same dropped JSON body read by the async client raises the library's `ReadError`.
    """
    inner = _pieces(lib, REQUEST, 64, limit=200)

    async def main() -> None:
        async with lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client:
            await client.post(URL, json=REQUEST)

    with pytest.raises(lib.ReadError, match="Connection reset"):
        asyncio.run(main())


@MODULES
def test_an_async_json_body_in_small_pieces_is_labeled(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A JSON completion that reaches the async client 3 bytes at a time is labeled whole.
    """
    inner = _pieces(lib, REQUEST, 3)

    async def main() -> bytes:
        async with lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client:
            return (await client.post(URL, json=REQUEST)).content

    content = _content(asyncio.run(main()))
    assert ("confirmed", TEXT) == (verify(content, key=KEY).tier, visible(content)[: len(TEXT)])


# --- streams --------------------------------------------------------------------------------------------


@MODULES
def test_an_sse_body_is_labeled_once_however_often_it_is_iterated(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    Iterating the labeled SSE body a second time yields nothing: the client never gets the stream twice.
    """
    transport = module.LabelingTransport(handler(lib, Scenario(text=TEXT)).transport(), labeler)
    response = transport.handle_request(lib.Request("POST", URL, json=STREAM_REQUEST))

    first = b"".join(response.stream)
    second = b"".join(response.stream)

    assert ("confirmed", b"") == (verify(_streamed_text(first), key=KEY).tier, second)


@MODULES
def test_an_async_sse_body_is_labeled_once_however_often_it_is_iterated(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    Iterating the async labeled SSE body a second time yields nothing.
    """
    transport = module.AsyncLabelingTransport(handler(lib, Scenario(text=TEXT)).transport(), labeler)

    async def main() -> tuple[bytes, bytes]:
        response = await transport.handle_async_request(lib.Request("POST", URL, json=STREAM_REQUEST))
        first = b"".join([chunk async for chunk in response.stream])
        second = b"".join([chunk async for chunk in response.stream])
        return first, second

    first, second = asyncio.run(main())

    assert ("confirmed", b"") == (verify(_streamed_text(first), key=KEY).tier, second)


@MODULES
def test_an_async_stream_split_mid_event_is_labeled(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A stream that reaches the async client 7 bytes at a time (events split anywhere) is labeled.
    """
    inner = _pieces(lib, STREAM_REQUEST, 7)

    async def main() -> bytes:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST) as response,
        ):
            return await response.aread()

    text = _streamed_text(asyncio.run(main()))
    assert ("confirmed", TEXT) == (verify(text, key=KEY).tier, visible(text)[: len(TEXT)])


@MODULES
def test_an_async_stream_that_breaks_raises_the_read_error(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    An SSE stream whose connection drops mid-way raises the library's `ReadError` out of the async client.
    """
    inner = handler(lib, Scenario(text=TEXT, break_after=4)).transport()

    async def main() -> None:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST) as response,
        ):
            await response.aread()

    with pytest.raises(lib.ReadError, match="Connection reset"):
        asyncio.run(main())


@MODULES
def test_an_announced_json_body_of_an_async_stream_is_labeled_as_json(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A whole JSON completion typed `text/event-stream` in answer to an async stream request, sent in pieces,
    is labeled as the JSON it is.
    """
    inner = _pieces(lib, REQUEST, 5, content_type="text/event-stream")

    async def main() -> bytes:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST) as response,
        ):
            return await response.aread()

    content = _content(asyncio.run(main()))
    assert ("confirmed", TEXT) == (verify(content, key=KEY).tier, visible(content)[: len(TEXT)])


@MODULES
def test_an_announced_stream_in_pieces_is_labeled(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    A requested stream whose first bytes arrive 2 at a time (the sniffer needs several) is labeled.
    """
    inner = _pieces(lib, STREAM_REQUEST, 2)

    with (
        lib.Client(transport=module.LabelingTransport(inner, labeler)) as client,
        client.stream("POST", URL, json=STREAM_REQUEST) as response,
    ):
        text = _streamed_text(response.read())

    assert ("confirmed", TEXT) == (verify(text, key=KEY).tier, visible(text)[: len(TEXT)])


@MODULES
def test_a_label_at_the_start_without_marks_adds_no_final_event(lib: ModuleType, module: ModuleType) -> None:
    """
    With `placement="start"` and no marks, the label leads the first delta and the async stream ends as sent.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="start", marks=False))
    inner = handler(lib, Scenario(text=TEXT)).transport()
    upstream_events = sse_events(_upstream_body(Scenario(text=TEXT), STREAM_REQUEST)[0])

    async def main() -> bytes:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST) as response,
        ):
            return await response.aread()

    body = asyncio.run(main())

    assert (len(upstream_events), f"{LABEL}\n\n{TEXT}") == (len(sse_events(body)), _streamed_text(body))


class _ListSink:
    """
    A record sink keeping every record in a list.
    """

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.records.append(record)
        return record

    def close(self) -> None:
        """
        Nothing to release.
        """


@MODULES
def test_an_async_opted_out_stream_in_pieces_is_recorded_when_opened_and_completed(
    lib: ModuleType, module: ModuleType
) -> None:
    """
    An opted-out stream read by the async client in small pieces is released without the visible label; the
    sink gets its `generated` record and, once it ends, its `completed` record.
    """
    sink = _ListSink()
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
    )
    labeler = Labeler(policy, sink=sink)
    inner = _pieces(lib, STREAM_REQUEST, 7)
    headers = {"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1"}

    async def main() -> bytes:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST, headers=headers) as response,
        ):
            return await response.aread()

    text = _streamed_text(asyncio.run(main()))

    assert (TEXT, False, [("generated", "u-1"), ("completed", "u-1")]) == (
        visible(text),
        LABEL in text,
        [(record.kind, record.user) for record in sink.records],
    )
