"""
LabeledChatModel over LangChain's fake chat models: every entry point returns labeled text.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from aigclabel import Labeler, OptOut, verify
from aigclabel.adapters.audit import AuditStore
from aigclabel.adapters.langchain import LabeledChatModel, message_aigc
from aigclabel.middleware import aigc_info
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from tests.adapters.langchain.conftest import TEXT, generic, joined
from tests.helpers import KEY

OPT_OUT = OptOut(user="u-1", agreement_version="2025-09")


class BlockStream(BaseChatModel):
    """
    Streams TEXT as Anthropic-style text blocks with an index.
    """

    @property
    def _llm_type(self) -> str:
        return "blocks"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        raise NotImplementedError

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        for i in range(0, len(TEXT), 16):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=[{"type": "text", "text": TEXT[i : i + 16], "index": 0}])
            )


def intact(text: str) -> bool:
    return verify(text, key=KEY).status == "intact"


def labeled(labeler: Labeler, *answers: str | AIMessage) -> LabeledChatModel:
    return LabeledChatModel(inner=generic(*answers), labeler=labeler)


# --- invoke, batch --------------------------------------------------------------------------------


def test_invoke_returns_labeled_text_with_label_data(labeler: Labeler) -> None:
    """
    invoke: the text verifies intact, the visible label is in it, aigc_info reads the label data.
    """
    reply = labeled(labeler, TEXT).invoke("hi")
    info = aigc_info(reply.response_metadata)
    assert info is not None
    assert (True, "end", True) == (intact(reply.text), info.stage, info.items[0].explicit)
    assert info.items[0].metadata.reserved_code1.startswith("SD2.")
    assert reply.text.startswith(TEXT)


def test_ainvoke_returns_labeled_text(labeler: Labeler) -> None:
    """
    ainvoke labels as invoke does.
    """
    reply = asyncio.run(labeled(labeler, TEXT).ainvoke("hi"))
    assert intact(reply.text)
    assert message_aigc(reply) is not None


def test_batch_and_abatch_label_every_reply(labeler: Labeler) -> None:
    """
    batch and abatch: every reply is labeled, each with its own ProduceID.
    """
    model = LabeledChatModel(
        inner=FakeListChatModel(responses=[TEXT, TEXT + " More.", TEXT]), labeler=labeler
    )
    replies = model.batch(["a", "b"]) + asyncio.run(model.abatch(["c"]))
    assert all(intact(r.text) for r in replies)
    ids = {message_aigc(r).items[0].produce_id for r in replies}  # type: ignore[union-attr]
    assert 3 == len(ids)


def test_block_content_is_labeled_and_content_blocks_follow(labeler: Labeler) -> None:
    """
    A list content: its text blocks are labeled as one text, other blocks kept, content_blocks consistent.
    """
    message = AIMessage(
        content=[
            {"type": "text", "text": "The capital of France is Paris. "},
            {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
            {"type": "text", "text": "It has many museums and parks along the Seine."},
        ]
    )
    reply = LabeledChatModel(inner=FakeMessagesListChatModel(responses=[message]), labeler=labeler).invoke(
        "x"
    )
    assert isinstance(reply.content, list)
    assert reply.content[1] == message.content[1]
    assert intact(reply.text)
    assert reply.text == "".join(b["text"] for b in reply.content_blocks if b["type"] == "text")


def test_inner_message_is_never_mutated_and_a_cached_reply_gets_one_label(labeler: Labeler) -> None:
    """
    An inner cache hands out the same message twice: each labeled reply has exactly one label,
    and the cached message is unchanged.
    """
    cache = InMemoryCache()
    inner = FakeListChatModel(responses=[TEXT, "other"], cache=cache)
    model = LabeledChatModel(inner=inner, labeler=labeler)
    first, second = model.invoke("same"), model.invoke("same")
    assert [1, 1] == [first.text.count("[AI-generated content"), second.text.count("[AI-generated content")]
    assert intact(first.text)
    assert intact(second.text)
    (cached,) = [g.message.content for gens in cache._cache.values() for g in gens]  # type: ignore[attr-defined]
    assert TEXT == cached


def test_an_already_labeled_reply_is_not_labeled_twice(labeler: Labeler) -> None:
    """
    A text that carries this labeler's intact label keeps it, with its label data.
    """
    text = labeler.label(TEXT).text
    reply = labeled(labeler, AIMessage(text)).invoke("x")
    assert text == reply.text
    assert message_aigc(reply) is not None


def test_tool_call_only_reply_is_unaltered_with_label_data(labeler: Labeler) -> None:
    """
    A reply with tool calls and no text is released as is; its label is the label data.
    """
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1", "type": "tool_call"}
    inner = FakeMessagesListChatModel(responses=[AIMessage(content="", tool_calls=[call])])
    reply = LabeledChatModel(inner=inner, labeler=labeler).invoke("x")
    info = message_aigc(reply)
    assert ("", [call], False) == (reply.content, reply.tool_calls, info.items[0].explicit if info else None)


def test_history_sent_to_the_inner_model_has_no_own_marks(labeler: Labeler) -> None:
    """
    History hygiene: AI messages sent to the inner model lose this labeler's marks, keep the visible label.
    """
    seen: list[list[BaseMessage]] = []

    class Recording(FakeListChatModel):
        def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
            seen.append(messages)
            return super()._call(messages, *args, **kwargs)

    model = LabeledChatModel(inner=Recording(responses=[TEXT, TEXT]), labeler=labeler)
    first = model.invoke("hi")
    model.invoke([HumanMessage("hi"), first, HumanMessage("again")])
    sent = seen[-1][1]
    assert verify(str(sent.content), key=KEY).status == "not_found"
    assert "[AI-generated content" in str(sent.content)
    assert intact(first.text)  # the caller's message keeps its marks


# --- streams --------------------------------------------------------------------------------------


def test_stream_chunks_join_to_a_labeled_text(labeler: Labeler) -> None:
    """
    stream: the chunks joined verify intact and equal the one-shot label's shape.
    """
    chunks = list(labeled(labeler, TEXT).stream("hi"))
    assert intact("".join(str(c.content) for c in chunks))
    assert "last" == chunks[-1].chunk_position


def test_stream_label_data_start_on_first_text_chunk_end_on_last(labeler: Labeler) -> None:
    """
    The first chunk with text carries aigc_start (stage start, no ReservedCode1); the last aigc (end).
    """
    chunks = list(labeled(labeler, TEXT).stream("hi"))
    first = next(c for c in chunks if c.content)
    start = message_aigc(first)
    end = aigc_info(chunks[-1].response_metadata)
    assert start is not None
    assert end is not None
    assert ("start", "", "end") == (start.stage, start.items[0].metadata.reserved_code1, end.stage)
    assert start.items[0].produce_id == end.items[0].produce_id
    assert all("aigc" not in c.response_metadata for c in chunks[:-1])


def test_merged_stream_has_clean_final_label_data(labeler: Labeler) -> None:
    """
    Chunks added together keep both objects intact: aigc is the final one, aigc_start the first.
    """
    chunks = list(labeled(labeler, TEXT).stream("hi"))
    total = joined(chunks)
    assert chunks[-1].response_metadata["aigc"] == total.response_metadata["aigc"]
    assert "start" == total.response_metadata["aigc_start"]["stage"]
    assert intact(str(total.content))


def test_astream_labels_and_carries_label_data(labeler: Labeler) -> None:
    """
    astream labels as stream does.
    """

    async def collect() -> list[AIMessageChunk]:
        return [c async for c in labeled(labeler, TEXT).astream("hi")]

    chunks = asyncio.run(collect())
    assert intact(str(joined(chunks).content))
    assert "end" == message_aigc(chunks[-1]).stage  # type: ignore[union-attr]


def test_block_content_stream_merges_into_labeled_blocks(labeler: Labeler) -> None:
    """
    A stream of text blocks with indexes: the end label and seal merge into the last text block.
    """

    chunks = list(LabeledChatModel(inner=BlockStream(), labeler=labeler).stream("x"))
    total = joined(chunks)
    assert isinstance(total.content, list)
    assert 1 == len([b for b in total.content if isinstance(b, dict) and b.get("type") == "text"])
    assert intact(total.text)


def test_on_llm_new_token_sees_only_labeled_tokens(labeler: Labeler) -> None:
    """
    A streaming UI's callback handler sees the labeled tokens, and never the inner model's.
    """
    tokens: list[str] = []

    class UI(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            tokens.append(token)

    chunks = list(labeled(labeler, TEXT).stream("hi", config={"callbacks": [UI()]}))
    text = "".join(str(c.content) for c in chunks)
    assert text == "".join(tokens)
    assert intact("".join(tokens))


def test_invoke_with_a_streaming_handler_labels_the_tokens_and_the_result(labeler: Labeler) -> None:
    """
    invoke inside astream_events (v2): the streamed events and the final message are labeled.
    """

    async def events() -> list[dict[str, Any]]:
        return [e async for e in labeled(labeler, TEXT).astream_events("hi", version="v2")]

    got = asyncio.run(events())
    streamed = "".join(str(e["data"]["chunk"].content) for e in got if e["event"] == "on_chat_model_stream")
    (end,) = [e for e in got if e["event"] == "on_chat_model_end"]
    assert intact(streamed)
    assert streamed == end["data"]["output"].text
    assert "end" == message_aigc(end["data"]["output"]).stage  # type: ignore[union-attr]


# v3 event streams are beta in langchain-core 1.8: the warning is expected here and only here.
@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_stream_events_v3_text_and_output_are_labeled(labeler: Labeler) -> None:
    """
    stream_events(version="v3"): the text projection and the output message are labeled, with label data.
    """
    stream = labeled(labeler, TEXT).stream_events("hi", version="v3")
    text = "".join(stream.text)
    output = stream.output
    assert intact(text)
    assert intact(output.text)
    assert "end" == message_aigc(output).stage  # type: ignore[union-attr]


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_astream_events_v3_is_labeled(labeler: Labeler) -> None:
    """
    astream_events(version="v3") labels as the sync v3 stream does.
    """

    async def run() -> tuple[str, AIMessage]:
        stream = await labeled(labeler, TEXT).astream_events("hi", version="v3")
        text = "".join([t async for t in stream.text])
        return text, await stream

    text, output = asyncio.run(run())
    assert intact(text)
    assert intact(output.text)


def test_breaking_out_of_a_stream_aborts_and_records_what_was_delivered(
    audited: Labeler, store_url: str
) -> None:
    """
    An opted-out stream the consumer leaves early: the start record, then a completion record
    of the delivered text.
    """
    model = labeled(audited, TEXT)
    delivered = []
    with audited.context(user="u-1", opt_out=OPT_OUT):
        stream = model.stream("hi")
        for chunk in stream:
            delivered.append(str(chunk.content))
            if len("".join(delivered)) > 20:
                break
        stream.close()
    store = AuditStore.open(store_url)
    try:
        records = store.query()
    finally:
        store.close()
    assert ["generated", "completed"] == [r.kind for r in records]


def test_opt_out_invoke_records_before_release_without_visible_label(
    audited: Labeler, store_url: str
) -> None:
    """
    Opt-out through the labeler context: recorded, no visible label, marks intact.
    """
    with audited.context(user="u-1", opt_out=OPT_OUT):
        reply = labeled(audited, TEXT).invoke("hi")
    verdict = verify(reply.text, key=KEY)
    assert ("intact", ()) == (verdict.status, verdict.evidence.explicit)
    assert message_aigc(reply).items[0].ui.opted_out  # type: ignore[union-attr]
    store = AuditStore.open(store_url)
    try:
        assert ["generated"] == [r.kind for r in store.query()]
    finally:
        store.close()


def test_opt_out_stream_records_before_the_first_chunk(audited: Labeler, store_url: str) -> None:
    """
    The stream's record exists when the first chunk arrives; a completion record follows the end.
    """

    def kinds() -> list[str]:
        store = AuditStore.open(store_url)
        try:
            return [r.kind for r in store.query()]
        finally:
            store.close()

    with audited.context(user="u-1", opt_out=OPT_OUT):
        stream = labeled(audited, TEXT).stream("hi")
        next(stream)
        at_first = kinds()
        rest = list(stream)
    text = "".join(str(c.content) for c in rest)
    assert (["generated"], ["generated", "completed"]) == (at_first, kinds())
    assert "[AI-generated" not in text


def test_context_language_is_used(labeler: Labeler) -> None:
    """
    The labeler's context binds per request: a Chinese label for a Chinese request context.
    """
    with labeler.context(language="zh"):
        reply = labeled(labeler, TEXT).invoke("hi")
    assert "本内容由人工智能生成" in reply.text


def test_identity_names_the_inner_model(labeler: Labeler) -> None:
    """
    _llm_type and the identifying parameters name the inner model (cache keys, tracing).
    """
    model = labeled(labeler, TEXT)
    assert "aigc-labeled-generic-fake-chat-model" == model._llm_type
    assert "generic-fake-chat-model" == model._identifying_params["inner"]["_type"]


def test_leaving_an_astream_early_records_what_was_delivered(audited: Labeler, store_url: str) -> None:
    """
    astream left early and closed: the start record, then a completion record of what was delivered.
    """

    def kinds() -> list[str]:
        store = AuditStore.open(store_url)
        try:
            return [r.kind for r in store.query()]
        finally:
            store.close()

    async def consume() -> list[str]:
        with audited.context(user="u-1", opt_out=OPT_OUT):
            stream = labeled(audited, TEXT).astream("hi")
            async for chunk in stream:
                if chunk.content:
                    break
            await stream.aclose()  # type: ignore[attr-defined]
        # LangChain's astream does not close the hook generator it left: the event loop finalizes
        # it once it is collected (it may sit in a reference cycle), and the record follows.
        gc.collect()
        for _ in range(200):  # bounded: at most about two seconds
            if len(kinds()) == 2:
                break
            await asyncio.sleep(0.01)
        return kinds()

    assert ["generated", "completed"] == asyncio.run(consume())
