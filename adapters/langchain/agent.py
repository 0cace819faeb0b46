"""
:class:`AIGCLabelMiddleware`: label the model calls of a ``langchain.agents.create_agent`` agent.

The middleware wraps every model call of the agent (``wrap_model_call`` /
``awrap_model_call``):

* before the call, this labeler's own invisible marks are dropped from the AI messages of the
  request (history hygiene: :func:`~aigclabel.adapters.langchain.history_for_model`); the
  agent's state keeps them;
* after the call, the reply is labeled (:func:`~aigclabel.adapters.langchain.label_message`):
  the state, ``invoke`` / ``ainvoke`` and the ``values`` / ``updates`` streams carry labeled
  text and the label data in ``response_metadata["aigc"]``. Tool-call steps and structured
  output are not altered (label data only). An Art. 9 opt-out bound with
  ``labeler.context(...)`` is recorded before the reply leaves the model node;
* it registers a langgraph ``StreamTransformer`` (``AgentMiddleware.transformers``) that
  labels the token events of ``stream_events(version="v3")`` / ``astream_events(version="v3")``:
  the streamed text deltas carry the label and the marks, each finished text block is the
  labeled text, and ``message-finish`` carries the label data (``metadata["aigc"]``, which
  LangChain puts in the assembled message's ``response_metadata``).

The legacy ``stream_mode="messages"`` stream shows the model's tokens as the model produced
them: no middleware can reach them. It carries the label only when the agent's model is a
:class:`~aigclabel.adapters.langchain.LabeledChatModel`.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any, ClassVar, TypeAlias

from aigclabel.context import LabelContext
from aigclabel.labeler import Labeler, OptOutDecision, StreamLabeler
from aigclabel.middleware.common import aigc_item
from aigclabel.middleware.history import HistoryHygiene
from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langgraph.config import get_config
from langgraph.stream import ProtocolEvent, StreamTransformer

from .chat_model import LabeledChatModel
from .messages import AIGC_KEY, alabel_message, label_message, model_history, text_at, text_positions

__all__ = ["AIGCLabelMiddleware", "ContextHook"]

#: Derives the labeling context of one model call from its request (``request.runtime.context``
#: typically holds the user and conversation); ``None`` falls back to ``labeler.context(...)``.
ContextHook: TypeAlias = Callable[[ModelRequest[Any]], LabelContext | None]

#: Labeled replies kept for the v3 stream transformer (by message id; oldest dropped first).
_BOARD_SIZE = 256


class AIGCLabelMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """
    Labels each model reply of a ``create_agent`` agent; see the module docstring.

    ``create_agent(model, tools, middleware=[AIGCLabelMiddleware(labeler)])``. Put it first in
    the list (outermost) so that the reply it labels is the one the agent keeps.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        labeler: Labeler,
        *,
        context: ContextHook | None = None,
        history_hygiene: bool = True,
        v3_streams: bool = True,
    ) -> None:
        """
        Args:
            labeler: labels the replies and records opt-outs.
            context: derives each call's labeling context (user, opt-out, language) from the
                request; by default the context bound with ``labeler.context(...)`` around
                the agent's ``invoke`` / ``stream``.
            history_hygiene: drop this labeler's own marks from the AI messages sent to the
                model (the state keeps them).
            v3_streams: register the stream transformer that labels the token events of
                ``stream_events(version="v3")``.
        """
        super().__init__()
        self.labeler = labeler
        self._context = context
        self._hygiene = HistoryHygiene(labeler) if history_hygiene else None
        self._board = _Board(_BOARD_SIZE)
        self.transformers = (
            (partial(_LabelStreamTransformer, labeler=labeler, board=self._board),) if v3_streams else ()
        )

    @property
    def name(self) -> str:
        return "AIGCLabelMiddleware"

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """
        Call the model with a clean history, then label its reply (a copy) and record opt-outs.
        """
        if self._labels_itself(request):
            return handler(request)
        context, decision = self._decide(request)
        result: Any = handler(self._clean(request))
        labeled = [
            label_message(message, self.labeler, context=context, decision=decision, structured=structured)
            for message, structured in _targets(result, request)
        ]
        return self._release(result, labeled)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """
        :meth:`wrap_model_call` for async agents: the opt-out record is awaited.
        """
        if self._labels_itself(request):
            return await handler(request)
        context, decision = self._decide(request)
        result: Any = await handler(self._clean(request))
        labeled = [
            await alabel_message(
                message, self.labeler, context=context, decision=decision, structured=structured
            )
            for message, structured in _targets(result, request)
        ]
        return self._release(result, labeled)

    # --- the steps ------------------------------------------------------------------------------

    def _labels_itself(self, request: ModelRequest[Any]) -> bool:
        """
        Whether the agent's model is a ``LabeledChatModel`` with this labeler: its replies (and
        their tokens, in every stream) are labeled and recorded already; labeling them again
        would add a second set of marks under an opt-out. The v3 transformer is told to leave
        this call's events alone.
        """
        model = request.model
        if not (isinstance(model, LabeledChatModel) and model.labeler is self.labeler):
            return False
        namespace = _checkpoint_ns()
        if namespace is not None:
            self._board.leave_alone(namespace)
        return True

    def _decide(self, request: ModelRequest[Any]) -> tuple[LabelContext | None, OptOutDecision]:
        context = self._context(request) if self._context is not None else None
        if context is None:
            context = self.labeler.current_context()
        return context, self.labeler.decide(context)

    def _clean(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        if self._hygiene is None:
            return request
        messages = model_history(request.messages, self._hygiene)
        if all(a is b for a, b in zip(messages, request.messages, strict=True)):
            return request
        return request.override(messages=messages)  # type: ignore[arg-type]  # AnyMessage is BaseMessage

    def _release(self, result: Any, labeled: list[AIMessage]) -> Any:
        for message in labeled:
            if message.id:
                self._board.put(message.id, message)
        return _with_messages(result, labeled)


def _checkpoint_ns() -> str | None:
    """
    The checkpoint namespace of the running model node (its stream events carry the same).
    """
    try:
        config = get_config()
    except RuntimeError:  # not inside a graph run
        return None
    namespace = config.get("configurable", {}).get("checkpoint_ns")
    return namespace if isinstance(namespace, str) else None


def _targets(result: Any, request: ModelRequest[Any]) -> list[tuple[AIMessage, bool]]:
    """
    The AI messages of a model call's result, each with whether it is structured output.
    """
    structured = request.response_format is not None
    return [(m, structured and _looks_like_json(m)) for m in _messages(result) if isinstance(m, AIMessage)]


def _messages(result: Any) -> list[BaseMessage]:
    if isinstance(result, AIMessage):
        return [result]
    if isinstance(result, ModelResponse):
        return list(result.result)
    inner = getattr(result, "model_response", None)  # ExtendedModelResponse and its composed form
    return list(inner.result) if isinstance(inner, ModelResponse) else []


def _with_messages(result: Any, labeled: list[AIMessage]) -> Any:
    """
    *result* with its AI messages replaced, in order, by *labeled* (a new object).
    """
    if isinstance(result, AIMessage):
        return labeled[0]
    if isinstance(result, ModelResponse):
        it = iter(labeled)
        messages = [next(it) if isinstance(m, AIMessage) else m for m in result.result]
        return dataclasses.replace(result, result=messages)
    inner = getattr(result, "model_response", None)
    if isinstance(inner, ModelResponse) and dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.replace(result, model_response=_with_messages(inner, labeled))
    return result


def _looks_like_json(message: AIMessage) -> bool:
    text = "".join(text_at(message.content, at) for at in text_positions(message.content)).lstrip()
    return text[:1] in ("{", "[")


# --- the board: labeled replies the v3 transformer replays ------------------------------------------


class _Board:
    """
    The labeled replies of the last model calls, by message id (thread-safe, bounded).

    The model node (which labels) and the v3 stream consumer (which replays) may run in
    different threads and in either order.
    """

    __slots__ = ("_entries", "_lock", "_size", "_untouched")

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[str, AIMessage] = OrderedDict()
        self._untouched: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def leave_alone(self, namespace: str) -> None:
        """
        The model calls of the node running in *namespace* label their own replies.
        """
        with self._lock:
            self._untouched[namespace] = None
            while len(self._untouched) > self._size:
                self._untouched.popitem(last=False)

    def left_alone(self, namespace: object) -> bool:
        with self._lock:
            return isinstance(namespace, str) and namespace in self._untouched

    def put(self, message_id: str, message: AIMessage) -> None:
        with self._lock:
            self._entries[message_id] = message
            self._entries.move_to_end(message_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, message_id: str) -> AIMessage | None:
        with self._lock:
            return self._entries.get(message_id)


def _block_texts(message: AIMessage) -> dict[int, str]:
    """
    The text of each text block of *message*, by the block index v3 events use.
    """
    content = message.content
    if isinstance(content, str):
        return {0: content}
    out: dict[int, str] = {}
    for at in text_positions(content):
        block = content[at]
        index = block.get("index", at) if isinstance(block, dict) else at
        out[index if isinstance(index, int) else at] = text_at(content, at)
    return out


# --- the v3 stream transformer ------------------------------------------------------------------


class _Block:
    """
    One text block of a streamed reply: what came in, what went out, and how it is labeled.

    ``mode``: ``None`` until the first non-blank text; ``"replay"`` (the middleware's labeled
    text is known: it is released in step with the deltas), ``"live"`` (labeled here, as it
    streams), ``"pass"`` (JSON: left alone, its label is the label data).
    """

    __slots__ = ("labeled", "mode", "out", "pos", "raw", "stream")

    def __init__(self) -> None:
        self.raw = ""
        self.out = ""
        self.mode: str | None = None
        self.labeled = ""
        self.pos = 0
        self.stream: StreamLabeler | None = None


class _Run:
    __slots__ = ("blocks", "items", "message_id")

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.blocks: dict[int, _Block] = {}
        self.items: list[dict[str, Any]] = []


#: What the flow asks its shell for: open a stream, complete one, or label a whole message.
_Request: TypeAlias = tuple[str, Any]
_Flow: TypeAlias = Generator[_Request, Any, None]


class _LabelStreamTransformer(StreamTransformer):
    """
    Labels the AI text of the ``messages`` events of a v3 event stream, in place.

    Runs before the built-in transformers, so ``run.messages`` and the raw event log both see
    the labeled text. A reply the middleware has already labeled is replayed: the deltas
    release its labeled text in step with the model's text (one ProduceID for the stream and
    the state). A reply still being generated is labeled here as it streams (a
    ``StreamLabeler``: the opt-out record is written before its first text; this streamed
    copy has its own ProduceID). Every finished text block is the labeled text, which extends
    what the deltas released.

    The protocol logic is a generator (:meth:`_flow`) that asks for I/O; :meth:`process` and
    :meth:`aprocess` answer it with the sync and async record paths.
    """

    before_builtins: ClassVar[bool] = True
    supports_sync: ClassVar[bool] = True
    required_stream_modes: ClassVar[tuple[str, ...]] = ("messages",)

    def __init__(self, scope: tuple[str, ...] = (), *, labeler: Labeler, board: _Board) -> None:
        super().__init__(scope)
        self._labeler = labeler
        self._board = board
        self._runs: dict[str, _Run] = {}

    def init(self) -> dict[str, Any]:
        return {}

    def process(self, event: ProtocolEvent) -> bool:
        flow = self._flow(event)
        try:
            request = next(flow)
            while True:
                request = flow.send(self._answer(request))
        except StopIteration:
            pass
        return True

    async def aprocess(self, event: ProtocolEvent) -> bool:
        flow = self._flow(event)
        try:
            request = next(flow)
            while True:
                request = flow.send(await self._aanswer(request))
        except StopIteration:
            pass
        return True

    def _answer(self, request: _Request) -> Any:
        kind, arg = request
        if kind == "open":
            return self._labeler.stream()
        if kind == "complete":
            return self._labeler.complete(arg)
        return label_message(arg, self._labeler)

    async def _aanswer(self, request: _Request) -> Any:
        kind, arg = request
        if kind == "open":
            return await self._labeler.astream()
        if kind == "complete":
            return await self._labeler.acomplete(arg)
        return await alabel_message(arg, self._labeler)

    def finalize(self) -> None:
        self._drop_all()

    def fail(self, err: BaseException) -> None:
        self._drop_all()

    def _drop_all(self) -> None:
        for run in self._runs.values():
            for block in run.blocks.values():
                if block.stream is not None and block.stream.result is None:
                    block.stream.abort()
        self._runs.clear()

    # --- the protocol, sans I/O -------------------------------------------------------------------

    def _flow(self, event: ProtocolEvent) -> _Flow:
        if event["method"] != "messages":
            return
        params = event["params"]
        data = params.get("data")
        if not isinstance(data, tuple) or len(data) != 2:
            return
        payload, metadata = data
        if isinstance(metadata, dict) and self._board.left_alone(metadata.get("checkpoint_ns")):
            return  # a LabeledChatModel's call: labeled already
        if isinstance(payload, AIMessage) and not isinstance(payload, AIMessageChunk):
            # A whole reply (a model that does not stream): the labeled copy goes out.
            labeled = self._board.get(payload.id) if payload.id else None
            has_text = any(text.strip() for text in _block_texts(payload).values())
            if labeled is None and has_text and not _looks_like_json(payload):
                labeled = yield ("label", payload)
            if labeled is not None:
                params["data"] = (labeled, metadata)
            return
        if not isinstance(payload, dict):
            return
        kind = payload.get("event")
        run_id = str(metadata.get("run_id") or "") if isinstance(metadata, dict) else ""
        if kind == "message-start":
            if payload.get("role", "ai") == "ai":
                self._runs[run_id] = _Run(str(payload.get("id") or payload.get("message_id") or ""))
            return
        run = self._runs.get(run_id)
        if run is None:
            return
        if kind == "content-block-delta":
            yield from self._delta(run, payload)
        elif kind == "content-block-finish":
            yield from self._finish_block(run, payload)
        elif kind == "message-finish":
            del self._runs[run_id]
            self._finish_message(run, payload)
        elif kind == "error":
            del self._runs[run_id]
            for block in run.blocks.values():
                if block.stream is not None and block.stream.result is None:
                    block.stream.abort()

    def _delta(self, run: _Run, payload: dict[str, Any]) -> _Flow:
        delta = payload.get("delta")
        index = payload.get("index")
        if not isinstance(delta, dict) or delta.get("type") != "text-delta" or not isinstance(index, int):
            return
        text = delta.get("text")
        if not isinstance(text, str) or not text:
            return
        block = run.blocks.setdefault(index, _Block())
        block.raw += text
        if block.mode is None:
            if not block.raw.strip():
                delta["text"] = ""  # held until the block shows what it is
                return
            yield from self._start(run, index, block)
            text = block.raw
        delta["text"] = self._release(block, text)

    def _start(self, run: _Run, index: int, block: _Block) -> _Flow:
        labeled = self._board.get(run.message_id) if run.message_id else None
        texts = _block_texts(labeled) if labeled is not None else {}
        if index in texts:
            block.mode, block.labeled = "replay", texts[index]
        elif block.raw.lstrip()[:1] in ("{", "["):
            block.mode = "pass"
        else:
            block.mode = "live"
            block.stream = yield ("open", None)

    @staticmethod
    def _release(block: _Block, text: str) -> str:
        if block.mode == "live":
            assert block.stream is not None  # opened with the mode
            out = block.stream.feed(text)
        elif block.mode == "replay":
            # Release the labeled text up to where the model's text so far ends in it (the
            # labeled text is the model's text with marks and the label inserted).
            labeled, pos = block.labeled, block.pos
            for char in text:
                found = labeled.find(char, pos)
                if found >= 0:
                    pos = found + 1
            out, block.pos = labeled[block.pos : pos], pos
        else:
            out = text
        block.out += out
        return out

    def _finish_block(self, run: _Run, payload: dict[str, Any]) -> _Flow:
        content = payload.get("content")
        index = payload.get("index")
        if not isinstance(content, dict) or content.get("type") != "text" or not isinstance(index, int):
            return
        block = run.blocks.setdefault(index, _Block())
        if block.mode is None:
            full = content.get("text")
            if isinstance(full, str) and full.strip():
                block.raw = full  # no (non-blank) deltas: the finished block is the text
                yield from self._start(run, index, block)
                self._release(block, full)
        if block.mode == "live":
            assert block.stream is not None  # opened with the mode
            block.out += block.stream.finish()
            content["text"] = block.out
            yield ("complete", block.stream)
            assert block.stream.result is not None  # set by finish()
            run.items.append(aigc_item(block.stream.result, index=len(run.items)))
        elif block.mode == "replay":
            content["text"] = block.labeled
        elif block.mode is None and block.raw:
            content["text"] = block.raw  # blank text held back: released as it was

    def _finish_message(self, run: _Run, payload: dict[str, Any]) -> None:
        labeled = self._board.get(run.message_id) if run.message_id else None
        found = labeled.response_metadata.get(AIGC_KEY) if labeled is not None else None
        if run.items and not any(b.mode == "replay" for b in run.blocks.values()):
            found = {"label": self._labeler.policy.label, "stage": "end", "items": run.items}
        if found is not None:
            metadata = payload.get("metadata")
            payload["metadata"] = {**(metadata if isinstance(metadata, dict) else {}), AIGC_KEY: found}
