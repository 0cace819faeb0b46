"""
ChatOpenAI and ChatAnthropic against the mock upstream (no network): label data on every message,
whether LabeledChatModel labels or the wrapped transport did; tools and structured output.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from aigclabel import Labeler, verify
from aigclabel.adapters.langchain import LabeledChatModel, message_aigc, wrap_chat_model
from aigclabel.middleware import wrap
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.adapters.langchain.conftest import TEXT, joined
from tests.helpers import KEY
from tests.middleware.upstream import Scenario, Upstream, handler


class Answer(BaseModel):
    answer: str


def openai_model(upstream: Upstream, labeler: Labeler | None = None, **options: Any) -> ChatOpenAI:
    """
    A ChatOpenAI on the mock upstream; with *labeler*, its HTTP clients are wrapped (public arguments only).
    """
    sync, async_ = (
        httpx2.Client(transport=upstream.transport()),
        httpx2.AsyncClient(transport=upstream.transport()),
    )
    if labeler is not None:
        sync, async_ = wrap(sync, labeler), wrap(async_, labeler)
    return ChatOpenAI(
        model="gpt-4o-mini",
        api_key="test",  # type: ignore[arg-type]
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=sync,
        http_async_client=async_,
        **options,
    )


def anthropic_model(upstream: Upstream) -> ChatAnthropic:
    """
    A ChatAnthropic on the mock upstream (its default HTTP client, the mock transport mounted).
    """
    model = ChatAnthropic(
        model="claude-sonnet-4-5", api_key="test", base_url="http://upstream.test", max_retries=0
    )  # type: ignore[call-arg,arg-type]
    model._client._client._transport = upstream.transport()
    model._async_client._client._transport = upstream.transport()
    return model


def intact(text: str) -> bool:
    return verify(text, key=KEY).status == "intact"


# --- LabeledChatModel labels (unwrapped clients) --------------------------------------------------


def test_chat_openai_invoke_and_stream_are_labeled_with_label_data(labeler: Labeler) -> None:
    """
    LabeledChatModel(inner=ChatOpenAI): invoke and stream are labeled, with label data.
    """
    model = LabeledChatModel(inner=openai_model(handler(httpx2, Scenario(text=TEXT))), labeler=labeler)
    reply = model.invoke("hi")
    total = joined(list(model.stream("hi")))
    assert (True, True) == (intact(reply.text), intact(total.text))
    assert ("end", "end") == (message_aigc(reply).stage, message_aigc(total).stage)  # type: ignore[union-attr]


def test_bind_tools_delegates_and_tool_calls_pass_unchanged(labeler: Labeler) -> None:
    """
    bind_tools goes to ChatOpenAI (the tools reach the upstream); the tool call is unchanged.
    """
    upstream = handler(httpx2, Scenario(text="", tool_call=True))
    model = LabeledChatModel(inner=openai_model(upstream), labeler=labeler)

    def get_weather(location: str, unit: str) -> str:
        """Weather for a location."""
        return "sunny"

    reply = model.bind_tools([get_weather]).invoke("weather?")
    sent = json.loads(upstream.last.body)
    assert "get_weather" == sent["tools"][0]["function"]["name"]
    assert {"location": "Paris", "unit": "celsius"} == reply.tool_calls[0]["args"]
    assert "" == reply.content
    assert message_aigc(reply) is not None


@pytest.mark.parametrize("method", ["json_mode", "json_schema"])
def test_structured_output_is_parsed_from_unaltered_content(labeler: Labeler, method: str) -> None:
    """
    with_structured_output (JSON mode, JSON schema): the content is never altered, so it parses;
    the raw message carries the label data.
    """
    upstream = handler(httpx2, Scenario(text='{"answer": "Paris"}', json_mode=True))
    model = LabeledChatModel(inner=openai_model(upstream), labeler=labeler)
    out = model.with_structured_output(Answer, method=method, include_raw=True).invoke("capital?")
    assert Answer(answer="Paris") == out["parsed"]
    assert '{"answer": "Paris"}' == out["raw"].content
    assert message_aigc(out["raw"]) is not None


def test_structured_output_stream_is_unaltered(labeler: Labeler) -> None:
    """
    A streamed JSON-mode reply passes unchanged and still parses.
    """
    upstream = handler(httpx2, Scenario(text='{"answer": "Paris"}', json_mode=True))
    model = LabeledChatModel(inner=openai_model(upstream), labeler=labeler)
    parsed = list(model.with_structured_output(Answer, method="json_mode").stream("capital?"))
    assert Answer(answer="Paris") == parsed[-1]


def test_function_calling_structured_output_parses(labeler: Labeler) -> None:
    """
    with_structured_output by function calling: the tool call's arguments parse.
    """
    upstream = handler(httpx2, Scenario(text="", tool_call=True))
    model = LabeledChatModel(inner=openai_model(upstream), labeler=labeler)

    class Weather(BaseModel):
        location: str
        unit: str

    out = model.with_structured_output(Weather, method="function_calling").invoke("weather?")
    assert Weather(location="Paris", unit="celsius") == out


# --- the wrapped transport labels ------------------------------------------------------------------


def test_wrapped_chat_openai_alone_loses_label_data(labeler: Labeler) -> None:
    """
    Pinned LangChain behaviour: ChatOpenAI drops the middleware's `aigc` (the text is labeled).
    """
    reply = openai_model(handler(httpx2, Scenario(text=TEXT)), labeler).invoke("hi")
    assert intact(reply.text)
    assert "aigc" not in reply.response_metadata
    assert "aigc" not in reply.additional_kwargs


def test_wrapped_chat_openai_in_labeled_model_has_label_data_and_one_label(labeler: Labeler) -> None:
    """
    LabeledChatModel over a ChatOpenAI with wrapped clients: detected, nothing labeled twice,
    label data recovered from the text; invoke, stream, ainvoke, astream.
    """
    model = LabeledChatModel(
        inner=openai_model(handler(httpx2, Scenario(text=TEXT)), labeler), labeler=labeler
    )

    async def both() -> list[Any]:
        return [await model.ainvoke("hi"), joined([c async for c in model.astream("hi")])]

    replies = [model.invoke("hi"), joined(list(model.stream("hi"))), *asyncio.run(both())]
    assert [True] * 4 == [intact(r.text) for r in replies]
    assert [1] * 4 == [r.text.count("[AI-generated content") for r in replies]
    infos = [message_aigc(r) for r in replies]
    assert all(i is not None and i.items[0].metadata.reserved_code1.startswith("SD2.") for i in infos)


def test_wrap_chat_model_wraps_an_existing_chat_openai(labeler: Labeler) -> None:
    """
    wrap_chat_model labels at the transport of a ChatOpenAI built without wrapped clients.
    """
    inner = wrap_chat_model(openai_model(handler(httpx2, Scenario(text=TEXT))), labeler)
    assert intact(inner.invoke("hi").text)
    assert LabeledChatModel(inner=inner, labeler=labeler)._upstream


def test_chat_anthropic_labeled_model_invoke_and_stream(labeler: Labeler) -> None:
    """
    LabeledChatModel(inner=ChatAnthropic): text blocks are labeled, label data on the message.
    """
    model = LabeledChatModel(inner=anthropic_model(handler(httpx2, Scenario(text=TEXT))), labeler=labeler)
    reply = model.invoke("hi")
    total = joined(list(model.stream("hi")))
    assert (True, True) == (intact(reply.text), intact(total.text))
    assert message_aigc(total) is not None


def test_wrapped_chat_anthropic_in_labeled_model_keeps_one_label(labeler: Labeler) -> None:
    """
    ChatAnthropic wrapped with wrap_chat_model (its clients are private: pinned here) inside
    LabeledChatModel: one label, label data on invoke and stream.
    """
    inner = wrap_chat_model(anthropic_model(handler(httpx2, Scenario(text=TEXT))), labeler)
    model = LabeledChatModel(inner=inner, labeler=labeler)
    replies = [model.invoke("hi"), joined(list(model.stream("hi")))]
    assert [True, True] == [intact(r.text) for r in replies]
    assert [1, 1] == [r.text.count("[AI-generated content") for r in replies]
    assert all(message_aigc(r) is not None for r in replies)
