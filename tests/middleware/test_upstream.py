"""
Tests for the fake upstream: unwrapped real SDK clients parse every scenario into their typed objects.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from types import ModuleType
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from tests.middleware.upstream import TOOL_ARGUMENTS, Scenario, Upstream, handler, sse_events

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello."}]
CHAT_TOOL: Any = {
    "type": "function",
    "function": {"name": "lookup_weather", "parameters": {"type": "object", "properties": {}}},
}
RESPONSES_TOOL: Any = {"type": "function", "name": "lookup_weather", "parameters": {}, "strict": False}
ANTHROPIC_TOOL: Any = {"name": "lookup_weather", "input_schema": {"type": "object", "properties": {}}}
CLAUDE = "claude-sonnet-4-6"


def _openai(upstream: Upstream, lib: ModuleType = httpx2) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=lib.Client(transport=upstream.transport()),
    )


def _anthropic(upstream: Upstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url="http://upstream.test",
        max_retries=0,
        http_client=httpx2.Client(transport=upstream.transport()),
    )


def _chat_stream_text(client: openai.OpenAI, **kwargs: Any) -> str:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, **kwargs)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


# --- the SSE helper -------------------------------------------------------------------------------------


def test_sse_events_follows_the_whatwg_rules() -> None:
    """
    `sse_events` skips comments and unknown fields, joins multi-line data and keeps event names.
    """
    body = b": keep-alive\n\nevent: a\ndata: 1\ndata: 2\nid: 7\n\ndata: [DONE]\n\n"

    assert [("a", "1\n2"), (None, "[DONE]")] == sse_events(body)


# --- chat completions -----------------------------------------------------------------------------------


def test_chat_json_parses_into_a_chat_completion() -> None:
    """
    A non-streamed chat completion carries the text, `stop` and the usage.
    """
    scenario = Scenario(text="Bonjour.")

    completion = _openai(handler(httpx2, scenario)).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES
    )

    assert ("Bonjour.", "stop", "chat.completion") == (
        completion.choices[0].message.content,
        completion.choices[0].finish_reason,
        completion.object,
    )
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_chat_stream_concatenates_to_the_text() -> None:
    """
    The streamed deltas join to the scenario text.
    """
    scenario = Scenario(text="Streaming text, cut into five-character deltas.")

    assert scenario.output_text == _chat_stream_text(_openai(handler(httpx2, scenario)))


def test_chat_stream_ends_with_a_finish_chunk() -> None:
    """
    The first delta carries the role, the last chunk an empty delta and `finish_reason`.
    """
    chunks = list(
        _openai(handler(httpx2, Scenario())).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
    )

    assert ("assistant", "stop", None) == (
        chunks[0].choices[0].delta.role,
        chunks[-1].choices[0].finish_reason,
        chunks[-1].choices[0].delta.content,
    )


def test_chat_stream_usage_arrives_in_a_last_chunk_without_choices() -> None:
    """
    With `include_usage` every chunk has `usage: null` but the last, whose `choices` is empty.
    """
    chunks = list(
        _openai(handler(httpx2, Scenario())).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )

    assert ([], True) == (chunks[-1].choices, chunks[-1].usage is not None)
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_chat_n2_json_returns_one_choice_per_text() -> None:
    """
    With `n=2` a list text gives choices 0 and 1 in order.
    """
    scenario = Scenario(text=["First answer.", "Second answer."])

    completion = _openai(handler(httpx2, scenario)).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, n=2
    )

    assert [(0, "First answer."), (1, "Second answer.")] == [
        (choice.index, choice.message.content) for choice in completion.choices
    ]


def test_chat_n2_stream_interleaves_the_choices() -> None:
    """
    With `n=2` the deltas of both choices interleave; each index joins to its own text.
    """
    scenario = Scenario(text=["First answer.", "Second answer, longer."])
    texts = ["", ""]
    indices = []

    for chunk in _openai(handler(httpx2, scenario)).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, n=2, stream=True
    ):
        choice = chunk.choices[0]
        texts[choice.index] += choice.delta.content or ""
        indices.append(choice.index)

    assert scenario.texts(2) == texts
    assert [0, 1, 0, 1] == indices[:4]


def test_chat_tool_call_json() -> None:
    """
    A tool call names the request's first tool and carries `finish_reason="tool_calls"`.
    """
    completion = _openai(handler(httpx2, Scenario(tool_call=True))).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=[CHAT_TOOL]
    )
    choice = completion.choices[0]

    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert ("tool_calls", "function", "lookup_weather", TOOL_ARGUMENTS) == (
        choice.finish_reason,
        call.type,
        call.function.name,  # type: ignore[union-attr]
        call.function.arguments,  # type: ignore[union-attr]
    )


def test_chat_tool_call_stream_accumulates_in_the_stream_helper() -> None:
    """
    `chat.completions.stream` rebuilds both the text and the tool call from the deltas.
    """
    scenario = Scenario(tool_call=True)

    with _openai(handler(httpx2, scenario)).chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, tools=[CHAT_TOOL]
    ) as stream:
        message = stream.get_final_completion().choices[0].message

    assert message.tool_calls is not None
    assert (scenario.output_text, "lookup_weather", TOOL_ARGUMENTS) == (
        message.content,
        message.tool_calls[0].function.name,
        message.tool_calls[0].function.arguments,
    )


def test_chat_refusal_json() -> None:
    """
    A refusal fills `refusal` and leaves `content` null.
    """
    completion = _openai(
        handler(httpx2, Scenario(refusal="I can't help with that."))
    ).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert (None, "I can't help with that.") == (
        completion.choices[0].message.content,
        completion.choices[0].message.refusal,
    )


def test_chat_refusal_stream() -> None:
    """
    A streamed refusal arrives in `delta.refusal`, never in `delta.content`.
    """
    chunks = list(
        _openai(handler(httpx2, Scenario(refusal="I can't help with that."))).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
    )

    assert ("I can't help with that.", "") == (
        "".join(chunk.choices[0].delta.refusal or "" for chunk in chunks),
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks),
    )


def test_chat_json_mode_returns_json_text() -> None:
    """
    In JSON mode plain text comes back wrapped in a JSON object.
    """
    completion = _openai(handler(httpx2, Scenario(text="Hi.", json_mode=True))).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
    )

    assert {"answer": "Hi."} == json.loads(completion.choices[0].message.content or "")


# --- legacy completions ---------------------------------------------------------------------------------


def test_completions_json() -> None:
    """
    A legacy completion carries the text in `choices[].text`.
    """
    completion = _openai(handler(httpx2, Scenario(text="Once upon a time."))).completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Tell a story."
    )

    assert ("Once upon a time.", "stop", "text_completion") == (
        completion.choices[0].text,
        completion.choices[0].finish_reason,
        completion.object,
    )


def test_completions_stream_concatenates_to_the_text() -> None:
    """
    The streamed legacy chunks join to the scenario text and end with `finish_reason="stop"`.
    """
    scenario = Scenario(text="Once upon a time, in a stream.")

    chunks = list(
        _openai(handler(httpx2, scenario)).completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Tell a story.", stream=True
        )
    )

    assert (scenario.output_text, "stop") == (
        "".join(chunk.choices[0].text for chunk in chunks),
        chunks[-1].choices[0].finish_reason,
    )


# --- responses ------------------------------------------------------------------------------------------


def test_responses_json() -> None:
    """
    A response holds one `message` item whose `output_text` part is the text.
    """
    scenario = Scenario(text="A response.")

    response = _openai(handler(httpx2, scenario)).responses.create(model="gpt-4o-mini", input="Hi")

    assert ("A response.", ["message"], "completed") == (
        response.output_text,
        [item.type for item in response.output],
        response.status,
    )


def test_responses_stream_sends_the_full_event_sequence() -> None:
    """
    The raw stream is the real event sequence, and `sequence_number` counts every event from 0.
    """
    scenario = Scenario(text="0123456789", chunk_size=5)

    events = list(
        _openai(handler(httpx2, scenario)).responses.create(model="gpt-4o-mini", input="Hi", stream=True)
    )

    assert [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ] == [event.type for event in events]
    assert list(range(len(events))) == [event.sequence_number for event in events]


def test_responses_stream_deltas_concatenate_to_the_text() -> None:
    """
    The `response.output_text.delta` events, all on item 0 part 0, join to the text.
    """
    scenario = Scenario(text="Deltas of a response, five characters at a time.")

    deltas = [
        event
        for event in _openai(handler(httpx2, scenario)).responses.create(
            model="gpt-4o-mini", input="Hi", stream=True
        )
        if event.type == "response.output_text.delta"
    ]

    assert scenario.output_text == "".join(event.delta for event in deltas)
    assert {(0, 0)} == {(event.output_index, event.content_index) for event in deltas}


def test_responses_stream_helper_builds_the_final_response() -> None:
    """
    `responses.stream(...).get_final_response()` holds the text.
    """
    scenario = Scenario(text="Helper text.")

    with _openai(handler(httpx2, scenario)).responses.stream(model="gpt-4o-mini", input="Hi") as stream:
        response = stream.get_final_response()

    assert scenario.output_text == response.output_text


def test_responses_usage_arrives_only_with_response_completed() -> None:
    """
    `usage` is null in `response.created` and set in `response.completed`.
    """
    events = list(
        _openai(handler(httpx2, Scenario())).responses.create(model="gpt-4o-mini", input="Hi", stream=True)
    )

    assert (None, True) == (events[0].response.usage, events[-1].response.usage is not None)  # type: ignore[union-attr]


def test_responses_tool_call_is_a_function_call_item() -> None:
    """
    A streamed tool call becomes a second output item of type `function_call`.
    """
    with _openai(handler(httpx2, Scenario(tool_call=True))).responses.stream(
        model="gpt-4o-mini", input="Hi", tools=[RESPONSES_TOOL]
    ) as stream:
        response = stream.get_final_response()
    call = response.output[1]

    assert ("function_call", "lookup_weather", TOOL_ARGUMENTS) == (
        call.type,
        call.name,  # type: ignore[union-attr]
        call.arguments,  # type: ignore[union-attr]
    )


def test_responses_refusal_is_a_refusal_part() -> None:
    """
    A refusal is a `refusal` content part, not `output_text`.
    """
    response = _openai(handler(httpx2, Scenario(refusal="No."))).responses.create(
        model="gpt-4o-mini", input="Hi"
    )
    part = response.output[0].content[0]  # type: ignore[union-attr,index]

    assert ("refusal", "No.", "") == (part.type, part.refusal, response.output_text)  # type: ignore[union-attr]


def test_async_openai_streams_through_the_async_client() -> None:
    """
    `AsyncOpenAI` over `httpx2.AsyncClient` streams the same text.
    """
    scenario = Scenario(text="Asynchronous streaming works too.")

    async def run() -> str:
        client = openai.AsyncOpenAI(
            api_key="test",
            base_url="http://upstream.test/v1",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=handler(httpx2, scenario).transport()),
        )
        async with client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

    assert scenario.output_text == asyncio.run(run())


def test_openai_also_takes_a_legacy_httpx_client() -> None:
    """
    openai 3 still accepts a plain `httpx.Client`, and the handler serves `httpx.MockTransport` alike.
    """
    scenario = Scenario(text="Over plain httpx.")

    assert scenario.output_text == _chat_stream_text(_openai(handler(httpx, scenario), lib=httpx))


# --- anthropic messages ---------------------------------------------------------------------------------


def test_anthropic_json() -> None:
    """
    A message carries one `text` block, `end_turn` and the usage.
    """
    message = _anthropic(handler(httpx2, Scenario(text="Hello from Claude.", model=CLAUDE))).messages.create(
        model=CLAUDE, max_tokens=64, messages=MESSAGES
    )

    assert ("Hello from Claude.", "end_turn", CLAUDE) == (
        message.content[0].text,  # type: ignore[union-attr]
        message.stop_reason,
        message.model,
    )


def test_anthropic_raw_stream_sends_the_event_sequence() -> None:
    """
    `messages.create(stream=True)` yields the real event sequence (the SDK drops `ping`).
    """
    scenario = Scenario(text="0123456789", chunk_size=5, model=CLAUDE)

    events = list(
        _anthropic(handler(httpx2, scenario)).messages.create(
            model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
        )
    )

    assert [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ] == [event.type for event in events]


def test_anthropic_raw_stream_text_deltas_concatenate_to_the_text() -> None:
    """
    The `text_delta`s of the raw stream join to the text.
    """
    scenario = Scenario(text="Claude streams text deltas.", model=CLAUDE)

    text = "".join(
        event.delta.text  # type: ignore[union-attr]
        for event in _anthropic(handler(httpx2, scenario)).messages.create(
            model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
        )
        if event.type == "content_block_delta"
    )

    assert scenario.output_text == text


def test_anthropic_stream_helper_builds_the_final_message() -> None:
    """
    `messages.stream(...)`: `text_stream` and `get_final_message()` both give the text.
    """
    scenario = Scenario(text="The helper accumulates.", model=CLAUDE)

    with _anthropic(handler(httpx2, scenario)).messages.stream(
        model=CLAUDE, max_tokens=64, messages=MESSAGES
    ) as stream:
        streamed = "".join(stream.text_stream)
        message = stream.get_final_message()

    assert (scenario.output_text, scenario.output_text) == (streamed, message.content[0].text)  # type: ignore[union-attr]


def test_anthropic_tool_use_is_accumulated_from_json_deltas() -> None:
    """
    A streamed `tool_use` block gets its `input` from the `input_json_delta`s.
    """
    scenario = Scenario(tool_call=True, model=CLAUDE)

    with _anthropic(handler(httpx2, scenario)).messages.stream(
        model=CLAUDE, max_tokens=64, messages=MESSAGES, tools=[ANTHROPIC_TOOL]
    ) as stream:
        message = stream.get_final_message()
    block = message.content[1]

    assert ("tool_use", "tool_use", "lookup_weather", json.loads(TOOL_ARGUMENTS)) == (
        message.stop_reason,
        block.type,
        block.name,  # type: ignore[union-attr]
        block.input,  # type: ignore[union-attr]
    )


# --- errors, drops, junk, gzip --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
def test_openai_error_statuses_raise_the_sdk_errors(status: int, error: type[openai.APIStatusError]) -> None:
    """
    A non-2xx status returns OpenAI's error body, which the SDK raises as its status error.
    """
    client = _openai(handler(httpx2, Scenario(status=status)))

    with pytest.raises(error) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)

    assert (status, True) == (raised.value.status_code, isinstance(raised.value.body, dict))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.OverloadedError),
    ],
)
def test_anthropic_error_statuses_raise_the_sdk_errors(
    status: int, error: type[anthropic.APIStatusError]
) -> None:
    """
    A non-2xx status returns Anthropic's `{"type": "error", ...}` body, raised as the SDK's status error.
    """
    client = _anthropic(handler(httpx2, Scenario(status=status)))

    with pytest.raises(error) as raised:
        client.messages.create(model=CLAUDE, max_tokens=64, messages=MESSAGES)

    assert (status, "error") == (raised.value.status_code, raised.value.body["type"])  # type: ignore[index]


def test_openai_break_after_raises_a_connection_error_mid_stream() -> None:
    """
    A dropped connection surfaces in the OpenAI SDK as `APIConnectionError`, after the events sent so far.
    """
    received: list[openai.types.chat.ChatCompletionChunk] = []
    stream = _openai(handler(httpx2, Scenario(break_after=3))).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )

    with pytest.raises(openai.APIConnectionError) as raised:
        received.extend(stream)

    assert (3, httpx2.ReadError) == (len(received), type(raised.value.__cause__))


def test_anthropic_break_after_raises_the_raw_read_error_mid_stream() -> None:
    """
    The Anthropic SDK does not wrap a dropped stream: `httpx2.ReadError` reaches the caller.
    """
    received: list[anthropic.types.RawMessageStreamEvent] = []
    stream = _anthropic(handler(httpx2, Scenario(break_after=3))).messages.create(
        model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
    )

    with pytest.raises(httpx2.ReadError):
        received.extend(stream)

    assert ["message_start", "content_block_start"] == [event.type for event in received]


def test_break_after_raises_the_read_error_of_plain_httpx() -> None:
    """
    Over `httpx.MockTransport` the drop raises `httpx.ReadError` while the body is iterated.
    """
    client = httpx.Client(transport=handler(httpx, Scenario(break_after=2)).transport())
    chunks: list[bytes] = []

    with (
        client.stream("POST", "http://upstream.test/v1/chat/completions", json={"stream": True}) as response,
        pytest.raises(httpx.ReadError),
    ):
        chunks.extend(response.iter_bytes())

    assert 2 == len(sse_events(b"".join(chunks)))


@pytest.mark.parametrize("endpoint", ["chat", "completions", "responses", "messages"])
def test_every_sdk_skips_the_junk_lines(endpoint: str) -> None:
    """
    Comments, blank lines, unknown fields and (Responses, Anthropic) unknown event types leave the text as is.
    """
    scenario = Scenario(text="Text around junk lines.", malformed_line=True)
    upstream = handler(httpx2, scenario)

    if endpoint == "chat":
        text = _chat_stream_text(_openai(upstream))
    elif endpoint == "completions":
        stream = _openai(upstream).completions.create(model="m", prompt="p", stream=True)
        text = "".join(chunk.choices[0].text for chunk in stream)
    elif endpoint == "responses":
        with _openai(upstream).responses.stream(model="gpt-4o-mini", input="Hi") as response_stream:
            text = response_stream.get_final_response().output_text
    else:
        with _anthropic(upstream).messages.stream(
            model=CLAUDE, max_tokens=64, messages=MESSAGES
        ) as message_stream:
            text = "".join(message_stream.text_stream)

    assert scenario.output_text == text


def test_junk_lines_are_on_the_wire() -> None:
    """
    `malformed_line` really sends a comment and an unknown event type.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario(malformed_line=True)).transport())

    body = client.post("http://upstream.test/v1/messages", json={"stream": True}).content

    assert (True, True) == (
        body.startswith(b": keep-alive\n\n"),
        ("future_event", '{"type":"future_event"}') in sse_events(body),
    )


def test_gzip_streams_are_compressed_and_still_parse() -> None:
    """
    With `gzip` the SSE body is sent gzip-encoded, and the SDK still joins the text.
    """
    scenario = Scenario(text="Compressed stream.", gzip=True)
    upstream = handler(httpx2, scenario)
    client = _openai(upstream)

    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as raw:
        encoding = raw.headers.get("content-encoding")
        text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)

    assert ("gzip", scenario.output_text) == (encoding, text)


def test_gzip_is_not_sent_unless_the_request_accepts_it() -> None:
    """
    Without `gzip` in `accept-encoding` the body stays plain.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario(gzip=True)).transport())

    response = client.post(
        "http://upstream.test/v1/chat/completions", json={}, headers={"accept-encoding": "identity"}
    )

    assert (None, "chat.completion") == (response.headers.get("content-encoding"), response.json()["object"])


def test_gzip_json_body_is_really_gzip() -> None:
    """
    The raw bytes of a gzip JSON answer decompress to the JSON the client decoded.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario(gzip=True)).transport())

    with client.stream("POST", "http://upstream.test/v1/chat/completions", json={}) as response:
        raw = b"".join(response.iter_raw())

    assert "chat.completion" == json.loads(zlib.decompress(raw, wbits=31))["object"]


# --- recording ------------------------------------------------------------------------------------------


def test_requests_are_recorded_with_headers_and_json() -> None:
    """
    Each request is recorded: path, auth header and JSON body, as the SDK sent them.
    """
    upstream = handler(httpx2, Scenario())
    _openai(upstream).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0)
    _anthropic(upstream).messages.create(model=CLAUDE, max_tokens=64, messages=MESSAGES)
    chat, messages = upstream.requests

    sent = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0}

    assert ("/v1/chat/completions", "Bearer test", sent) == (
        chat.path,
        chat.headers["authorization"],
        chat.json,
    )
    assert ("/v1/messages", "Bearer test", CLAUDE) == (
        messages.path,
        messages.headers["authorization"],
        messages.json["model"],
    )
    assert "anthropic-version" in messages.headers


def test_unknown_paths_get_a_404() -> None:
    """
    Anything but the four generation endpoints is answered 404 with an OpenAI error body.
    """
    client = httpx2.Client(transport=handler(httpx2, Scenario()).transport())

    response = client.get("http://upstream.test/v1/models")

    assert (404, "model_not_found") == (response.status_code, response.json()["error"]["code"])
