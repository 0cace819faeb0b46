"""
`wrap()` around the real Anthropic SDK clients: text blocks are labeled, tool use and errors are not touched.

The upstream is the fake in `tests.middleware.upstream`, reached through the client's own transport.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx2
import pytest
from aigclabel import Labeler, LabelPolicy, OptOutError, verify
from aigclabel.middleware import wrap
from pydantic import BaseModel

from tests.helpers import KEY, PRODUCER, visible
from tests.middleware.upstream import TOOL_ARGUMENTS, Scenario, Upstream, handler

CLAUDE = "claude-sonnet-4-6"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hello."}]
TOOL: Any = {"name": "lookup_weather", "input_schema": {"type": "object", "properties": {}}}
LABEL_PHRASES = ("AI-generated content", "本内容由人工智能生成", "本内容由AI生成")
TEXT = "Claude writes a short answer here, long enough to carry the invisible marks."


class Answer(BaseModel):
    """
    A structured-output schema.
    """

    answer: str


def _status(text: str) -> str:
    return verify(text, key=KEY).status


def _extra(model: BaseModel) -> Any:
    return (model.model_extra or {}).get("aigc")


def _anthropic(
    upstream: Any, labeler: Labeler, *, max_retries: int = 0, **options: Any
) -> anthropic.Anthropic:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://upstream.test",
        max_retries=max_retries,
        http_client=httpx2.Client(transport=upstream.transport()),
    )
    return wrap(client, labeler, **options)


def _async_anthropic(upstream: Upstream, labeler: Labeler) -> anthropic.AsyncAnthropic:
    client = anthropic.AsyncAnthropic(
        api_key="test",
        base_url="http://upstream.test",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=upstream.transport()),
    )
    return wrap(client, labeler)


def _create(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    return client.messages.create(
        model=CLAUDE, max_tokens=256, messages=kwargs.pop("messages", MESSAGES), **kwargs
    )


def _text(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def _raw_events(client: anthropic.Anthropic, **kwargs: Any) -> list[Any]:
    return list(_create(client, stream=True, **kwargs))


def _deltas(events: list[Any], kind: str = "text_delta") -> str:
    out = ""
    for event in events:
        if event.type == "content_block_delta" and event.delta.type == kind:
            out += event.delta.text if kind == "text_delta" else event.delta.partial_json
    return out


@pytest.fixture(name="upstream")
def _upstream() -> Upstream:
    """
    The fake upstream answering the default text.
    """
    return handler(httpx2, Scenario(text=TEXT, model=CLAUDE))


@pytest.fixture(name="client")
def _client(upstream: Upstream, labeler: Labeler) -> anthropic.Anthropic:
    """
    A wrapped Anthropic client on the default upstream.
    """
    return _anthropic(upstream, labeler)


# --- JSON ---------------------------------------------------------------------------------------------------


def test_text_block_verifies_intact(client: anthropic.Anthropic) -> None:
    """
    The text block of a message is fully labeled.
    """
    assert "intact" == _status(_text(_create(client)))


def test_text_block_keeps_the_text_before_the_label(client: anthropic.Anthropic) -> None:
    """
    The visible text is the upstream text followed by the end label.
    """
    shown = visible(_text(_create(client)))

    assert (True, True) == (shown.startswith(TEXT), "AI-generated content" in shown)


def test_message_aigc_names_the_text_block(client: anthropic.Anthropic) -> None:
    """
    `message.aigc` has one item for block 0 with the produce id the marks carry.
    """
    message = _create(client)
    aigc = _extra(message)

    assert ("1", 0, verify(_text(message), key=KEY).produce_id) == (
        aigc["label"],
        aigc["items"][0]["index"],
        aigc["items"][0]["produce_id"],
    )


def test_tool_use_block_is_untouched(labeler: Labeler) -> None:
    """
    A `tool_use` block keeps its input; only the text block is labeled.
    """
    message = _create(_anthropic(handler(httpx2, Scenario(tool_call=True)), labeler), tools=[TOOL])
    tool = message.content[1]

    assert ("tool_use", json.loads(TOOL_ARGUMENTS), "intact", [0]) == (
        tool.type,
        tool.input,
        _status(message.content[0].text),
        [item["index"] for item in _extra(message)["items"]],
    )


def test_raw_response_has_the_aigc_header(client: anthropic.Anthropic) -> None:
    """
    `with_raw_response` shows the `AIGC` header and parses to the labeled message.
    """
    raw = client.messages.with_raw_response.create(model=CLAUDE, max_tokens=64, messages=MESSAGES)

    assert ("1", "intact") == (json.loads(raw.headers["aigc"])["AIGC"]["Label"], _status(_text(raw.parse())))


def test_with_options_copy_still_labels(client: anthropic.Anthropic) -> None:
    """
    A `with_options(timeout=...)` copy of the wrapped client labels too.
    """
    message = client.with_options(timeout=9.0).messages.create(model=CLAUDE, max_tokens=64, messages=MESSAGES)

    assert "intact" == _status(_text(message))


def test_parse_structured_output_is_untouched(labeler: Labeler) -> None:
    """
    `messages.parse(output_format=...)` gets the upstream JSON unchanged and parses it.
    """
    scenario = Scenario(text='{"answer":"Paris"}', json_mode=True)
    message = _anthropic(handler(httpx2, scenario), labeler).messages.parse(
        model=CLAUDE, max_tokens=64, messages=MESSAGES, output_format=Answer
    )

    assert (scenario.output_text, Answer(answer="Paris")) == (_text(message), message.parsed_output)


# --- streams ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 4, 500])
def test_stream_text_deltas_verify_intact(labeler: Labeler, chunk_size: int) -> None:
    """
    Whatever the delta size, the joined `text_delta`s verify intact.
    """
    client = _anthropic(handler(httpx2, Scenario(text=TEXT, chunk_size=chunk_size)), labeler)

    assert "intact" == _status(_deltas(_raw_events(client)))


def test_stream_visible_text_equals_the_json_one(client: anthropic.Anthropic) -> None:
    """
    A stream shows the same visible text as the non-streamed call.
    """
    assert visible(_text(_create(client))) == visible(_deltas(_raw_events(client)))


def test_stream_tool_use_input_json_is_untouched(labeler: Labeler) -> None:
    """
    The `input_json_delta`s of a tool-use block join to the upstream arguments.
    """
    events = _raw_events(
        _anthropic(handler(httpx2, Scenario(tool_call=True, chunk_size=3)), labeler), tools=[TOOL]
    )

    assert (TOOL_ARGUMENTS, "intact") == (_deltas(events, "input_json_delta"), _status(_deltas(events)))


def test_stream_aigc_rides_on_message_delta(client: anthropic.Anthropic) -> None:
    """
    The first text delta (stage start) and `message_delta` (stage end) carry the `aigc`
    object, with the stream's produce id.
    """
    events = _raw_events(client)
    carriers = [event for event in events if _extra(event) is not None]
    (delta,) = [event for event in events if event.type == "message_delta"]
    produce_id = verify(_deltas(events), key=KEY).produce_id

    assert (["content_block_delta", "message_delta"], ["start", "end"]) == (
        [event.type for event in carriers],
        [_extra(event)["stage"] for event in carriers],
    )
    assert [produce_id, produce_id] == [_extra(event)["items"][0]["produce_id"] for event in carriers]
    assert carriers[-1] is delta


def test_stream_event_sequence_is_kept(client: anthropic.Anthropic) -> None:
    """
    The labeled stream has the upstream's event types in order (the end label rides on an extra delta).
    """
    types = [event.type for event in _raw_events(client)]

    assert (
        ["message_start", "content_block_start"],
        ["content_block_stop", "message_delta", "message_stop"],
    ) == (
        types[:2],
        types[-3:],
    )


def test_stream_helper_final_message_is_labeled(client: anthropic.Anthropic) -> None:
    """
    `messages.stream(...).get_final_message()` holds a labeled text block.
    """
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
        message = stream.get_final_message()

    assert "intact" == _status(_text(message))


def test_stream_helper_final_text_is_labeled(client: anthropic.Anthropic) -> None:
    """
    `messages.stream(...).get_final_text()` verifies intact.
    """
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
        text = stream.get_final_text()

    assert "intact" == _status(text)


def test_stream_helper_text_stream_is_labeled(client: anthropic.Anthropic) -> None:
    """
    The helper's `text_stream` joins to a labeled text.
    """
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)

    assert "intact" == _status(text)


def test_stream_skips_junk_lines(labeler: Labeler) -> None:
    """
    Comments, stray lines and an unknown event type pass; the text still verifies intact.
    """
    client = _anthropic(handler(httpx2, Scenario(text=TEXT, malformed_line=True)), labeler)
    with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
        text = stream.get_final_text()

    assert "intact" == _status(text)


def test_streaming_response_is_labeled(client: anthropic.Anthropic) -> None:
    """
    `with_streaming_response` + `stream=True` parses into labeled events.
    """
    with client.messages.with_streaming_response.create(
        model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
    ) as raw:
        events = list(raw.parse())

    assert "intact" == _status(_deltas(events))


def test_async_stream_is_labeled(labeler: Labeler) -> None:
    """
    `AsyncAnthropic` over `httpx2.AsyncClient` streams a text that verifies intact.
    """
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=2))

    async def run() -> str:
        client = _async_anthropic(upstream, labeler)
        async with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
            return await stream.get_final_text()

    assert "intact" == _status(asyncio.run(run()))


def test_async_json_is_labeled(upstream: Upstream, labeler: Labeler) -> None:
    """
    `AsyncAnthropic` gets a labeled message.
    """

    async def run() -> str:
        message = await _async_anthropic(upstream, labeler).messages.create(
            model=CLAUDE, max_tokens=64, messages=MESSAGES
        )
        return _text(message)

    assert "intact" == _status(asyncio.run(run()))


# --- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.APIStatusError),
    ],
)
def test_error_statuses_raise_the_sdk_error_with_the_body_untouched(
    labeler: Labeler, status: int, error: type[anthropic.APIStatusError]
) -> None:
    """
    A non-2xx answer raises the SDK's usual error with the upstream's body, and no `AIGC` header.
    """
    with pytest.raises(error) as raised:
        _create(_anthropic(handler(httpx2, Scenario(status=status)), labeler))
    body = raised.value.response.json()

    assert (status, "error", body, None) == (
        raised.value.status_code,
        body["type"],
        raised.value.body,
        raised.value.response.headers.get("aigc"),
    )


class _FailFirst:
    """
    A handler answering 500 to the first request (with a tiny `retry-after-ms`), then *scenario*.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.failing = handler(httpx2, Scenario(status=500))
        self.upstream = handler(httpx2, scenario)
        self.calls = 0

    def __call__(self, request: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            response = self.failing(request)
            response.headers["retry-after-ms"] = "1"
            return response
        return self.upstream(request)

    def transport(self) -> Any:
        return httpx2.MockTransport(self)


def test_retry_after_500_labels_exactly_once(labeler: Labeler) -> None:
    """
    The SDK retries a 500; the successful answer carries one visible label and verifies intact.
    """
    fail_first = _FailFirst(Scenario(text=TEXT))
    text = _text(_create(_anthropic(fail_first, labeler, max_retries=2)))

    assert (2, 1, "intact") == (fail_first.calls, visible(text).count("AI-generated content"), _status(text))


@pytest.mark.parametrize("break_after", [3, 8])
def test_broken_stream_raises_the_read_error_without_an_end_label(labeler: Labeler, break_after: int) -> None:
    """
    A dropped stream raises the SDK's usual error (the raw `httpx2.ReadError`); no end label was sent.
    """
    stream = _create(
        _anthropic(handler(httpx2, Scenario(text=TEXT, chunk_size=8, break_after=break_after)), labeler),
        stream=True,
    )
    received: list[Any] = []

    with pytest.raises(httpx2.ReadError):
        received.extend(stream)
    text = _deltas(received)

    assert (True, False) == (TEXT.startswith(visible(text)), any(p in text for p in LABEL_PHRASES))


def test_broken_stream_helper_raises_without_an_end_label(labeler: Labeler) -> None:
    """
    The stream helper raises on a drop before the last delta; the text so far has no end label.
    """
    client = _anthropic(handler(httpx2, Scenario(text=TEXT, chunk_size=8, break_after=10)), labeler)
    received: list[str] = []

    with (
        pytest.raises(httpx2.ReadError),
        client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream,
    ):
        received.extend(stream.text_stream)
    text = "".join(received)

    assert (True, False) == (TEXT.startswith(visible(text)), any(p in text for p in LABEL_PHRASES))


def test_gzip_json_is_labeled(labeler: Labeler) -> None:
    """
    A gzip-encoded JSON answer is decoded and labeled.
    """
    client = _anthropic(handler(httpx2, Scenario(text=TEXT, gzip=True)), labeler)

    assert "intact" == _status(_text(_create(client)))


def test_gzip_stream_is_labeled(labeler: Labeler) -> None:
    """
    A gzip-encoded event stream is decoded and labeled.
    """
    client = _anthropic(handler(httpx2, Scenario(text=TEXT, gzip=True)), labeler)

    assert "intact" == _status(_deltas(_raw_events(client)))


def test_context_header_never_reaches_upstream(upstream: Upstream, client: anthropic.Anthropic) -> None:
    """
    `x-aigc-user` is removed before the request goes upstream.
    """
    _create(client, extra_headers={"x-aigc-user": "u-1"})

    assert "x-aigc-user" not in upstream.requests[-1].headers


def test_refused_opt_out_arrives_as_the_sdks_connection_error(upstream: Upstream) -> None:
    """
    With opt_out_on_error = "raise", the anthropic SDK wraps the transport's OptOutError in
    APIConnectionError (documented behaviour); nothing was sent upstream.
    """
    strict = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, opt_out_on_error="raise"))

    with pytest.raises(anthropic.APIConnectionError) as exc_info:
        _create(_anthropic(upstream, strict), extra_headers={"x-aigc-opt-out": "2025-09", "x-aigc-user": "u"})

    assert isinstance(exc_info.value.__cause__, OptOutError)
    assert [] == upstream.requests


def _history(labeled: Any) -> list[Any]:
    return [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": labeled},
        {"role": "user", "content": "Again."},
    ]


def test_history_hygiene_drops_own_marks_from_text_blocks(
    upstream: Upstream, client: anthropic.Anthropic
) -> None:
    """
    A labeled assistant text block sent back goes upstream with its visible text and without marks.
    """
    labeled = _text(_create(client))
    _create(client, messages=_history([{"type": "text", "text": labeled}]))

    assert (visible(labeled), True) == (
        upstream.requests[-1].json["messages"][1]["content"][0]["text"],
        labeled != visible(labeled),
    )


def test_history_hygiene_drops_own_marks_from_string_content(
    upstream: Upstream, client: anthropic.Anthropic
) -> None:
    """
    A labeled assistant turn given as a plain string goes upstream without marks.
    """
    labeled = _text(_create(client))
    _create(client, messages=_history(labeled))

    assert visible(labeled) == upstream.requests[-1].json["messages"][1]["content"]


def test_history_hygiene_off_sends_the_turn_unchanged(upstream: Upstream, labeler: Labeler) -> None:
    """
    With `history_hygiene=False` the labeled assistant block goes upstream as it was.
    """
    client = _anthropic(upstream, labeler, history_hygiene=False)
    labeled = _text(_create(client))
    _create(client, messages=_history([{"type": "text", "text": labeled}]))

    assert labeled == upstream.requests[-1].json["messages"][1]["content"][0]["text"]
