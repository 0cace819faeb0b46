"""
`wrap()` around plain `httpx` / `httpx2` clients talking to an OpenAI-compatible server.
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
from aigclabel import Labeler, verify
from aigclabel.middleware import UnlabelableResponseError, wrap

from tests.helpers import KEY, visible
from tests.middleware.upstream import Scenario, Upstream, handler, sse_events

URL = "http://upstream.test/v1/chat/completions"
REQUEST: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
STREAM_REQUEST: Any = {**REQUEST, "stream": True}
TEXT = "A plain HTTP client gets its answer labeled just like the SDKs do."
LIBS = pytest.mark.parametrize("lib", [httpx, httpx2], ids=["httpx", "httpx2"])
MODELS: Any = {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "system"}]}


def _status(text: str) -> str:
    return verify(text, key=KEY).status


def _stream_text(lines: list[str]) -> str:
    """
    The joined `delta.content` of the `data:` lines of a chat stream.
    """
    text = ""
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[len("data: ") :])["choices"]:
                text += choice["delta"].get("content") or ""
    return text


def _final_chunk(lines: list[str]) -> Any:
    """
    The chunk carrying `finish_reason`.
    """
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    (final,) = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] is not None]
    return final


class _Extras:
    """
    The fake upstream plus a `GET /v1/models` list and a plain-text chat answer (`x-plain: 1`).
    """

    def __init__(self, lib: ModuleType, scenario: Scenario) -> None:
        self.lib = lib
        self.upstream = handler(lib, scenario)

    def __call__(self, request: Any) -> Any:
        if request.method == "GET" and request.url.path == "/v1/models":
            body = json.dumps(MODELS, indent=2).encode()
            return self.lib.Response(200, headers={"content-type": "application/json"}, content=body)
        if request.headers.get("x-plain") == "1":
            return self.lib.Response(200, headers={"content-type": "text/plain"}, content=b"plain text reply")
        return self.upstream(request)

    def transport(self) -> Any:
        return self.lib.MockTransport(self)


class _Closing(Upstream):
    """
    The fake upstream whose response bodies record when they are closed.
    """

    def __init__(self, lib: ModuleType, scenario: Scenario) -> None:
        super().__init__(lib, scenario)
        self.closed = 0

    def __call__(self, request: Any) -> Any:
        response = super().__call__(request)
        response.stream = _recording(self.lib)(response.stream, self)
        return response


def _recording(lib: ModuleType) -> type:
    class Recording(lib.SyncByteStream, lib.AsyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, inner: Any, owner: _Closing) -> None:
            self.inner = inner
            self.owner = owner

        def __iter__(self) -> Iterator[bytes]:
            yield from self.inner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self.inner:
                yield chunk

        def close(self) -> None:
            self.owner.closed += 1

        async def aclose(self) -> None:
            self.owner.closed += 1

    return Recording


@pytest.fixture(name="extras")
def _extras_fixture() -> _Extras:
    """
    The extended fake upstream over `httpx2`.
    """
    return _Extras(httpx2, Scenario(text=TEXT))


# --- JSON ---------------------------------------------------------------------------------------------------


@LIBS
def test_json_chat_is_labeled(lib: ModuleType, labeler: Labeler) -> None:
    """
    A POST to the chat endpoint returns content that verifies intact.
    """
    client = wrap(lib.Client(transport=handler(lib, Scenario(text=TEXT)).transport()), labeler)

    assert "intact" == _status(client.post(URL, json=REQUEST).json()["choices"][0]["message"]["content"])


@LIBS
def test_json_chat_has_aigc_body_and_header(lib: ModuleType, labeler: Labeler) -> None:
    """
    The JSON body gains the `aigc` object and the response the `AIGC` header, with one produce id.
    """
    client = wrap(lib.Client(transport=handler(lib, Scenario(text=TEXT)).transport()), labeler)
    response = client.post(URL, json=REQUEST)

    assert (
        response.json()["aigc"]["items"][0]["produce_id"]
        == json.loads(response.headers["aigc"])["AIGC"]["ProduceID"]
    )


@LIBS
def test_json_content_length_matches_the_new_body(lib: ModuleType, labeler: Labeler) -> None:
    """
    The rewritten body's `content-length` is its own length.
    """
    client = wrap(lib.Client(transport=handler(lib, Scenario(text=TEXT)).transport()), labeler)
    response = client.post(URL, json=REQUEST)

    assert str(len(response.content)) == response.headers["content-length"]


def test_async_json_chat_is_labeled(labeler: Labeler) -> None:
    """
    `httpx2.AsyncClient` gets a labeled JSON body.
    """
    upstream = handler(httpx2, Scenario(text=TEXT))

    async def run() -> Any:
        async with wrap(httpx2.AsyncClient(transport=upstream.transport()), labeler) as client:
            return (await client.post(URL, json=REQUEST)).json()

    assert "intact" == _status(asyncio.run(run())["choices"][0]["message"]["content"])


def test_mounted_transports_are_wrapped(labeler: Labeler) -> None:
    """
    A transport mounted for the upstream's origin is wrapped as well.
    """
    transport = handler(httpx, Scenario(text=TEXT)).transport()
    client = wrap(httpx.Client(mounts={"http://upstream.test": transport}), labeler)

    assert "intact" == _status(client.post(URL, json=REQUEST).json()["choices"][0]["message"]["content"])


# --- streams ------------------------------------------------------------------------------------------------


@LIBS
@pytest.mark.parametrize("chunk_size", [1, 6])
def test_stream_lines_join_to_a_labeled_text(lib: ModuleType, labeler: Labeler, chunk_size: int) -> None:
    """
    `client.stream(...)` + `iter_lines()` gives deltas that verify intact.
    """
    client = wrap(
        lib.Client(transport=handler(lib, Scenario(text=TEXT, chunk_size=chunk_size)).transport()), labeler
    )
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        lines = list(response.iter_lines())

    assert "intact" == _status(_stream_text(lines))


@LIBS
def test_stream_final_chunk_carries_aigc(lib: ModuleType, labeler: Labeler) -> None:
    """
    The `finish_reason` chunk carries the `aigc` object; the stream still ends with `[DONE]`.
    """
    client = wrap(lib.Client(transport=handler(lib, Scenario(text=TEXT)).transport()), labeler)
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        lines = [line for line in response.iter_lines() if line]

    assert (verify(_stream_text(lines), key=KEY).produce_id, "data: [DONE]") == (
        _final_chunk(lines)["aigc"]["items"][0]["produce_id"],
        lines[-1],
    )


def test_stream_keeps_the_event_stream_content_type(labeler: Labeler) -> None:
    """
    A labeled stream stays `text/event-stream` and gets no `AIGC` header.
    """
    client = wrap(httpx2.Client(transport=handler(httpx2, Scenario()).transport()), labeler)
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        response.read()

    assert ("text/event-stream; charset=utf-8", None) == (
        response.headers["content-type"],
        response.headers.get("aigc"),
    )


def test_chinese_stream_shows_the_json_visible_text(labeler: Labeler) -> None:
    """
    A Chinese answer streamed one character at a time shows the visible text of the JSON answer.
    """
    scenario = Scenario(text="人工智能生成的回答，一个字一个字地流式输出。这里还有第二句话。", chunk_size=1)
    client = wrap(httpx2.Client(transport=handler(httpx2, scenario).transport()), labeler)
    json_text = client.post(URL, json=REQUEST).json()["choices"][0]["message"]["content"]
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        stream_text = _stream_text(list(response.iter_lines()))

    assert (visible(json_text), "intact") == (visible(stream_text), _status(stream_text))


def test_crlf_stream_is_labeled(labeler: Labeler) -> None:
    """
    An upstream that ends SSE lines with CRLF is decoded and labeled all the same.
    """
    source = handler(httpx2, Scenario(text=TEXT))

    def crlf(request: Any) -> Any:
        response = source(request)
        body = response.read().replace(b"\n", b"\r\n")
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = wrap(httpx2.Client(transport=httpx2.MockTransport(crlf)), labeler)
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        lines = list(response.iter_lines())

    assert "intact" == _status(_stream_text(lines))


class _Slices(httpx2.SyncByteStream):
    """
    A body sent in slices of *size* bytes, cutting through events, lines and UTF-8 sequences.
    """

    def __init__(self, body: bytes, size: int) -> None:
        self.body = body
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), self.size):
            yield self.body[start : start + self.size]


@pytest.mark.parametrize("size", [1, 7, 64])
def test_stream_sliced_anywhere_is_labeled(labeler: Labeler, size: int) -> None:
    """
    An upstream body cut into arbitrary byte slices (mid-event, mid-character) is labeled all the same.
    """
    scenario = Scenario(text="切分的字节流：中文与English混合的回答。", chunk_size=4)
    source = handler(httpx2, scenario)

    def sliced(request: Any) -> Any:
        body = source(request).read()
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Slices(body, size))

    client = wrap(httpx2.Client(transport=httpx2.MockTransport(sliced)), labeler)
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        text = _stream_text(list(response.iter_lines()))

    assert (True, "intact") == (visible(text).startswith(scenario.output_text), _status(text))


def test_async_stream_lines_join_to_a_labeled_text(labeler: Labeler) -> None:
    """
    `httpx2.AsyncClient.stream` + `aiter_lines()` gives deltas that verify intact.
    """
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=3))

    async def run() -> list[str]:
        client = wrap(httpx2.AsyncClient(transport=upstream.transport()), labeler)
        async with client.stream("POST", URL, json=STREAM_REQUEST) as response:
            return [line async for line in response.aiter_lines()]

    assert "intact" == _status(_stream_text(asyncio.run(run())))


@LIBS
def test_cancelled_async_stream_closes_the_upstream(lib: ModuleType, labeler: Labeler) -> None:
    """
    Breaking out of `aiter_lines()` early closes the upstream body.
    """
    upstream = _Closing(lib, Scenario(text=TEXT, chunk_size=1))

    async def run() -> int:
        client = wrap(lib.AsyncClient(transport=upstream.transport()), labeler)
        async with client.stream("POST", URL, json=STREAM_REQUEST) as response:
            async for line in response.aiter_lines():
                if line:
                    break
        return upstream.closed

    assert 1 == asyncio.run(run())


def test_cancelled_sync_stream_closes_the_upstream(labeler: Labeler) -> None:
    """
    Leaving a sync stream early closes the upstream body.
    """
    upstream = _Closing(httpx2, Scenario(text=TEXT, chunk_size=1))
    client = wrap(httpx2.Client(transport=upstream.transport()), labeler)
    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        next(response.iter_lines())

    assert 1 == upstream.closed


def test_broken_stream_raises_the_read_error_without_an_end_label(labeler: Labeler) -> None:
    """
    A dropped stream raises the library's `ReadError`; the text received has no end label.
    """
    client = wrap(
        httpx.Client(transport=handler(httpx, Scenario(text=TEXT, break_after=6)).transport()), labeler
    )
    lines: list[str] = []

    with client.stream("POST", URL, json=STREAM_REQUEST) as response, pytest.raises(httpx.ReadError):
        lines.extend(response.iter_lines())
    text = _stream_text(lines)

    assert (True, False) == (TEXT.startswith(visible(text)), "AI-generated content" in text)


def test_stream_ending_cleanly_before_the_final_event_gets_the_end_label(labeler: Labeler) -> None:
    """
    An upstream stream that ends cleanly without its finish chunk or `[DONE]` still gets its end label.
    """
    source = handler(httpx2, Scenario(text=TEXT))

    def truncated(request: Any) -> Any:
        events = sse_events(source(request).read())[:5]
        body = b"".join(f"data: {data}\n\n".encode() for _, data in events)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = wrap(httpx2.Client(transport=httpx2.MockTransport(truncated)), labeler)

    with client.stream("POST", URL, json=STREAM_REQUEST) as response:
        text = _stream_text(list(response.iter_lines()))

    assert (True, "confirmed") == ("AI-generated content" in text, verify(text, key=KEY).tier)


# --- pass-through -------------------------------------------------------------------------------------------


def test_models_list_is_untouched_byte_for_byte(extras: _Extras, labeler: Labeler) -> None:
    """
    `GET /v1/models` returns the upstream's bytes and headers, with no `AIGC` header.
    """
    plain = httpx2.Client(transport=extras.transport()).get("http://upstream.test/v1/models")
    wrapped = wrap(httpx2.Client(transport=extras.transport()), labeler).get("http://upstream.test/v1/models")

    assert (plain.content, list(plain.headers.multi_items())) == (
        wrapped.content,
        list(wrapped.headers.multi_items()),
    )


def test_non_generation_post_is_untouched(labeler: Labeler) -> None:
    """
    A POST to another endpoint (embeddings) passes through as the upstream answered it.
    """
    upstream = handler(httpx2, Scenario())
    plain = httpx2.Client(transport=upstream.transport()).post("http://upstream.test/v1/embeddings", json={})
    wrapped = wrap(httpx2.Client(transport=upstream.transport()), labeler).post(
        "http://upstream.test/v1/embeddings", json={}
    )

    assert (plain.status_code, plain.content) == (wrapped.status_code, wrapped.content)


def test_plain_text_answer_is_refused(extras: _Extras, labeler: Labeler) -> None:
    """
    A 200 chat answer that is neither JSON nor SSE may be model text: it raises and is never released.
    """
    client = wrap(httpx2.Client(transport=extras.transport()), labeler)

    with pytest.raises(UnlabelableResponseError, match="neither a JSON object nor an SSE stream"):
        client.post(URL, json=REQUEST, headers={"x-plain": "1"})


def test_json_that_is_not_an_object_is_refused(labeler: Labeler) -> None:
    """
    A JSON array from a generation endpoint raises, naming the endpoint, status and Content-Type.
    """
    body = b'[{"not": "a completion"}]'
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "application/json"}, content=body)
    )
    client = wrap(httpx2.Client(transport=transport), labeler)

    with pytest.raises(UnlabelableResponseError) as caught:
        client.post(URL, json=REQUEST)

    assert ("chat", 200, "application/json") == (
        caught.value.endpoint,
        caught.value.status_code,
        caught.value.content_type,
    )


def test_error_body_is_untouched(labeler: Labeler) -> None:
    """
    A 500 answer passes through with the upstream's error body.
    """
    upstream = handler(httpx2, Scenario(status=500))
    plain = httpx2.Client(transport=upstream.transport()).post(URL, json=REQUEST)
    wrapped = wrap(httpx2.Client(transport=upstream.transport()), labeler).post(URL, json=REQUEST)

    assert (500, plain.content) == (wrapped.status_code, wrapped.content)


def test_assistants_thread_message_is_not_labeled(labeler: Labeler) -> None:
    """
    Creating a user message in an Assistants thread is not generation: its body gets no `aigc` object.
    """
    body = {
        "id": "msg_abc",
        "object": "thread.message",
        "role": "user",
        "content": [{"type": "text", "text": {"value": "My own words.", "annotations": []}}],
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    client = wrap(httpx2.Client(transport=transport), labeler)
    response = client.post("http://upstream.test/v1/threads/thread_abc/messages", json={"role": "user"})

    assert (body, None) == (response.json(), response.headers.get("aigc"))


def test_streaming_request_body_is_accepted(labeler: Labeler) -> None:
    """
    A request body given as an iterator of bytes still reaches the upstream and is labeled.
    """
    upstream = handler(httpx2, Scenario(text=TEXT))
    client = wrap(httpx2.Client(transport=upstream.transport()), labeler)
    response = client.post(URL, content=iter([json.dumps(REQUEST).encode()]))

    assert "intact" == _status(response.json()["choices"][0]["message"]["content"])


# --- wrap() itself ------------------------------------------------------------------------------------------


def test_wrap_returns_the_same_client(labeler: Labeler) -> None:
    """
    `wrap()` modifies the client in place and returns it.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario()).transport())

    assert client is wrap(client, labeler)


def test_wrapping_twice_labels_once(labeler: Labeler) -> None:
    """
    Wrapping a wrapped client again is a no-op: the answer carries one label.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario(text=TEXT)).transport())
    wrap(wrap(client, labeler), labeler)
    content = client.post(URL, json=REQUEST).json()["choices"][0]["message"]["content"]

    assert (1, "intact") == (visible(content).count("AI-generated content"), _status(content))


def test_wrapping_twice_keeps_one_labeling_transport(labeler: Labeler) -> None:
    """
    The second `wrap()` leaves the transport as the first one set it.
    """
    client = wrap(httpx2.Client(transport=handler(httpx2, Scenario()).transport()), labeler)
    first = client._transport

    assert first is wrap(client, labeler)._transport


def test_wrap_rejects_other_objects(labeler: Labeler) -> None:
    """
    `wrap(object())` raises `TypeError` naming the supported clients and the alternative.
    """
    with pytest.raises(TypeError, match=r"openai, anthropic and httpx.*not object.*Labeler\.label"):
        wrap(object(), labeler)
