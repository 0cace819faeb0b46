"""
The request path fails closed (issue 8): every 2xx body a client SDK reads text from is labeled, or raises.

Each test is one of the attacks the issue reproduced: a mislabelled Content-Type, a body the rewriter
cannot parse, a stream that ends with a `[DONE]` variant or a clean close and no final event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from aigclabel import Labeler, verify
from aigclabel.middleware import UnlabelableResponseError, wrap
from aigclabel.middleware.sniff import EMPTY, JSON, OTHER, SSE, Sniffer

from tests.helpers import KEY, visible
from tests.middleware.upstream import Scenario, handler, sse_events

MODEL = "gpt-4o-mini"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
LABEL_PHRASES = ("AI-generated content", "本内容由人工智能生成")
#: Content-Types the openai SDK parses a completion from (or streams from) although they are not JSON's.
WRONG_TYPES = [
    "text/plain",
    "application/problem+json",
    "application/vnd.example+json",
    "text/json",
    "application/octet-stream",
    "text/html; charset=utf-8",
    None,
]

Handler = Callable[[Any], Any]


def _labeled(text: str | None) -> tuple[str, bool]:
    """
    `(tier, explicit label present)` of a text.
    """
    assert text is not None
    return verify(text, key=KEY).tier, any(phrase in visible(text) for phrase in LABEL_PHRASES)


def _openai(fn: Handler, labeler: Labeler, **options: Any) -> openai.OpenAI:
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(fn)),
    )
    return wrap(client, labeler, **options)


def _anthropic(fn: Handler, labeler: Labeler) -> anthropic.Anthropic:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://upstream.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(fn)),
    )
    return wrap(client, labeler)


def _retyped(content_type: str | None, scenario: Scenario | None = None) -> Handler:
    """
    The fake upstream, answering with *content_type* (none at all for `None`).
    """
    source = handler(httpx2, scenario or Scenario(text=TEXT))

    def answer(request: Any) -> Any:
        response = source(request)
        headers = {} if content_type is None else {"content-type": content_type}
        return httpx2.Response(response.status_code, headers=headers, content=response.read())

    return answer


def _replying(body: bytes, content_type: str | None = "application/json", status: int = 200) -> Handler:
    headers = {} if content_type is None else {"content-type": content_type}
    return lambda request: httpx2.Response(status, headers=headers, content=body)


def _chat_stream_text(client: openai.OpenAI) -> str:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


# --- any Content-Type -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", WRONG_TYPES)
def test_chat_completion_under_any_content_type_is_labeled(
    labeler: Labeler, content_type: str | None
) -> None:
    """
    A JSON completion under a Content-Type that is not `application/json` reaches the SDK labeled.
    """
    client = _openai(_retyped(content_type), labeler)

    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert ("confirmed", True) == _labeled(completion.choices[0].message.content)


@pytest.mark.parametrize("content_type", WRONG_TYPES)
def test_chat_stream_under_any_content_type_is_labeled(labeler: Labeler, content_type: str | None) -> None:
    """
    An SSE stream under a Content-Type that is not `text/event-stream` reaches the SDK labeled.
    """
    client = _openai(_retyped(content_type), labeler)

    assert ("confirmed", True) == _labeled(_chat_stream_text(client))


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_responses_under_a_wrong_content_type_are_labeled(labeler: Labeler, content_type: str | None) -> None:
    """
    A Responses object and a Responses stream under a wrong Content-Type are labeled.
    """
    client = _openai(_retyped(content_type), labeler)

    response = client.responses.create(model=MODEL, input="Say hello.")
    stream = client.responses.create(model=MODEL, input="Say hello.", stream=True)
    streamed = "".join(ev.delta for ev in stream if ev.type == "response.output_text.delta")

    assert [("confirmed", True)] * 2 == [_labeled(response.output_text), _labeled(streamed)]


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_anthropic_message_under_a_wrong_content_type_is_labeled(
    labeler: Labeler, content_type: str | None
) -> None:
    """
    An Anthropic message under a wrong Content-Type is labeled.
    """
    client = _anthropic(_retyped(content_type), labeler)

    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=MESSAGES)

    assert ("confirmed", True) == _labeled(message.content[0].text)  # type: ignore[union-attr]


def test_json_event_stream_answer_to_a_plain_request_is_labeled(labeler: Labeler) -> None:
    """
    A JSON completion typed `text/event-stream` (the SDK parses it anyway) is labeled as JSON.
    """
    client = _openai(_retyped("text/event-stream"), labeler)

    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert ("confirmed", True) == _labeled(completion.choices[0].message.content)


def test_json_body_in_a_requested_event_stream_is_labeled(labeler: Labeler) -> None:
    """
    A whole JSON completion sent as the body of a requested `text/event-stream` response is labeled.
    """
    body = handler(httpx2, Scenario(text=TEXT))(
        httpx2.Request("POST", "http://upstream.test/v1/chat/completions", json={"messages": MESSAGES})
    ).read()
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/event-stream")))
    request = {"model": MODEL, "messages": MESSAGES, "stream": True}

    with wrap(client, labeler).stream("POST", "http://upstream.test/v1/chat/completions", json=request) as r:
        doc = json.loads(r.read())

    assert ("confirmed", True) == _labeled(doc["choices"][0]["message"]["content"])


def test_json_after_a_byte_order_mark_is_labeled(labeler: Labeler) -> None:
    """
    A JSON completion behind a UTF-8 byte order mark (which `json.loads` of bytes accepts) is labeled.
    """
    source = _retyped("text/plain")

    def with_bom(request: Any) -> Any:
        return httpx2.Response(200, content=b"\xef\xbb\xbf" + source(request).read())

    completion = _openai(with_bom, labeler).chat.completions.create(model=MODEL, messages=MESSAGES)

    assert ("confirmed", True) == _labeled(completion.choices[0].message.content)


def test_content_parts_list_is_labeled(labeler: Labeler) -> None:
    """
    A chat `message.content` sent as a list of text parts (some compatible servers do) is labeled per part.
    """
    body = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": [{"type": "text", "text": TEXT}]}}
        ]
    }
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(json.dumps(body).encode())))

    doc = wrap(client, labeler).post("http://upstream.test/v1/chat/completions", json={}).json()

    assert ("confirmed", True) == _labeled(doc["choices"][0]["message"]["content"][0]["text"])


def test_async_client_labels_json_and_sse_under_wrong_types(labeler: Labeler) -> None:
    """
    The async transport sniffs too: a text/plain completion and an untyped stream are labeled.
    """
    import asyncio

    def client(content_type: str | None) -> openai.AsyncOpenAI:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(_retyped(content_type)))
        return wrap(
            openai.AsyncOpenAI(
                api_key="test", base_url="http://upstream.test/v1", max_retries=0, http_client=http
            ),
            labeler,
        )

    async def run() -> list[str]:
        completion = await client("text/plain").chat.completions.create(model=MODEL, messages=MESSAGES)
        stream = await client(None).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        return [completion.choices[0].message.content or "", streamed]

    assert [("confirmed", True)] * 2 == [_labeled(text) for text in asyncio.run(run())]


def test_legacy_httpx_client_sniffs_a_mistyped_completion(labeler: Labeler) -> None:
    """
    A plain `httpx` client gets a `text/plain` JSON completion labeled.
    """
    import httpx

    source = handler(httpx, Scenario(text=TEXT))

    def answer(request: Any) -> Any:
        return httpx.Response(200, headers={"content-type": "text/plain"}, content=source(request).read())

    client = wrap(httpx.Client(transport=httpx.MockTransport(answer)), labeler)
    doc = client.post("http://upstream.test/v1/chat/completions", json={"messages": MESSAGES}).json()

    assert ("confirmed", True) == _labeled(doc["choices"][0]["message"]["content"])


def test_gzip_completion_under_a_wrong_type_is_sniffed_after_decoding(labeler: Labeler) -> None:
    """
    A gzip-encoded JSON completion typed `text/plain` is decoded, sniffed and labeled.
    """
    import gzip

    source = handler(httpx2, Scenario(text=TEXT))

    def answer(request: Any) -> Any:
        body = gzip.compress(source(request).read())
        return httpx2.Response(
            200, headers={"content-type": "text/plain", "content-encoding": "gzip"}, content=body
        )

    completion = _openai(answer, labeler).chat.completions.create(model=MODEL, messages=MESSAGES)

    assert ("confirmed", True) == _labeled(completion.choices[0].message.content)


# --- refused ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"id": "chatcmpl-1", "choices": [{"message": {"content": "Hel', "not valid JSON"),
        (b'{"id": "chatcmpl-1", "object": "chat.completion"}', "no `choices` list"),
        (b'{"choices": [{"index": 0, "text": "Hello"}]}', "no `message` object"),
        (b'{"choices": [{"message": {"content": 42}}]}', "of type int"),
        (b'"Hello, a JSON string"', "neither a JSON object nor an SSE stream"),
        (b"Hello, plain words", "neither a JSON object nor an SSE stream"),
        (b'[{"message": {"content": "Hello"}}]', "JSON list, not an object"),
    ],
)
def test_unlabelable_body_raises_through_the_sdk(labeler: Labeler, body: bytes, reason: str) -> None:
    """
    A 2xx body the rewriter cannot label raises `UnlabelableResponseError` out of the SDK call, unretried.
    """
    calls: list[int] = []

    def answer(request: Any) -> Any:
        calls.append(1)
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    client = _openai(answer, labeler)

    with pytest.raises(UnlabelableResponseError, match=reason):
        client.with_options(max_retries=2).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert 1 == len(calls)


def test_refusal_names_endpoint_status_and_content_type(labeler: Labeler) -> None:
    """
    The error says which endpoint, status and Content-Type it refused, and what to do.
    """
    client = _openai(_replying(b'{"output": "Hello"}', "application/problem+json", 201), labeler)

    with pytest.raises(UnlabelableResponseError) as caught:
        client.responses.create(model=MODEL, input="hi")

    message = str(caught.value)
    assert (True, True, True, True) == (
        "responses endpoint" in message,
        "201" in message,
        "application/problem+json" in message,
        "Make the upstream" in message,
    )


def test_refused_response_in_an_async_client_raises(labeler: Labeler) -> None:
    """
    The async transport refuses an unlabelable body the same way.
    """
    import asyncio

    client = wrap(
        openai.AsyncOpenAI(
            api_key="test",
            base_url="http://upstream.test/v1",
            max_retries=0,
            http_client=httpx2.AsyncClient(
                transport=httpx2.MockTransport(_replying(b"Hello there", "text/plain"))
            ),
        ),
        labeler,
    )

    with pytest.raises(UnlabelableResponseError, match="neither"):
        asyncio.run(client.chat.completions.create(model=MODEL, messages=MESSAGES))


# --- passed through ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [(204, b""), (200, b""), (200, b" \r\n\t ")])
def test_body_without_text_passes_through(labeler: Labeler, status: int, body: bytes) -> None:
    """
    An empty or whitespace-only 2xx body cannot carry text: it passes through unchanged.
    """
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/plain", status)))

    response = wrap(client, labeler).post("http://upstream.test/v1/chat/completions", json={})

    assert (status, body, None) == (response.status_code, response.content, response.headers.get("aigc"))


def test_error_status_with_a_completion_body_passes_through(labeler: Labeler) -> None:
    """
    A non-2xx response passes through byte for byte, whatever its body looks like.
    """
    body = b'{"choices": [{"message": {"content": "not an answer"}}]}'
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(body, "text/plain", 500)))

    response = wrap(client, labeler).post("http://upstream.test/v1/chat/completions", json={})

    assert (500, body) == (response.status_code, response.content)


def test_plain_text_on_an_unlabeled_endpoint_passes_through(labeler: Labeler) -> None:
    """
    Endpoints that return no generated text (here audio transcription as text) are never sniffed.
    """
    client = httpx2.Client(transport=httpx2.MockTransport(_replying(b"spoken words", "text/plain")))

    response = wrap(client, labeler).post("http://upstream.test/v1/audio/transcriptions", content=b"")

    assert b"spoken words" == response.content


# --- streams that end without a final event ---------------------------------------------------------------


def _chat_stream_ending(ending: bytes) -> Handler:
    """
    A chat stream whose deltas never carry a finish_reason, ended by *ending*.
    """
    source = handler(httpx2, Scenario(text=TEXT, chunk_size=7))

    def answer(request: Any) -> Any:
        events = sse_events(source(request).read())
        kept = [
            d for _, d in events if d != "[DONE]" and json.loads(d)["choices"][0]["finish_reason"] is None
        ]
        body = b"".join(f"data: {d}\n\n".encode() for d in kept) + ending
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return answer


@pytest.mark.parametrize(
    "ending",
    [
        b"data: [DONE] \n\n",
        b"data: [DONE]\t\n\n",
        b"data: [DONE]  \r\n\r\n",
        b"data:[DONE]\n\n",
        b"data: [DONE]x\n\n",
        b"data: [DONE]\ndata: more\n\n",
        b"event: done\ndata: [DONE] \n\n",
        b"data: [DONE] ",  # unterminated, then a clean close
    ],
)
def test_chat_stream_ended_by_a_done_variant_gets_its_end_label(labeler: Labeler, ending: bytes) -> None:
    """
    `[DONE]` in any spelling the SDK stops at, without a finish_reason: the text gets its end label and seal.
    """
    client = _openai(_chat_stream_ending(ending), labeler)

    assert ("confirmed", True) == _labeled(_chat_stream_text(client))


def test_chat_stream_closed_cleanly_without_a_finish_gets_its_end_label(labeler: Labeler) -> None:
    """
    A chat stream that just ends (no finish_reason, no `[DONE]`) gets its end label and seal.
    """
    client = _openai(_chat_stream_ending(b""), labeler)

    assert ("confirmed", True) == _labeled(_chat_stream_text(client))


def test_synthesized_final_chunk_carries_the_aigc_object(labeler: Labeler) -> None:
    """
    The synthesized chunk that ends a finish-less stream carries the `aigc` object of its text.
    """
    client = _openai(_chat_stream_ending(b"data: [DONE] \n\n"), labeler)

    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    aigc = (chunks[-1].model_extra or {})["aigc"]
    assert verify(text, key=KEY).produce_id == aigc["items"][0]["produce_id"]


def _truncated(scenario: Scenario, keep: Callable[[str | None, str], bool], ending: bytes = b"") -> Handler:
    source = handler(httpx2, scenario)

    def answer(request: Any) -> Any:
        events = [(e, d) for e, d in sse_events(source(request).read()) if keep(e, d)]
        body = b"".join(((f"event: {e}\n" if e else "") + f"data: {d}\n\n").encode() for e, d in events)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body + ending)

    return answer


@pytest.mark.parametrize("ending", [b"", b"data: [DONE] \n\n"])
def test_responses_stream_without_its_done_events_gets_its_end_label(labeler: Labeler, ending: bytes) -> None:
    """
    A Responses stream cut after its deltas (clean close or `[DONE] `) gets a synthesized
    `response.output_text.done` with the labeled text; the streamed deltas carry the end label.
    """
    fn = _truncated(
        Scenario(text=TEXT, chunk_size=7),
        lambda e, d: "done" not in (e or "") and "completed" not in (e or ""),
        ending,
    )
    events = list(_openai(fn, labeler).responses.create(model=MODEL, input="hi", stream=True))

    deltas = "".join(ev.delta for ev in events if ev.type == "response.output_text.delta")
    (done,) = [ev for ev in events if ev.type == "response.output_text.done"]
    assert (("confirmed", True), deltas) == (_labeled(deltas), done.text)


def test_anthropic_stream_closed_before_its_block_stop_gets_its_end_label(labeler: Labeler) -> None:
    """
    An Anthropic stream that ends cleanly after its text deltas gets the end label in a synthesized delta.
    """
    fn = _truncated(
        Scenario(text=TEXT, chunk_size=7),
        lambda e, d: e in ("message_start", "content_block_start", "content_block_delta"),
    )
    client = _anthropic(fn, labeler)

    stream = client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=MESSAGES, stream=True)
    text = "".join(
        ev.delta.text for ev in stream if ev.type == "content_block_delta" and ev.delta.type == "text_delta"
    )

    assert ("confirmed", True) == _labeled(text)


def test_broken_stream_still_raises_without_an_end_label(labeler: Labeler) -> None:
    """
    A transport error mid-stream still raises the SDK's connection error; the text received has no end label.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, chunk_size=7, break_after=6)), labeler)
    pieces: list[str] = []

    def read() -> None:
        for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            pieces.append(chunk.choices[0].delta.content or "" if chunk.choices else "")

    with pytest.raises(openai.APIConnectionError):
        read()

    text = "".join(pieces)
    assert (True, False) == (TEXT.startswith(visible(text)), _labeled(text)[1])


# --- the sniffer ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "stream", "kind"),
    [
        (b'  \n{"a":1}', False, JSON),
        (b"[1]", False, JSON),
        (b'\xef\xbb\xbf {"a":1}', False, JSON),
        (b"data: {}\n\n", False, SSE),
        (b"event: x\ndata: {}\n\n", False, SSE),
        (b": comment\n\n", False, SSE),
        (b"retry: 10\n\n", False, SSE),
        (b"hello", True, SSE),
        (b"hello", False, OTHER),
        (b'"a string"', False, OTHER),
        (b"", False, EMPTY),
        (b"\r\n \t", False, EMPTY),
    ],
)
def test_sniffer_decides_at_every_split(body: bytes, stream: bool, kind: str) -> None:
    """
    The first bytes decide a body's kind, however they are split into chunks.
    """
    for cut in range(len(body) + 1):
        sniffer = Sniffer(stream=stream)
        decided = sniffer.feed(body[:cut]) or sniffer.feed(body[cut:]) or sniffer.finish()

        assert kind == decided


def test_refusal_error_survives_pickling() -> None:
    """
    `UnlabelableResponseError` pickles (for multiprocessing workers) with its attributes.
    """
    import pickle

    error = UnlabelableResponseError("bad body", endpoint="chat", status_code=200, content_type="text/plain")

    copy = pickle.loads(pickle.dumps(error))

    assert (str(error), "chat", 200, "text/plain") == (
        copy.args[0],
        copy.endpoint,
        copy.status_code,
        copy.content_type,
    )
