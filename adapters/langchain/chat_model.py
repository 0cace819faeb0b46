"""
:class:`LabeledChatModel`: any LangChain chat model, its replies labeled.

The model implements LangChain's four hooks (``_generate``, ``_agenerate``, ``_stream``,
``_astream``) over the inner model's public ``invoke`` / ``ainvoke`` / ``stream`` /
``astream``, so everything LangChain builds on those hooks returns labeled text: ``invoke``,
``batch``, ``stream``, their async forms, ``astream_events`` (v2), ``stream_events`` /
``astream_events`` (v3), ``on_llm_new_token`` callbacks and LangGraph's ``messages`` stream.

The inner model runs without the caller's callback handlers (only tracers are kept, on the
non-streaming path): a handler that shows tokens must never see the inner model's unlabeled
ones.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from aigclabel.labeler import LabeledText, Labeler, OptOutDecision, StreamLabeler
from aigclabel.middleware.common import aigc_item
from aigclabel.middleware.history import HistoryHygiene
from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
    RunnableConfig,
    RunnableParallel,
    RunnableSequence,
)
from langchain_core.tracers.base import AsyncBaseTracer, BaseTracer
from langchain_core.tracers.log_stream import LogStreamCallbackHandler
from pydantic import ConfigDict, PrivateAttr

from .messages import (
    AIGC_KEY,
    AIGC_START_KEY,
    aigc_object,
    alabel_message,
    label_message,
    model_history,
    replace_texts,
    start_object,
    text_at,
    text_positions,
)

__all__ = ["LabeledChatModel"]

#: Run ids LangChain gives a message that has no provider id: the inner run's would leak out.
_LC_RUN_PREFIX = "lc_run-"
#: The keyword a structured-output binding of this model carries (popped before the inner call).
_STRUCTURED = "aigc_structured"


class LabeledChatModel(BaseChatModel):
    """
    A chat model whose every reply is labeled: ``LabeledChatModel(inner=model, labeler=labeler)``.

    * Text (a string content, or the text blocks of a list content) gets the visible label
      and invisible marks; streams go through :class:`~aigclabel.StreamLabeler`, so the
      chunks joined equal the one-shot labeled text.
    * Label data: ``response_metadata["aigc"]`` (the middleware's ``{"label", "stage",
      "items"}`` shape, read with :func:`aigclabel.middleware.aigc_info` or
      :func:`~aigclabel.adapters.langchain.message_aigc`). In a stream, the first chunk that
      releases text carries ``response_metadata["aigc_start"]`` (the interface tag, metadata
      without ``ReservedCode1``) and the last chunk ``response_metadata["aigc"]``; chunks
      added together keep both, each intact.
    * Tool calls and structured output (:meth:`with_structured_output`, or a call with
      ``response_format``) are never altered: label data only.
    * The inner model's messages are copied, never changed (a cache's reply labeled twice
      gets one label each time); this labeler's marks are dropped from AI messages sent to
      the inner model (history hygiene).
    * An Art. 9 opt-out bound with ``labeler.context(opt_out=...)`` is recorded before
      anything is released (streams: before the first chunk; ``labeler.complete`` records the
      content hash at the end, or what was delivered when the consumer stops early).
    * An inner model whose HTTP client is already wrapped with the same labeler
      (:func:`aigclabel.middleware.wrap`) returns labeled text: it is passed on unchanged, and
      its label data is recovered from the text itself (*upstream_labels*).

    Attributes:
        inner: the chat model to call.
        labeler: labels every reply.
        upstream_labels: whether the inner model's transport already labels with *labeler*;
            ``None`` (the default) looks at the inner model's openai / anthropic clients.

    .. versionadded:: 0.3.0
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    labeler: Labeler
    upstream_labels: bool | None = None

    _hygiene: HistoryHygiene = PrivateAttr()
    _upstream: bool = PrivateAttr(default=False)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._hygiene = HistoryHygiene(self.labeler)
        self._upstream = (
            self.upstream_labels
            if self.upstream_labels is not None
            else _labels_upstream(self.inner, self.labeler)
        )

    # --- identity -------------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return f"aigc-labeled-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        policy = self.labeler.policy
        return {
            "inner": {"_type": self.inner._llm_type, **self.inner._identifying_params},
            "producer": policy.producer,
            "placement": policy.placement,
            "key_id": policy.key_id,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        # Tracing names the provider and model of the inner model.
        return self.inner._get_ls_params(stop=stop, **kwargs)

    @property
    def model_name(self) -> str | None:
        """
        The inner model's ``model_name`` (or ``model``), when it has one.
        """
        name = getattr(self.inner, "model_name", None) or getattr(self.inner, "model", None)
        return name if isinstance(name, str) else None

    # --- tools and structured output ------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """
        The inner model's ``bind_tools``, run through this model: tool calls pass unchanged
        (label data only), text is labeled.
        """
        bound = self.inner.bind_tools(tools, tool_choice=tool_choice, **kwargs)
        return self._retarget(bound, structured=False)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """
        The inner model's ``with_structured_output`` (every method it supports: function
        calling, JSON mode, JSON schema), run through this model. The reply is never altered,
        so the parser reads what the model wrote; its label is the label data
        (:meth:`~aigclabel.Labeler.describe`), on the raw message with ``include_raw=True``.

        Raises:
            TypeError: the inner model's structured-output runnable does not call the inner
                model through a binding this model can take over.
        """
        runnable = self.inner.with_structured_output(schema, include_raw=include_raw, **kwargs)
        return self._retarget(runnable, structured=True)

    def _retarget(self, runnable: Runnable[Any, Any], *, structured: bool) -> Runnable[Any, Any]:
        found: list[bool] = []

        def walk(node: Runnable[Any, Any]) -> Runnable[Any, Any]:
            if isinstance(node, RunnableBinding) and node.bound is self.inner:
                found.append(True)
                extra = {_STRUCTURED: True} if structured else {}
                return node.model_copy(update={"bound": self, "kwargs": {**node.kwargs, **extra}})
            if isinstance(node, RunnableSequence):
                steps = [walk(step) for step in node.steps]
                return node.model_copy(update={"first": steps[0], "middle": steps[1:-1], "last": steps[-1]})
            if isinstance(node, RunnableParallel):
                return node.model_copy(update={"steps__": {k: walk(v) for k, v in node.steps__.items()}})
            if isinstance(node, RunnableBinding):
                return node.model_copy(update={"bound": walk(node.bound)})
            return node

        out = walk(runnable)
        if not found:
            raise TypeError(
                f"{type(self.inner).__name__} returned a runnable that does not call the model through a "
                "binding; label its replies with label_message() instead"
            )
        return out

    # --- the four hooks ---------------------------------------------------------------------------

    def _prepare(
        self, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> tuple[list[BaseMessage], dict[str, Any], bool]:
        structured = bool(kwargs.pop(_STRUCTURED, False)) or kwargs.get("response_format") is not None
        return model_history(messages, self._hygiene), kwargs, structured

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, kwargs, structured = self._prepare(messages, kwargs)
        reply = self.inner.invoke(messages, _inner_config(run_manager), stop=stop, **kwargs)
        return _result(self._finish(reply, structured))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        messages, kwargs, structured = self._prepare(messages, kwargs)
        reply = await self.inner.ainvoke(messages, _inner_config(run_manager), stop=stop, **kwargs)
        if self._upstream or structured:  # no record to await: label data only
            return _result(self._finish(reply, structured))
        return _result(_own_id(await alabel_message(_as_ai(reply), self.labeler)))

    def _finish(self, reply: BaseMessage, structured: bool) -> AIMessage:
        message = _as_ai(reply)
        if self._upstream:
            return _own_id(_recovered(message, self.labeler))
        return _own_id(label_message(message, self.labeler, structured=structured))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        messages, kwargs, structured = self._prepare(messages, kwargs)
        source = self.inner.stream(messages, _inner_config(run_manager), stop=stop, **kwargs)
        labeler = self.labeler
        state = _StreamState(labeler, None if self._upstream or structured else labeler.stream())
        try:
            for chunk in source:
                yield ChatGenerationChunk(message=state.feed(_as_chunk(chunk)))
            yield ChatGenerationChunk(message=state.finish(structured))
        finally:
            _close(source)
            if state.stream is not None and not state.done:
                state.stream.abort()  # the consumer stopped: record what was delivered
            if state.stream is not None and state.stream.result is not None:
                labeler.complete(state.stream)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        messages, kwargs, structured = self._prepare(messages, kwargs)
        source = self.inner.astream(messages, _inner_config(run_manager), stop=stop, **kwargs)
        labeler = self.labeler
        stream = None if self._upstream or structured else await labeler.astream()
        state = _StreamState(labeler, stream)
        try:
            async for chunk in source:
                yield ChatGenerationChunk(message=state.feed(_as_chunk(chunk)))
            yield ChatGenerationChunk(message=state.finish(structured))
        finally:
            await _aclose(source)
            if stream is not None and not state.done:
                stream.abort()
            if stream is not None and stream.result is not None:
                await labeler.acomplete(stream)


class _StreamState:
    """
    One labeled stream over the inner model's chunks (sans-I/O: the sync and async hooks
    drive it). Without a :class:`StreamLabeler` the chunks pass unchanged (structured output,
    or an inner transport that labels) and the label data is made at the end.
    """

    __slots__ = ("content_is_str", "done", "has_text", "labeler", "last_index", "started", "stream", "texts")

    def __init__(self, labeler: Labeler, stream: StreamLabeler | None) -> None:
        self.labeler = labeler
        self.stream = stream
        self.started = False
        self.done = False
        self.content_is_str = True
        self.last_index: Any = None  # the "index" of the last text block, so the tail merges into it
        self.texts: list[str] = []  # the text as passed on, for the pass-through label data
        self.has_text = False  # any text that is not blank: else the reply is left as it is

    def feed(self, chunk: AIMessageChunk) -> AIMessageChunk:
        content = chunk.content
        positions = text_positions(content)
        update: dict[str, Any] = {"chunk_position": None}  # the last chunk is ours
        if chunk.id is not None and chunk.id.startswith(_LC_RUN_PREFIX):
            update["id"] = None
        if isinstance(content, list):
            self.content_is_str = False
            for at in positions:
                block = content[at]
                if isinstance(block, dict) and "index" in block:
                    self.last_index = block["index"]
        texts = {at: text_at(content, at) for at in positions}
        self.has_text = self.has_text or any(text.strip() for text in texts.values())
        stream = self.stream
        if stream is None:
            self.texts.extend(texts.values())
            return chunk.model_copy(update=update)
        outs = {at: stream.feed(text) for at, text in texts.items()}
        if positions:
            update["content"] = replace_texts(content, outs)
        if not self.started and any(outs.values()):
            self.started = True
            update["response_metadata"] = {
                **chunk.response_metadata,
                AIGC_START_KEY: start_object(self.labeler, stream),
            }
        return chunk.model_copy(update=update)

    def finish(self, structured: bool) -> AIMessageChunk:
        stream = self.stream
        tail = ""
        labeled: LabeledText
        if stream is not None and not self.has_text:
            # Tool calls only: nothing to label, nothing added (a label alone is not released).
            stream.abort()
            self.done = True
            labeled = self.labeler.describe(context=stream.context, decision=_decision(stream))
        elif stream is not None:
            tail = stream.finish()
            self.done = True
            assert stream.result is not None  # set by finish()
            labeled = stream.result
        else:
            self.done = True
            text = "".join(self.texts)
            prior = None if structured or not text.strip() else _prior_label(text, self.labeler)
            labeled = prior if prior is not None else self.labeler.describe()
        content: str | list[str | dict[str, Any]] = tail
        if not self.content_is_str:
            block: dict[str, Any] = {"type": "text", "text": tail}
            if self.last_index is not None:
                block["index"] = self.last_index
            content = [block] if tail else []
        data = {AIGC_KEY: aigc_object(self.labeler, aigc_item(labeled, index=0))}
        return AIMessageChunk(content=content, response_metadata=data, chunk_position="last")


# --- helpers -------------------------------------------------------------------------------------


def _close(source: Iterator[Any]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


async def _aclose(source: AsyncIterator[Any]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


def _decision(stream: StreamLabeler) -> OptOutDecision:
    return OptOutDecision(opt_out=stream.opt_out, refusal=stream.notice)


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _as_ai(message: BaseMessage) -> AIMessage:
    if isinstance(message, AIMessage):
        return message
    raise TypeError(f"the inner chat model returned a {type(message).__name__}, not an AIMessage")


def _own_id(message: AIMessage) -> AIMessage:
    """
    Drop the inner run's LangChain id, so the labeled run's own id is used.
    """
    if message.id is not None and message.id.startswith(_LC_RUN_PREFIX):
        return message.model_copy(update={"id": None})
    return message


def _as_chunk(message: BaseMessage) -> AIMessageChunk:
    """
    A stream chunk; an inner model that cannot stream yields its whole ``AIMessage`` once.
    """
    if isinstance(message, AIMessageChunk):
        return message
    ai = _as_ai(message)
    return AIMessageChunk(
        content=ai.content,
        additional_kwargs=ai.additional_kwargs,
        response_metadata=ai.response_metadata,
        usage_metadata=ai.usage_metadata,
        id=ai.id,
        tool_call_chunks=[
            tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call.get("id"), index=i)
            for i, call in enumerate(ai.tool_calls)
        ],
    )


def _inner_config(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
) -> RunnableConfig:
    """
    The inner call's config: the run's tracers (the inner run is their child), no other handler.

    ``callbacks`` is always set, so the handlers of an enclosing run (LangGraph's ``messages``
    stream, ``astream_events``, a UI's ``on_llm_new_token``) are not inherited: they would see
    the inner model's unlabeled tokens.
    """
    if run_manager is None:
        return {"callbacks": []}
    tracers: list[BaseCallbackHandler] = [
        handler
        for handler in run_manager.inheritable_handlers
        if isinstance(handler, BaseTracer | AsyncBaseTracer)
        and not isinstance(handler, LogStreamCallbackHandler)
    ]
    if not tracers:
        return {"callbacks": []}
    cls = AsyncCallbackManager if isinstance(run_manager, AsyncCallbackManagerForLLMRun) else CallbackManager
    manager = cls(
        handlers=tracers,
        inheritable_handlers=tracers,
        parent_run_id=run_manager.run_id,
        tags=run_manager.inheritable_tags,
        inheritable_tags=run_manager.inheritable_tags,
        metadata=run_manager.inheritable_metadata,
        inheritable_metadata=run_manager.inheritable_metadata,
    )
    return {"callbacks": manager}


def _prior_label(text: str, labeler: Labeler) -> LabeledText | None:
    """
    The label *text* already carries from *labeler*, intact, or ``None``.
    """
    return labeler.own_label(text)


def _recovered(message: AIMessage, labeler: Labeler) -> AIMessage:
    """
    A reply the inner transport labeled: passed on unchanged, its label data read from its
    text (or, for a text that does not carry this labeler's intact label, labeled here).
    """
    positions = text_positions(message.content)
    text = "".join(text_at(message.content, at) for at in positions)
    if not text.strip():
        labeled = labeler.describe()
    else:
        prior = _prior_label(text, labeler)
        if prior is None:
            return label_message(message, labeler)
        labeled = prior
    data = aigc_object(labeler, aigc_item(labeled, index=0))
    return message.model_copy(update={"response_metadata": {**message.response_metadata, AIGC_KEY: data}})


def _labels_upstream(inner: BaseChatModel, labeler: Labeler) -> bool:
    """
    Whether *inner* already labels with *labeler*: a :class:`LabeledChatModel` of it, or a
    provider model whose openai / anthropic client has a labeling transport of it.
    """
    if isinstance(inner, LabeledChatModel):
        return inner.labeler is labeler
    from aigclabel.middleware.transport import Labeling

    found = False
    for name in ("root_client", "root_async_client", "_client", "_async_client"):
        try:
            client = getattr(inner, name, None)
        except Exception:  # a lazily built client that cannot be built here: not ours to judge
            continue
        http = getattr(client, "_client", None)
        transport = getattr(http, "_transport", None)
        if isinstance(transport, Labeling):
            if transport.labeler is not labeler:
                return False
            found = True
    return found
