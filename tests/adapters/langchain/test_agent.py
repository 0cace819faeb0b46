"""
AIGCLabelMiddleware: a ``create_agent`` agent with a tool, labeled in its state, its streams and
its v3 event streams; opt-outs recorded before release; history sent to the model kept clean.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel import Labeler, LabelPolicy, OptOut, verify
from aigclabel.adapters.audit import AuditStore
from aigclabel.adapters.langchain import AIGCLabelMiddleware, LabeledChatModel, label_message, message_aigc
from aigclabel.adapters.langchain.agent import _Board, _LabelStreamTransformer
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import tool
from pydantic import Field

from tests.adapters.langchain.conftest import TEXT
from tests.helpers import KEY, PRODUCER, visible

#: v3 event streaming on a compiled graph is marked experimental in langgraph 1.2 (it warns
#: with LangChainBetaWarning on every call); only the tests that use it accept that warning.
V3 = pytest.mark.filterwarnings(
    "ignore:The v3 streaming protocol on Pregel is experimental"
    ":langchain_core._api.beta_decorator.LangChainBetaWarning"
)
TOOL_CALL = {"name": "add", "args": {"a": 1, "b": 2}, "id": "call-1"}


class ToolCallingFake(GenericFakeChatModel):
    """
    GenericFakeChatModel that accepts tools, streams tool calls, and keeps what it was sent.
    """

    received: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[getattr(t, "name", t) for t in tools])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._generate(messages, stop=stop, run_manager=run_manager).generations[0].message
        assert isinstance(reply, AIMessage)
        if not reply.tool_calls:
            for token in _words(reply.text):
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id=reply.id))
                if run_manager:
                    run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk
            return
        calls = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(reply.tool_calls)
        ]
        chunk = ChatGenerationChunk(
            message=AIMessageChunk(content="", id=reply.id, tool_call_chunks=calls, chunk_position="last")  # type: ignore[arg-type]
        )
        if run_manager:
            run_manager.on_llm_new_token("", chunk=chunk)
        yield chunk


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def fake(*answers: AIMessage | str) -> ToolCallingFake:
    """
    A fake model that first calls the tool, then answers *answers* in turn (TEXT by default).
    """
    replies = [AIMessage(content="", tool_calls=[TOOL_CALL])] + [
        a if isinstance(a, AIMessage) else AIMessage(a) for a in (answers or (TEXT,))
    ]
    return ToolCallingFake(messages=iter(replies))


def question(text: str = "What is 1 + 2?") -> dict[str, Any]:
    return {"messages": [HumanMessage(text)]}


@pytest.fixture(name="labeler")
def _labeler() -> Labeler:
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))  # ids read from the text


def agent_for(model: Any, labeler: Labeler, *extra: AgentMiddleware[Any, Any, Any]) -> Any:
    return create_agent(model, tools=[add], middleware=[*extra, AIGCLabelMiddleware(labeler)])


def records(store_url: str) -> list[tuple[str, str]]:
    """
    (kind, user) of each record; none before the labeler's first record creates the store.
    """
    if not Path(store_url.removeprefix("sqlite:///")).exists():
        return []
    store = AuditStore.open(store_url)
    try:
        return [(r.kind, r.user) for r in store.query()]
    finally:
        store.close()


def token_text(parts: list[Any]) -> str:
    """
    The AI tokens of a ``stream_mode=["messages", ...]`` stream, joined.
    """
    chunks = [p[1][0] for p in parts if p[0] == "messages"]
    return "".join(c.text for c in chunks if isinstance(c, AIMessageChunk))


def v3_text(events: list[Any]) -> tuple[str, str, dict[str, Any] | None]:
    """
    From raw v3 events: the text deltas of the last AI text block joined, that block's finished
    text, and the last message-finish metadata.
    """
    deltas: list[str] = []
    finished, metadata = "", None
    for event in events:
        if event["method"] != "messages":
            continue
        payload, _ = event["params"]["data"]
        if not isinstance(payload, dict):
            continue
        if payload["event"] == "message-start":
            deltas = []
        elif payload["event"] == "content-block-delta" and payload["delta"]["type"] == "text-delta":
            deltas.append(payload["delta"]["text"])
        elif payload["event"] == "content-block-finish" and payload["content"]["type"] == "text":
            finished = payload["content"]["text"]
        elif payload["event"] == "message-finish":
            metadata = payload.get("metadata")
    return "".join(deltas), finished, metadata


# --- invoke / ainvoke ------------------------------------------------------------------------------


def test_invoke_labels_the_final_answer_and_it_verifies_intact(labeler: Labeler) -> None:
    """
    The agent's final answer carries the visible label and intact marks, and its label data.
    """
    state = agent_for(fake(), labeler).invoke(question())
    final = state["messages"][-1]

    verdict = verify(final.text, key=KEY)
    info = message_aigc(final)
    assert ("intact", True) == (verdict.status, bool(verdict.evidence.explicit))
    assert info is not None
    assert verdict.produce_id == info.items[0].produce_id
    assert TEXT == visible(final.text).split("\n\n[")[0]


def test_ainvoke_labels_the_final_answer_and_it_verifies_intact(labeler: Labeler) -> None:
    """
    The async agent labels the same way.
    """
    state = asyncio.run(agent_for(fake(), labeler).ainvoke(question()))

    assert "intact" == verify(state["messages"][-1].text, key=KEY).status


def test_a_tool_call_step_is_not_altered_and_carries_label_data(labeler: Labeler) -> None:
    """
    The model's tool-call step keeps its content and tool calls; its label is the label data.
    """
    state = agent_for(fake(), labeler).invoke(question())
    step = state["messages"][1]

    assert ("", [TOOL_CALL["args"]]) == (step.text, [c["args"] for c in step.tool_calls])
    assert message_aigc(step) is not None
    assert "3" == state["messages"][2].text


# --- opt-out -------------------------------------------------------------------------------------


class _RecordsAtRelease(AgentMiddleware[Any, Any, Any]):
    """
    Outermost middleware: what the record store holds when the labeled reply leaves the model.
    """

    def __init__(self, store_url: str) -> None:
        super().__init__()
        self.store_url = store_url
        self.seen: list[list[tuple[str, str]]] = []

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        result = handler(request)
        self.seen.append(records(self.store_url))
        return result


def test_an_opt_out_is_recorded_before_release_and_shows_no_visible_label(
    audited: Labeler, store_url: str
) -> None:
    """
    Under an accepted opt-out the answer has intact marks and no visible label, and its record
    exists when the reply leaves the model node; the tool-call step writes no record.
    """
    observer = _RecordsAtRelease(store_url)
    agent = agent_for(fake(), audited, observer)

    with audited.context(user="u-1", opt_out=OptOut(user="u-1", agreement_version="2025-09")):
        state = agent.invoke(question())
    verdict = verify(state["messages"][-1].text, key=KEY)

    assert ("intact", ()) == (verdict.status, verdict.evidence.explicit)
    assert [[], [("generated", "u-1")]] == observer.seen


# --- streams -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["values", "updates"])
def test_values_and_updates_streams_carry_the_labeled_answer(labeler: Labeler, mode: str) -> None:
    """
    The state snapshots and node updates hold the labeled answer.
    """
    parts = list(agent_for(fake(), labeler).stream(question(), stream_mode=mode))
    last = parts[-1]["messages"][-1] if mode == "values" else parts[-1]["model"]["messages"][-1]

    assert "intact" == verify(last.text, key=KEY).status


def test_legacy_messages_stream_tokens_are_unlabeled_with_a_plain_model(labeler: Labeler) -> None:
    """
    Pinned LangChain behaviour: ``stream_mode="messages"`` shows the model's own tokens, which
    no middleware reaches; the state is labeled. (Use a LabeledChatModel for labeled tokens.)
    """
    agent = agent_for(fake(), labeler)

    parts = list(agent.stream(question(), stream_mode=["messages", "values"]))
    tokens = token_text(parts)
    final = [p[1] for p in parts if p[0] == "values"][-1]["messages"][-1]

    assert TEXT == tokens
    assert "intact" == verify(final.text, key=KEY).status


def test_legacy_messages_stream_tokens_are_labeled_with_a_labeled_chat_model(labeler: Labeler) -> None:
    """
    With a LabeledChatModel as the agent's model the tokens carry the label, once (the
    middleware sees the reply is labeled already), and equal the state's answer.
    """
    agent = agent_for(LabeledChatModel(inner=fake(), labeler=labeler), labeler)

    parts = list(agent.stream(question(), stream_mode=["messages", "values"]))
    tokens = token_text(parts)
    final = [p[1] for p in parts if p[0] == "values"][-1]["messages"][-1]

    assert "intact" == verify(tokens, key=KEY).status
    assert tokens == final.text


@V3
def test_v3_event_stream_deltas_carry_the_label(labeler: Labeler) -> None:
    """
    ``stream_events(version="v3")``: the text deltas are a prefix of the finished block, which
    is labeled and intact; message-finish carries the label data; the state is labeled.
    """
    run = agent_for(fake(), labeler).stream_events(question(), version="v3")
    deltas, finished, metadata = v3_text(list(run))

    assert finished.startswith(deltas)
    assert len(deltas) > len(TEXT) // 2
    assert "intact" == verify(finished, key=KEY).status
    assert metadata is not None
    assert metadata["aigc"]["items"][0]["produce_id"] == verify(finished, key=KEY).produce_id
    assert "intact" == verify(run.output["messages"][-1].text, key=KEY).status


@V3
def test_v3_async_event_stream_messages_projection_is_labeled(labeler: Labeler) -> None:
    """
    ``astream_events(version="v3")``: each ``run.messages`` text stream is labeled text and
    the assembled message has the label data in ``response_metadata``.
    """

    async def main() -> tuple[str, AIMessage, dict[str, Any]]:
        run = await agent_for(fake(), labeler).astream_events(question(), version="v3")
        text, message = "", None
        async for stream in run.messages:
            text = "".join([piece async for piece in stream.text])
            message = await stream
        output = await run.output()
        assert message is not None
        assert output is not None
        return text, message, output

    text, message, output = asyncio.run(main())

    assert "intact" == verify(text, key=KEY).status
    assert message_aigc(message) is not None
    assert "intact" == verify(output["messages"][-1].text, key=KEY).status


# --- the transformer, event by event ---------------------------------------------------------------


def _events(message_id: str, words: list[str], finished: str) -> list[Any]:
    meta = {"run_id": "r-1", "checkpoint_ns": "model:1"}

    def event(payload: dict[str, Any]) -> Any:
        return {
            "type": "event",
            "method": "messages",
            "params": {"namespace": [], "timestamp": 0, "data": (payload, meta)},
        }

    return [
        event({"event": "message-start", "role": "ai", "id": message_id}),
        event({"event": "content-block-start", "index": 0, "content": {"type": "text", "text": ""}}),
        *(
            event({"event": "content-block-delta", "index": 0, "delta": {"type": "text-delta", "text": w}})
            for w in words
        ),
        event({"event": "content-block-finish", "index": 0, "content": {"type": "text", "text": finished}}),
        event({"event": "message-finish"}),
    ]


def _words(text: str) -> list[str]:
    return [w + " " for w in text.split(" ")[:-1]] + [text.split(" ")[-1]]


def test_a_reply_the_middleware_labeled_first_is_replayed_with_its_produce_id(labeler: Labeler) -> None:
    """
    When the labeled reply is known, the deltas release it in step with the model's words: one
    ProduceID for the stream and the state.
    """
    board = _Board(4)
    labeled = label_message(AIMessage(TEXT, id="m-1"), labeler)
    board.put("m-1", labeled)
    transformer = _LabelStreamTransformer(labeler=labeler, board=board)
    events = _events("m-1", _words(TEXT), TEXT)

    for event in events:
        transformer.process(event)
    deltas, finished, metadata = v3_text(events)

    assert labeled.text == finished
    assert finished.startswith(deltas)
    assert len(deltas) > len(TEXT) // 2
    assert metadata == {"aigc": labeled.response_metadata["aigc"]}


def test_a_reply_still_streaming_is_labeled_as_it_streams(labeler: Labeler) -> None:
    """
    Without a labeled reply yet, the deltas are labeled by a stream labeler: joined with the
    finished block's tail they are labeled, intact text, described by message-finish.
    """
    transformer = _LabelStreamTransformer(labeler=labeler, board=_Board(4))
    events = _events("m-2", _words(TEXT), TEXT)

    for event in events:
        transformer.process(event)
    deltas, finished, metadata = v3_text(events)
    verdict = verify(finished, key=KEY)

    assert finished.startswith(deltas)
    assert "intact" == verdict.status
    assert metadata is not None
    assert verdict.produce_id == metadata["aigc"]["items"][0]["produce_id"]


def test_streamed_json_is_passed_through_unaltered(labeler: Labeler) -> None:
    """
    A block that starts as JSON (structured output) is not labeled on the stream.
    """
    body = '{"answer": 3, "why": "one plus two"}'
    transformer = _LabelStreamTransformer(labeler=labeler, board=_Board(4))
    events = _events("m-3", _words(body), body)

    for event in events:
        transformer.process(event)

    assert (body, body, None) == v3_text(events)


def test_a_streamed_opt_out_is_recorded_before_the_first_text(audited: Labeler, store_url: str) -> None:
    """
    Labeled as it streams under an opt-out: the record exists before any text is released,
    the text has no visible label, and the completion is recorded at the end.
    """
    transformer = _LabelStreamTransformer(labeler=audited, board=_Board(4))
    events = _events("m-4", _words(TEXT), TEXT)
    at_first_text: list[tuple[str, str]] | None = None

    with audited.context(user="u-1", opt_out=OptOut(user="u-1", agreement_version="2025-09")):
        for event in events:
            transformer.process(event)
            payload = event["params"]["data"][0]
            if (
                at_first_text is None
                and payload["event"] == "content-block-delta"
                and payload["delta"]["text"]
            ):
                at_first_text = records(store_url)
    _, finished, _ = v3_text(events)

    assert [("generated", "u-1")] == at_first_text
    assert ["generated", "completed"] == [k for k, _ in records(store_url)]
    assert ("intact", ()) == (verify(finished, key=KEY).status, verify(finished, key=KEY).evidence.explicit)


# --- history hygiene --------------------------------------------------------------------------------


def test_the_model_never_receives_this_labelers_marks(labeler: Labeler) -> None:
    """
    A second turn sends the first turn's labeled answer back: the model gets it without this
    labeler's marks (the visible label stays), while the state keeps the marks.
    """
    model = fake(TEXT, "Four.")
    agent = agent_for(model, labeler)
    first = agent.invoke(question())
    answer = first["messages"][-1]

    agent.invoke({"messages": [*first["messages"], HumanMessage("And 2 + 2?")]})
    sent = [m for m in model.received[-1] if isinstance(m, AIMessage) and m.text]

    assert [visible(answer.text)] == [m.text for m in sent]
    assert "intact" == verify(answer.text, key=KEY).status
