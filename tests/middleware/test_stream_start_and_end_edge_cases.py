"""
How a requested stream starts and ends at the transport: keep-alive blank lines before the first event,
an empty body, a clean end without the final event read by the async client, and an opted-out answer
whose record cannot be written when the policy says to raise.
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
from aigclabel import Labeler, LabelPolicy, OptOutError, verify
from aigclabel.audit import AuditRecord, RecordSinkError
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


def _frames(lib: ModuleType, chunks: list[bytes]) -> Any:
    class Frames(lib.SyncByteStream, lib.AsyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

    return Frames()


def _answering(lib: ModuleType, chunks: list[bytes]) -> Any:
    headers = {"content-type": "text/event-stream; charset=utf-8"}
    return lib.MockTransport(lambda request: lib.Response(200, headers=headers, stream=_frames(lib, chunks)))


def _upstream_stream() -> bytes:
    return handler(httpx2, Scenario(text=TEXT))(httpx2.Request("POST", URL, json=STREAM_REQUEST)).read()


def _text(body: bytes) -> str:
    out = []
    for _, data in sse_events(body):
        if data.startswith("{"):
            out += [c["delta"].get("content") or "" for c in json.loads(data)["choices"]]
    return "".join(out)


def _sync(lib: ModuleType, module: ModuleType, inner: Any, labeler: Labeler) -> bytes:
    with (
        lib.Client(transport=module.LabelingTransport(inner, labeler)) as client,
        client.stream("POST", URL, json=STREAM_REQUEST) as response,
    ):
        return bytes(response.read())


def _async(lib: ModuleType, module: ModuleType, inner: Any, labeler: Labeler) -> bytes:
    async def main() -> bytes:
        async with (
            lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client,
            client.stream("POST", URL, json=STREAM_REQUEST) as response,
        ):
            return bytes(await response.aread())

    return asyncio.run(main())


CLIENTS = pytest.mark.parametrize("read", [_sync, _async], ids=["sync", "async"])


@MODULES
@CLIENTS
def test_keep_alive_blank_lines_before_the_first_event_are_kept(
    lib: ModuleType, module: ModuleType, read: Any, labeler: Labeler
) -> None:
    """
    A stream that opens with blank keep-alive lines, one byte per read, keeps them and is labeled.
    """
    body = b"\n\n\n" + _upstream_stream()
    inner = _answering(lib, [body[i : i + 1] for i in range(len(body))])

    out = read(lib, module, inner, labeler)

    text = _text(out)
    assert (b"\n\n\n", "confirmed", TEXT) == (out[:3], verify(text, key=KEY).tier, visible(text)[: len(TEXT)])


@MODULES
@CLIENTS
def test_an_empty_requested_stream_stays_empty(
    lib: ModuleType, module: ModuleType, read: Any, labeler: Labeler
) -> None:
    """
    A requested stream whose body is empty (the upstream closed at once) reaches the client empty.
    """
    inner = _answering(lib, [])

    assert b"" == read(lib, module, inner, labeler)


@MODULES
@CLIENTS
def test_a_stream_ended_without_its_final_event_gets_a_synthesized_one(
    lib: ModuleType, module: ModuleType, read: Any, labeler: Labeler
) -> None:
    """
    A stream that closes cleanly after its deltas (no finish chunk, no `[DONE]`) gets its end label and seal
    in a synthesized final chunk, sync and async.
    """
    events = sse_events(_upstream_stream())
    deltas = [data for _, data in events if data.startswith("{") and '"finish_reason":null' in data]
    inner = _answering(lib, [f"data: {data}\n\n".encode() for data in deltas])

    out = read(lib, module, inner, labeler)

    text = _text(out)
    last = json.loads(sse_events(out)[-1][1])
    assert ("confirmed", True, True) == (
        verify(text, key=KEY).tier,
        visible(text).endswith(LABEL),
        "aigc" in last,
    )


class _DownSink:
    """
    A record sink whose store is down.
    """

    def __init__(self) -> None:
        self.attempts = 0

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        self.attempts += 1
        raise RecordSinkError("the record store is unavailable")

    def close(self) -> None:
        """
        Nothing to release.
        """


@MODULES
def test_an_opted_out_answer_whose_record_fails_raises_when_the_policy_says_so(
    lib: ModuleType, module: ModuleType
) -> None:
    """
    With `opt_out_on_error="raise"`, an opted-out JSON answer whose record cannot be written raises
    `OptOutError` caused by the sink's `RecordSinkError`, and no text is returned.
    """
    sink = _DownSink()
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
        opt_out_on_error="raise",
    )
    inner = handler(lib, Scenario(text=TEXT)).transport()
    headers = {"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1"}

    with (
        lib.Client(transport=module.LabelingTransport(inner, Labeler(policy, sink=sink))) as client,
        pytest.raises(OptOutError, match="the opt-out record could not be written") as caught,
    ):
        client.post(URL, json=REQUEST, headers=headers)

    assert (1, RecordSinkError) == (sink.attempts, type(caught.value.__cause__))
