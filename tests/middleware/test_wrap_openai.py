"""
`wrap()` around the real OpenAI SDK clients: every text the SDK hands back is labeled, everything else is not.

The upstream is the fake in `tests.middleware.upstream`, reached through the client's own transport.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy, OptOutError, verify
from aigclabel.middleware import wrap
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from tests.helpers import KEY, PRODUCER, mark_layout, visible
from tests.middleware.upstream import TOOL_ARGUMENTS, Scenario, Upstream, handler

MODEL = "gpt-4o-mini"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hello."}]
CHAT_TOOL: Any = {
    "type": "function",
    "function": {"name": "lookup_weather", "parameters": {"type": "object", "properties": {}}},
}
RESPONSES_TOOL: Any = {"type": "function", "name": "lookup_weather", "parameters": {}, "strict": False}
#: The phrases of the default explicit label (either language).
LABEL_PHRASES = ("AI-generated content", "本内容由人工智能生成", "本内容由AI生成")
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."


class Answer(BaseModel):
    """
    A structured-output schema.
    """

    answer: str


def _status(text: str | None) -> str:
    assert text is not None
    return verify(text, key=KEY).status


def _extra(model: BaseModel) -> Any:
    """
    The `aigc` object an SDK model kept as an unknown field.
    """
    return (model.model_extra or {}).get("aigc")


def _openai(
    upstream: Upstream,
    labeler: Labeler,
    *,
    lib: ModuleType = httpx2,
    max_retries: int = 0,
    **options: Any,
) -> openai.OpenAI:
    client = openai.OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=max_retries,
        http_client=lib.Client(transport=upstream.transport()),
    )
    return wrap(client, labeler, **options)


def _async_openai(upstream: Upstream, labeler: Labeler, **options: Any) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=upstream.transport()),
    )
    return wrap(client, labeler, **options)


def _chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=MESSAGES, **kwargs)


def _chat_stream_text(client: openai.OpenAI, **kwargs: Any) -> str:
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **kwargs)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@pytest.fixture(name="upstream")
def _upstream() -> Upstream:
    """
    The fake upstream answering the default text.
    """
    return handler(httpx2, Scenario(text=TEXT))


@pytest.fixture(name="client")
def _client(upstream: Upstream, labeler: Labeler) -> openai.OpenAI:
    """
    A wrapped OpenAI client on the default upstream.
    """
    return _openai(upstream, labeler)


# --- chat completions: JSON ---------------------------------------------------------------------------------


def test_chat_content_verifies_intact(client: openai.OpenAI) -> None:
    """
    The message content of a plain chat completion is fully labeled.
    """
    assert "intact" == _status(_chat(client).choices[0].message.content)


def test_chat_content_keeps_the_text_before_the_label(client: openai.OpenAI) -> None:
    """
    The visible content is the upstream text followed by the end label.
    """
    content = _chat(client).choices[0].message.content

    assert (True, True) == (visible(content).startswith(TEXT), "AI-generated content" in visible(content))


def test_chat_aigc_object_describes_the_labeled_choice(client: openai.OpenAI) -> None:
    """
    `completion.aigc` carries label "1" and one item for choice 0, with the produce id the marks carry.
    """
    completion = _chat(client)
    aigc = _extra(completion)
    verdict = verify(completion.choices[0].message.content or "", key=KEY)

    assert ("1", 0, verdict.produce_id, "1") == (
        aigc["label"],
        aigc["items"][0]["index"],
        aigc["items"][0]["produce_id"],
        aigc["items"][0]["metadata"]["AIGC"]["Label"],
    )


def test_chat_aigc_is_an_attribute_of_the_completion(client: openai.OpenAI) -> None:
    """
    The SDK object keeps the unknown `aigc` field, so `completion.aigc` works.
    """
    completion = _chat(client)

    assert _extra(completion) == completion.aigc


def test_chat_tool_call_is_untouched(labeler: Labeler) -> None:
    """
    The tool call of a choice keeps its arguments byte for byte; they still parse.
    """
    completion = _chat(_openai(handler(httpx2, Scenario(tool_call=True)), labeler), tools=[CHAT_TOOL])
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    function = calls[0].function

    assert (TOOL_ARGUMENTS, {"location": "Paris", "unit": "celsius"}, "lookup_weather") == (
        function.arguments,
        json.loads(function.arguments),
        function.name,
    )


def test_chat_n2_labels_each_choice_with_its_own_produce_id(labeler: Labeler) -> None:
    """
    With `n=2` both choices verify intact and carry different produce ids.
    """
    scenario = Scenario(text=["First answer, short.", "Second answer, a little longer."])
    completion = _chat(_openai(handler(httpx2, scenario), labeler), n=2)
    verdicts = [verify(choice.message.content or "", key=KEY) for choice in completion.choices]
    items = _extra(completion)["items"]

    assert (["intact", "intact"], [0, 1]) == ([v.status for v in verdicts], [i["index"] for i in items])
    assert [v.produce_id for v in verdicts] == [i["produce_id"] for i in items]
    assert verdicts[0].produce_id != verdicts[1].produce_id


def test_chat_json_mode_leaves_the_content_unchanged(labeler: Labeler) -> None:
    """
    With `response_format={"type": "json_object"}` the content is the upstream JSON, still parseable.
    """
    scenario = Scenario(text='{"answer": "Paris", "confidence": 0.9}', json_mode=True)
    completion = _chat(_openai(handler(httpx2, scenario), labeler), response_format={"type": "json_object"})
    content = completion.choices[0].message.content or ""

    assert (scenario.output_text, {"answer": "Paris", "confidence": 0.9}) == (content, json.loads(content))


def test_chat_json_mode_still_carries_the_metadata(labeler: Labeler) -> None:
    """
    JSON mode puts the label in the `aigc` metadata only.
    """
    scenario = Scenario(text='{"answer": "Paris"}', json_mode=True)
    completion = _chat(_openai(handler(httpx2, scenario), labeler), response_format={"type": "json_object"})
    metadata = _extra(completion)["items"][0]["metadata"]["AIGC"]

    assert ("1", 36) == (metadata["Label"], len(metadata["ProduceID"]))


def test_chat_refusal_is_untouched(labeler: Labeler) -> None:
    """
    A refusal keeps its text exactly and the content stays `None`; the `aigc` object still comes.
    """
    refusal = "I'm sorry, I can't help with that."
    completion = _chat(_openai(handler(httpx2, Scenario(refusal=refusal)), labeler))
    message = completion.choices[0].message

    assert (refusal, None, 1) == (message.refusal, message.content, len(_extra(completion)["items"]))


def test_chat_json_response_has_the_aigc_header(client: openai.OpenAI) -> None:
    """
    `with_raw_response` shows the `AIGC` header holding the Annex E metadata.
    """
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)

    assert "1" == json.loads(raw.headers["aigc"])["AIGC"]["Label"]


def test_chat_raw_response_parses_to_a_labeled_completion(client: openai.OpenAI) -> None:
    """
    `with_raw_response(...).parse()` gives the labeled completion.
    """
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)

    assert "intact" == _status(raw.parse().choices[0].message.content)


def test_chat_aigc_header_matches_the_body(client: openai.OpenAI) -> None:
    """
    The header's produce id is the one of the body's first item.
    """
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)

    assert (
        json.loads(raw.headers["aigc"])["AIGC"]["ProduceID"] == _extra(raw.parse())["items"][0]["produce_id"]
    )


def test_chat_streaming_response_json_is_labeled(client: openai.OpenAI) -> None:
    """
    `with_streaming_response` on a JSON call gives a labeled body.
    """
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as raw:
        body: Any = raw.json()

    assert ("intact", "1") == (_status(body["choices"][0]["message"]["content"]), body["aigc"]["label"])


def test_chat_with_options_copy_still_labels(client: openai.OpenAI) -> None:
    """
    A `with_options(timeout=...)` copy of the wrapped client labels too.
    """
    completion = client.with_options(timeout=12.5, max_retries=0).chat.completions.create(
        model=MODEL, messages=MESSAGES
    )

    assert "intact" == _status(completion.choices[0].message.content)


def test_chat_parse_structured_output_is_untouched(labeler: Labeler) -> None:
    """
    `chat.completions.parse` with a schema gets the upstream JSON unchanged and parses it.
    """
    scenario = Scenario(text='{"answer":"Paris"}', json_mode=True)
    completion = _openai(handler(httpx2, scenario), labeler).chat.completions.parse(
        model=MODEL, messages=MESSAGES, response_format=Answer
    )
    message = completion.choices[0].message

    assert (scenario.output_text, Answer(answer="Paris")) == (message.content, message.parsed)


def test_chat_legacy_httpx_client_is_labeled(upstream: Upstream, labeler: Labeler) -> None:
    """
    An OpenAI client built on a plain `httpx.Client` is labeled as well.
    """
    client = _openai(handler(httpx, Scenario(text=TEXT)), labeler, lib=httpx)

    assert "intact" == _status(_chat(client).choices[0].message.content)


# --- chat completions: streams ------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 500])
def test_chat_stream_deltas_verify_intact(labeler: Labeler, chunk_size: int) -> None:
    """
    Whatever the delta size, the concatenated deltas verify intact.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, chunk_size=chunk_size)), labeler)

    assert "intact" == _status(_chat_stream_text(client))


@pytest.mark.parametrize("chunk_size", [1, 5, 500])
def test_chat_stream_visible_text_equals_the_json_one(labeler: Labeler, chunk_size: int) -> None:
    """
    A stream shows the same visible text (text and label) as the non-streamed call.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, chunk_size=chunk_size)), labeler)

    assert visible(_chat(client).choices[0].message.content or "") == visible(_chat_stream_text(client))


def test_chat_stream_aigc_rides_on_the_finish_chunk(client: openai.OpenAI) -> None:
    """
    The first chunk with text (stage start) and the chunk carrying `finish_reason` (stage end)
    have the `aigc` object; no other chunk has it.
    """
    chunks = list(_chat(client, stream=True))
    first = next(i for i, chunk in enumerate(chunks) if chunk.choices[0].delta.content)

    assert [i == first or chunk.choices[0].finish_reason == "stop" for i, chunk in enumerate(chunks)] == [
        _extra(chunk) is not None for chunk in chunks
    ]
    assert ["start", "end"] == [_extra(chunk)["stage"] for chunk in chunks if _extra(chunk) is not None]


def test_chat_stream_aigc_produce_id_matches_the_marks(client: openai.OpenAI) -> None:
    """
    The produce id in the final chunk is the one the streamed text's marks carry.
    """
    chunks = list(_chat(client, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    assert verify(text, key=KEY).produce_id == _extra(chunks[-1])["items"][0]["produce_id"]


def test_chat_stream_n2_labels_each_choice(labeler: Labeler) -> None:
    """
    Interleaved choices of an `n=2` stream each verify intact, with different produce ids.
    """
    scenario = Scenario(text=["First answer, short.", "Second answer, a little longer."], chunk_size=3)
    texts = ["", ""]
    for chunk in _chat(_openai(handler(httpx2, scenario), labeler), n=2, stream=True):
        texts[chunk.choices[0].index] += chunk.choices[0].delta.content or ""
    verdicts = [verify(text, key=KEY) for text in texts]

    assert (["intact", "intact"], True) == (
        [v.status for v in verdicts],
        verdicts[0].produce_id != verdicts[1].produce_id,
    )


def test_chat_stream_with_usage_is_labeled(labeler: Labeler) -> None:
    """
    With `include_usage` the usage chunk (no choices) still arrives and the text verifies intact.
    """
    chunks = list(
        _chat(
            _openai(handler(httpx2, Scenario(text=TEXT)), labeler),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)

    assert ("intact", [], True) == (_status(text), chunks[-1].choices, chunks[-1].usage is not None)


def test_chat_stream_json_mode_is_unchanged(labeler: Labeler) -> None:
    """
    A JSON-mode stream joins to the upstream JSON exactly.
    """
    scenario = Scenario(text='{"answer": "Paris", "confidence": 0.9}', json_mode=True, chunk_size=4)
    client = _openai(handler(httpx2, scenario), labeler)

    assert scenario.output_text == _chat_stream_text(client, response_format={"type": "json_object"})


def test_chat_stream_tool_call_arguments_are_untouched(labeler: Labeler) -> None:
    """
    Streamed tool-call arguments join to the upstream arguments.
    """
    client = _openai(handler(httpx2, Scenario(tool_call=True, chunk_size=3)), labeler)
    arguments = ""
    for chunk in _chat(client, stream=True, tools=[CHAT_TOOL]):
        for call in chunk.choices[0].delta.tool_calls or []:
            arguments += call.function.arguments or "" if call.function else ""

    assert TOOL_ARGUMENTS == arguments


def test_chat_stream_refusal_is_untouched(labeler: Labeler) -> None:
    """
    Streamed refusal deltas join to the refusal exactly.
    """
    refusal = "I'm sorry, I can't help with that."
    chunks = list(_chat(_openai(handler(httpx2, Scenario(refusal=refusal)), labeler), stream=True))

    assert refusal == "".join(getattr(chunk.choices[0].delta, "refusal", None) or "" for chunk in chunks)


def test_chat_streaming_response_stream_is_labeled(client: openai.OpenAI) -> None:
    """
    `with_streaming_response` + `stream=True` parses into labeled chunks.
    """
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as raw:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)

    assert "intact" == _status(text)


def test_chat_stream_has_no_aigc_header(client: openai.OpenAI) -> None:
    """
    The `AIGC` header is for JSON bodies only: a stream carries its label in the final event.
    """
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as raw:
        header = raw.headers.get("aigc")

    assert header is None


def test_chat_stream_helper_final_completion_is_labeled(client: openai.OpenAI) -> None:
    """
    `chat.completions.stream(...).get_final_completion()` holds labeled content.
    """
    with client.chat.completions.stream(model=MODEL, messages=MESSAGES) as stream:
        completion = stream.get_final_completion()

    assert "intact" == _status(completion.choices[0].message.content)


def test_chat_stream_helper_structured_output_is_untouched(labeler: Labeler) -> None:
    """
    The stream helper with a schema joins the upstream JSON unchanged and parses it.
    """
    scenario = Scenario(text='{"answer":"Paris"}', json_mode=True, chunk_size=3)
    client = _openai(handler(httpx2, scenario), labeler)
    with client.chat.completions.stream(model=MODEL, messages=MESSAGES, response_format=Answer) as stream:
        message = stream.get_final_completion().choices[0].message

    assert (scenario.output_text, Answer(answer="Paris")) == (message.content, message.parsed)


def test_chat_stream_helper_content_deltas_are_labeled(client: openai.OpenAI) -> None:
    """
    The helper's `content.delta` events join to a labeled text.
    """
    with client.chat.completions.stream(model=MODEL, messages=MESSAGES) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")

    assert "intact" == _status(text)


# --- async --------------------------------------------------------------------------------------------------


def test_async_chat_is_labeled(upstream: Upstream, labeler: Labeler) -> None:
    """
    `AsyncOpenAI` over `httpx2.AsyncClient` gets a labeled completion.
    """

    async def run() -> str | None:
        completion = await _async_openai(upstream, labeler).chat.completions.create(
            model=MODEL, messages=MESSAGES
        )
        return completion.choices[0].message.content

    assert "intact" == _status(asyncio.run(run()))


def test_async_chat_stream_is_labeled(labeler: Labeler) -> None:
    """
    An async chat stream joins to a text that verifies intact.
    """
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=2))

    async def run() -> str:
        stream = await _async_openai(upstream, labeler).chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True
        )
        return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

    assert "intact" == _status(asyncio.run(run()))


# --- legacy completions -------------------------------------------------------------------------------------


def test_completions_json_is_labeled(client: openai.OpenAI) -> None:
    """
    A legacy completion's `text` verifies intact and the body carries `aigc`.
    """
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello.")

    assert ("intact", 0) == (_status(completion.choices[0].text), _extra(completion)["items"][0]["index"])


@pytest.mark.parametrize("chunk_size", [1, 5])
def test_completions_stream_is_labeled(labeler: Labeler, chunk_size: int) -> None:
    """
    A legacy completion stream joins to a text that verifies intact.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, chunk_size=chunk_size)), labeler)
    stream = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello.", stream=True)

    assert "intact" == _status("".join(chunk.choices[0].text for chunk in stream if chunk.choices))


# --- Responses API ------------------------------------------------------------------------------------------


def _response_events(client: openai.OpenAI, **kwargs: Any) -> list[Any]:
    return list(client.responses.create(model=MODEL, input="Say hello.", stream=True, **kwargs))


def test_responses_output_text_verifies_intact(client: openai.OpenAI) -> None:
    """
    `responses.create(...).output_text` is fully labeled.
    """
    assert "intact" == _status(client.responses.create(model=MODEL, input="Say hello.").output_text)


def test_responses_aigc_points_at_the_output_text(client: openai.OpenAI) -> None:
    """
    The Responses `aigc` item names output 0, content part 0.
    """
    item = _extra(client.responses.create(model=MODEL, input="Say hello."))["items"][0]

    assert (0, 0) == (item["index"], item["content_index"])


def test_responses_function_call_is_untouched(labeler: Labeler) -> None:
    """
    A `function_call` output item keeps its arguments byte for byte.
    """
    response = _openai(handler(httpx2, Scenario(tool_call=True)), labeler).responses.create(
        model=MODEL, input="Weather?", tools=[RESPONSES_TOOL]
    )
    call = response.output[1]

    assert ("function_call", TOOL_ARGUMENTS) == (call.type, call.arguments)  # type: ignore[union-attr]


def test_responses_parse_structured_output_is_untouched(labeler: Labeler) -> None:
    """
    `responses.parse` with a schema gets the upstream JSON unchanged and parses it.
    """
    scenario = Scenario(text='{"answer":"Paris"}', json_mode=True)
    response = _openai(handler(httpx2, scenario), labeler).responses.parse(
        model=MODEL, input="Capital of France?", text_format=Answer
    )

    assert (scenario.output_text, Answer(answer="Paris")) == (response.output_text, response.output_parsed)


@pytest.mark.parametrize("chunk_size", [1, 4, 500])
def test_responses_stream_delta_done_and_completed_agree(labeler: Labeler, chunk_size: int) -> None:
    """
    The joined `output_text.delta` deltas, the `output_text.done` text and the completed response's
    `output_text` are one text.
    """
    events = _response_events(_openai(handler(httpx2, Scenario(text=TEXT, chunk_size=chunk_size)), labeler))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    (done,) = [e.text for e in events if e.type == "response.output_text.done"]
    (completed,) = [e.response.output_text for e in events if e.type == "response.completed"]

    assert (deltas, deltas) == (done, completed)


def test_responses_stream_text_verifies_intact(client: openai.OpenAI) -> None:
    """
    The streamed Responses text verifies intact.
    """
    events = _response_events(client)

    assert "intact" == _status("".join(e.delta for e in events if e.type == "response.output_text.delta"))


@pytest.mark.parametrize("tool_call", [False, True])
def test_responses_stream_sequence_numbers_increase_by_one(labeler: Labeler, tool_call: bool) -> None:
    """
    Injected events keep `sequence_number` strictly increasing by one from 0, also for later items.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, tool_call=tool_call)), labeler)
    numbers = [event.sequence_number for event in _response_events(client, tools=[RESPONSES_TOOL])]

    assert list(range(len(numbers))) == numbers


def test_responses_stream_content_part_done_is_labeled(client: openai.OpenAI) -> None:
    """
    `response.content_part.done` and `response.output_item.done` carry the labeled text.
    """
    events = _response_events(client)
    (part,) = [e.part.text for e in events if e.type == "response.content_part.done"]
    (item,) = [e.item.content[0].text for e in events if e.type == "response.output_item.done"]

    assert ("intact", part) == (_status(part), item)


def test_responses_stream_completed_carries_aigc(client: openai.OpenAI) -> None:
    """
    `response.completed`'s response has the `aigc` object with the stream's produce id.
    """
    events = _response_events(client)
    completed = events[-1].response

    assert verify(completed.output_text, key=KEY).produce_id == _extra(completed)["items"][0]["produce_id"]


def test_responses_stream_helper_final_response_is_labeled(client: openai.OpenAI) -> None:
    """
    `responses.stream(...).get_final_response().output_text` verifies intact.
    """
    with client.responses.stream(model=MODEL, input="Say hello.") as stream:
        response = stream.get_final_response()

    assert "intact" == _status(response.output_text)


def test_responses_stream_function_call_is_untouched(labeler: Labeler) -> None:
    """
    Streamed function-call argument deltas join to the upstream arguments.
    """
    events = _response_events(
        _openai(handler(httpx2, Scenario(tool_call=True, chunk_size=4)), labeler), tools=[RESPONSES_TOOL]
    )
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")

    assert TOOL_ARGUMENTS == arguments


def test_responses_stream_skips_junk_lines(labeler: Labeler) -> None:
    """
    Comments, stray lines and an unknown event type pass; the final text still verifies intact.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, malformed_line=True)), labeler)
    with client.responses.stream(model=MODEL, input="Say hello.") as stream:
        response = stream.get_final_response()

    assert "intact" == _status(response.output_text)


def test_responses_stream_refusal_is_untouched(labeler: Labeler) -> None:
    """
    A streamed Responses refusal keeps its text; the completed response still carries `aigc`.
    """
    refusal = "I'm sorry, I can't help with that."
    events = _response_events(_openai(handler(httpx2, Scenario(refusal=refusal)), labeler))
    joined = "".join(e.delta for e in events if e.type == "response.refusal.delta")

    assert (refusal, 1) == (joined, len(_extra(events[-1].response)["items"]))


def test_responses_stream_json_mode_is_unchanged(labeler: Labeler) -> None:
    """
    With `text.format` `json_object` the streamed deltas join to the upstream JSON exactly.
    """
    scenario = Scenario(text='{"answer": "Paris"}', json_mode=True, chunk_size=3)
    events = _response_events(
        _openai(handler(httpx2, scenario), labeler), text={"format": {"type": "json_object"}}
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")

    assert (scenario.output_text, scenario.output_text) == (deltas, events[-1].response.output_text)


def test_async_responses_stream_is_labeled(labeler: Labeler) -> None:
    """
    An async Responses stream yields deltas that verify intact and equal the completed text.
    """
    upstream = handler(httpx2, Scenario(text=TEXT, chunk_size=3))

    async def run() -> tuple[str, str]:
        stream = await _async_openai(upstream, labeler).responses.create(
            model=MODEL, input="Say hello.", stream=True
        )
        events: list[Any] = [event async for event in stream]
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        return deltas, events[-1].response.output_text

    deltas, completed = asyncio.run(run())

    assert ("intact", deltas) == (_status(deltas), completed)


# --- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_error_statuses_raise_the_sdk_error_with_the_body_untouched(
    labeler: Labeler, status: int, error: type[openai.APIStatusError]
) -> None:
    """
    A non-2xx answer raises the SDK's usual error; its body and headers are what the upstream sent.
    """
    scenario = Scenario(status=status)
    with pytest.raises(error) as plain:
        _chat(
            openai.OpenAI(
                api_key="test",
                base_url="http://upstream.test/v1",
                max_retries=0,
                http_client=httpx2.Client(transport=handler(httpx2, scenario).transport()),
            )
        )
    with pytest.raises(error) as wrapped:
        _chat(_openai(handler(httpx2, scenario), labeler))

    assert (plain.value.body, plain.value.response.content, None) == (
        wrapped.value.body,
        wrapped.value.response.content,
        wrapped.value.response.headers.get("aigc"),
    )


class _FailFirst:
    """
    A handler answering 500 to the first *failures* requests (with a tiny `retry-after-ms`), then *scenario*.
    """

    def __init__(self, scenario: Scenario, failures: int = 1) -> None:
        self.failing = handler(httpx2, Scenario(status=500))
        self.upstream = handler(httpx2, scenario)
        self.failures = failures
        self.calls = 0

    def __call__(self, request: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
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
    client = _openai(fail_first, labeler, max_retries=2)  # type: ignore[arg-type]
    content = _chat(client).choices[0].message.content or ""

    assert (2, 1, "intact") == (
        fail_first.calls,
        visible(content).count("AI-generated content"),
        _status(content),
    )


@pytest.mark.parametrize("break_after", [2, 6, 11])
def test_broken_chat_stream_raises_a_connection_error_without_an_end_label(
    labeler: Labeler, break_after: int
) -> None:
    """
    A dropped stream raises `APIConnectionError`; the text received before it has no end label.
    """
    scenario = Scenario(text=TEXT, chunk_size=8, break_after=break_after)
    received: list[str] = []
    stream = _chat(_openai(handler(httpx2, scenario), labeler), stream=True)

    with pytest.raises(openai.APIConnectionError):
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    text = "".join(received)

    assert (True, False) == (
        TEXT.startswith(visible(text)),
        any(phrase in text for phrase in LABEL_PHRASES),
    )


def test_broken_responses_stream_raises_without_an_end_label(labeler: Labeler) -> None:
    """
    A dropped Responses stream raises `APIConnectionError`; the deltas received carry no end label.
    """
    stream = _openai(handler(httpx2, Scenario(text=TEXT, break_after=8)), labeler).responses.create(
        model=MODEL, input="Say hello.", stream=True
    )
    received: list[Any] = []

    with pytest.raises(openai.APIConnectionError):
        received.extend(stream)
    text = "".join(e.delta for e in received if e.type == "response.output_text.delta")

    assert (True, False) == (TEXT.startswith(visible(text)), any(p in text for p in LABEL_PHRASES))


def test_gzip_json_is_labeled(labeler: Labeler) -> None:
    """
    A gzip-encoded JSON answer is decoded, labeled and parsed.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, gzip=True)), labeler)

    assert "intact" == _status(_chat(client).choices[0].message.content)


def test_gzip_stream_is_labeled(labeler: Labeler) -> None:
    """
    A gzip-encoded SSE stream is decoded and labeled.
    """
    client = _openai(handler(httpx2, Scenario(text=TEXT, gzip=True)), labeler)

    assert "intact" == _status(_chat_stream_text(client))


def test_context_headers_never_reach_upstream(upstream: Upstream, client: openai.OpenAI) -> None:
    """
    `x-aigc-user` is consumed by the middleware and removed from the upstream request.
    """
    _chat(client, extra_headers={"x-aigc-user": "u-1", "x-aigc-conversation": "c-1"})

    assert [] == [name for name in upstream.requests[-1].headers if name.startswith("x-aigc-")]


def test_context_headers_still_label(client: openai.OpenAI) -> None:
    """
    A call with a user context header is still labeled intact.
    """
    completion = _chat(client, extra_headers={"x-aigc-user": "u-1"})

    assert "intact" == _status(completion.choices[0].message.content)


def test_refused_opt_out_raises_before_anything_reaches_upstream(upstream: Upstream) -> None:
    """
    With opt_out_on_error = "raise", `x-aigc-opt-out: <version>` that cannot be honoured (no
    record store) raises `OptOutError`; the upstream receives nothing.
    """
    strict = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, opt_out_on_error="raise"))

    with pytest.raises(OptOutError):
        _chat(_openai(upstream, strict), extra_headers={"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1"})

    assert [] == upstream.requests


def test_refused_opt_out_is_labeled_by_default(client: openai.OpenAI) -> None:
    """
    By default a refused opt-out labels the text as usual (visible label and intact marks).
    """
    completion = _chat(client, extra_headers={"x-aigc-opt-out": "2025-09", "x-aigc-user": "u-1"})

    assert "intact" == _status(completion.choices[0].message.content)


def test_opt_out_zero_is_not_an_opt_out(client: openai.OpenAI) -> None:
    """
    `x-aigc-opt-out: 0` means no opt-out: the call is labeled.
    """
    completion = _chat(client, extra_headers={"x-aigc-opt-out": "0"})

    assert "intact" == _status(completion.choices[0].message.content)


def _history(labeled: str) -> list[Any]:
    return [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": labeled},
        {"role": "user", "content": "Again."},
    ]


def test_history_hygiene_drops_own_marks_from_assistant_turns(
    upstream: Upstream, client: openai.OpenAI
) -> None:
    """
    A labeled assistant turn sent back goes upstream without its invisible marks but with its visible text.
    """
    labeled = _chat(client).choices[0].message.content or ""
    client.chat.completions.create(model=MODEL, messages=_history(labeled))

    assert (visible(labeled), True) == (
        upstream.requests[-1].json["messages"][1]["content"],
        visible(labeled) != labeled,
    )


def test_history_hygiene_drops_the_marks_of_a_streamed_answer(labeler: Labeler) -> None:
    """
    A long streamed answer (packets inside the text and a seal) sent back goes upstream as its visible text.
    """
    long_text = " ".join(f"Sentence number {i} of a long streamed answer." for i in range(60))
    upstream = handler(httpx2, Scenario(text=long_text, chunk_size=3))
    client = _openai(upstream, labeler)
    labeled = _chat_stream_text(client)
    client.chat.completions.create(model=MODEL, messages=_history(labeled))

    assert (visible(labeled), True) == (
        upstream.requests[-1].json["messages"][1]["content"],
        len(mark_layout(labeled)) > 1,
    )


def test_history_hygiene_keeps_user_turns(upstream: Upstream, client: openai.OpenAI) -> None:
    """
    Marks in a user turn (quoted text) are not the middleware's business: they go upstream as they are.
    """
    labeled = _chat(client).choices[0].message.content or ""
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": labeled}])

    assert labeled == upstream.requests[-1].json["messages"][0]["content"]


def test_history_hygiene_keeps_other_producers_marks(upstream: Upstream, client: openai.OpenAI) -> None:
    """
    Marks made under another key are not this labeler's: the assistant turn goes upstream unchanged.
    """
    other = Labeler(LabelPolicy(producer=PRODUCER, key="7c1e9a3f5b2d8e604a9c1f3e5d7b9a20")).label(TEXT).text
    client.chat.completions.create(model=MODEL, messages=_history(other))

    assert (other, True) == (upstream.requests[-1].json["messages"][1]["content"], other != visible(other))


def test_history_hygiene_off_sends_the_turn_unchanged(upstream: Upstream, labeler: Labeler) -> None:
    """
    With `history_hygiene=False` the labeled assistant turn goes upstream byte for byte.
    """
    client = _openai(upstream, labeler, history_hygiene=False)
    labeled = _chat(client).choices[0].message.content or ""
    client.chat.completions.create(model=MODEL, messages=_history(labeled))

    assert labeled == upstream.requests[-1].json["messages"][1]["content"]


def test_history_hygiene_on_responses_input(upstream: Upstream, client: openai.OpenAI) -> None:
    """
    An assistant `output_text` part in Responses `input` loses the marks, keeps the visible text.
    """
    labeled = client.responses.create(model=MODEL, input="Say hello.").output_text
    history: Any = [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": [{"type": "output_text", "text": labeled}]},
        {"role": "user", "content": "Again."},
    ]
    client.responses.create(model=MODEL, input=history)

    assert visible(labeled) == upstream.requests[-1].json["input"][1]["content"][0]["text"]


# --- OpenTelemetry ------------------------------------------------------------------------------------------


@pytest.fixture(name="exporter")
def _exporter() -> InMemorySpanExporter:
    """
    An in-memory exporter behind a simple span processor.
    """
    return InMemorySpanExporter()


@pytest.fixture(name="provider")
def _provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """
    A tracer provider exporting to *exporter* (not installed globally).
    """
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture(name="traced")
def _traced(labeler: Labeler, provider: TracerProvider) -> openai.OpenAI:
    """
    A wrapped client whose upstream answers with a dated model name, traced by *provider*.
    """
    scenario = Scenario(text=TEXT, model="gpt-4o-mini-2024-07-18")
    return _openai(handler(httpx2, scenario), labeler, tracer_provider=provider)


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def test_span_one_client_span_per_call(traced: openai.OpenAI, exporter: InMemorySpanExporter) -> None:
    """
    One call gives exactly one CLIENT span named `chat gpt-4o-mini`.
    """
    _chat(traced)

    assert [("chat gpt-4o-mini", SpanKind.CLIENT)] == [
        (s.name, s.kind) for s in exporter.get_finished_spans()
    ]


def test_span_has_the_genai_attributes(traced: openai.OpenAI, exporter: InMemorySpanExporter) -> None:
    """
    The span carries operation, provider, request and response models, usage and finish reasons.
    """
    completion = _chat(traced)
    assert completion.usage is not None
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    attributes = dict(_only_span(exporter).attributes or {})

    assert expected == {key: attributes.get(key) for key in expected}


def test_span_records_the_label(traced: openai.OpenAI, exporter: InMemorySpanExporter) -> None:
    """
    `aigc.label_applied` is True and `aigc.produce_id` names the produce id of the body.
    """
    completion = _chat(traced)
    attributes = dict(_only_span(exporter).attributes or {})

    assert (True, (_extra(completion)["items"][0]["produce_id"],)) == (
        attributes.get("aigc.label_applied"),
        attributes.get("aigc.produce_id"),
    )


def test_span_ends_when_the_stream_is_consumed(traced: openai.OpenAI, exporter: InMemorySpanExporter) -> None:
    """
    A stream's span is still open after `create()` and ends once the stream has been read.
    """
    stream = _chat(traced, stream=True)
    before = len(exporter.get_finished_spans())
    for _ in stream:
        pass

    assert (0, 1) == (before, len(exporter.get_finished_spans()))


def test_span_of_a_stream_has_the_stream_attributes(
    traced: openai.OpenAI, exporter: InMemorySpanExporter
) -> None:
    """
    A consumed stream's span has the response model, usage, finish reasons and the label.
    """
    chunks = list(_chat(traced, stream=True, stream_options={"include_usage": True}))
    usage = chunks[-1].usage
    assert usage is not None
    produce_id = next(_extra(c) for c in chunks if _extra(c) is not None)["items"][0]["produce_id"]
    expected = {
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.response.finish_reasons": ("stop",),
        "aigc.label_applied": True,
        "aigc.produce_id": (produce_id,),
    }
    attributes = dict(_only_span(exporter).attributes or {})

    assert expected == {key: attributes.get(key) for key in expected}


def test_span_of_a_responses_stream_has_the_finish_status(
    traced: openai.OpenAI, exporter: InMemorySpanExporter
) -> None:
    """
    A Responses stream's span reports the response status as its finish reason, and the label.
    """
    events = _response_events(traced)
    attributes = dict(_only_span(exporter).attributes or {})

    assert (("completed",), True, (_extra(events[-1].response)["items"][0]["produce_id"],)) == (
        attributes.get("gen_ai.response.finish_reasons"),
        attributes.get("aigc.label_applied"),
        attributes.get("aigc.produce_id"),
    )


def test_span_of_an_async_stream_ends_when_consumed(
    labeler: Labeler, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """
    An async stream's span ends once the stream has been read, with the label applied.
    """
    upstream = handler(httpx2, Scenario(text=TEXT))

    async def run() -> int:
        stream = await _async_openai(upstream, labeler, tracer_provider=provider).chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True
        )
        before = len(exporter.get_finished_spans())
        async for _ in stream:
            pass
        return before

    before = asyncio.run(run())

    assert (0, True) == (before, (_only_span(exporter).attributes or {}).get("aigc.label_applied"))


def test_span_of_an_error_is_an_error(
    labeler: Labeler, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """
    A 500 answer ends the span with status ERROR and no label applied.
    """
    client = _openai(handler(httpx2, Scenario(status=500)), labeler, tracer_provider=provider)
    with pytest.raises(openai.InternalServerError):
        _chat(client)
    span = _only_span(exporter)

    assert ("ERROR", 500, False) == (
        span.status.status_code.name,
        (span.attributes or {}).get("http.response.status_code"),
        (span.attributes or {}).get("aigc.label_applied"),
    )


def test_span_not_created_for_untraced_endpoints(
    labeler: Labeler, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """
    A request to a non-generation endpoint makes no span.
    """
    client = _openai(handler(httpx2, Scenario()), labeler, tracer_provider=provider)
    with pytest.raises(openai.NotFoundError):
        client.models.list()

    assert () == tuple(exporter.get_finished_spans())
