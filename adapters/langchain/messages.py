"""
Labeling LangChain messages: one AI message at a time, and the history sent back to a model.

* :func:`label_message` / :func:`alabel_message` return a labeled **copy** of an
  ``AIMessage`` (the input is never changed: a cache may hand the same object out twice,
  and each copy then carries exactly one label) with the label data in
  ``response_metadata["aigc"]`` — the middleware's shape, so
  :func:`aigclabel.middleware.aigc_info` reads it;
* :func:`history_for_model` is history hygiene for message lists: this labeler's own invisible
  marks are dropped from AI messages before they go back to a model (the middleware's rule);
* :func:`message_aigc` reads the label data of a message or of a stream chunk.

Only text is labeled. Tool calls and structured (JSON) output are released unchanged; their
label is the label data alone (:meth:`aigclabel.Labeler.describe`).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from aigclabel.context import LabelContext
from aigclabel.labeler import LabeledText, Labeler, OptOutDecision, StreamLabeler
from aigclabel.middleware.common import aigc_item, aigc_start_item
from aigclabel.middleware.history import HistoryHygiene
from aigclabel.middleware.info import AIGCInfo, aigc_info
from langchain_core.messages import AIMessage, BaseMessage

__all__ = [
    "AIGC_KEY",
    "AIGC_START_KEY",
    "alabel_message",
    "history_for_model",
    "label_message",
    "message_aigc",
]

#: ``response_metadata`` key of a message's final label data (``stage: "end"``).
AIGC_KEY = "aigc"
#: ``response_metadata`` key of a stream's first chunk with text (``stage: "start"``, metadata
#: without ``ReservedCode1``). A separate key because LangChain merges chunks with
#: ``merge_dicts``, which concatenates strings: two ``aigc`` objects on one stream would merge
#: into ``"stage": "startend"``. With two keys, each on one chunk, ``chunk_1 + chunk_2 + …``
#: keeps both intact and ``response_metadata["aigc"]`` of the merged message is the final one.
AIGC_START_KEY = "aigc_start"

M = TypeVar("M", bound=AIMessage)


def label_message(
    message: M,
    labeler: Labeler,
    *,
    context: LabelContext | None = None,
    decision: OptOutDecision | None = None,
    structured: bool = False,
) -> M:
    """
    A labeled copy of *message*, its label data in ``response_metadata["aigc"]``.

    The text (a ``str`` content, or the text blocks of a list content, labeled as one text
    in order) gets the visible label and invisible marks; ``content_blocks`` follows, since
    LangChain derives it from ``content``. Left unaltered, with label data only
    (:meth:`~aigclabel.Labeler.describe`, no record): replies without text (tool calls
    only), and *structured* output (JSON a parser will read). A text that already carries
    this labeler's intact label keeps it (no second label) and gets its label data.

    With an accepted Art. 9 opt-out (from *decision*, else the labeler's context) the record
    is written before this returns, as the middleware does; the text then has no visible
    label but keeps its marks.

    Args:
        message: the model's reply; never modified.
        labeler: labels the text.
        context: the request's facts; defaults to the labeler's current context.
        decision: the request's opt-out decision; decided here when omitted.
        structured: the reply is structured output: never alter its content.

    Returns:
        A copy of the same class (``AIMessage`` or ``AIMessageChunk``).

    Raises:
        OptOutError: the opt-out could not be recorded and the policy says to raise.
    """
    texts = text_positions(message.content)
    if structured or not _has_text(message.content, texts):
        labeled = labeler.describe(context=context, decision=decision)
        return _with_data(message, message.content, labeled, labeler)
    if len(texts) == 1:
        result = labeler.label(text_at(message.content, texts[0]), context=context, decision=decision)
        return _with_data(message, replace_texts(message.content, {texts[0]: result.text}), result, labeler)
    stream = labeler.stream(context=context, decision=decision)
    content, result = _label_blocks(message.content, texts, stream)
    labeler.complete(stream)
    return _with_data(message, content, result, labeler)


async def alabel_message(
    message: M,
    labeler: Labeler,
    *,
    context: LabelContext | None = None,
    decision: OptOutDecision | None = None,
    structured: bool = False,
) -> M:
    """
    :func:`label_message` for async callers: the opt-out record is awaited
    (:meth:`~aigclabel.Labeler.alabel`), the event loop never blocks on the record sink.
    """
    texts = text_positions(message.content)
    if structured or not _has_text(message.content, texts):
        labeled = labeler.describe(context=context, decision=decision)
        return _with_data(message, message.content, labeled, labeler)
    if len(texts) == 1:
        result = await labeler.alabel(text_at(message.content, texts[0]), context=context, decision=decision)
        return _with_data(message, replace_texts(message.content, {texts[0]: result.text}), result, labeler)
    stream = await labeler.astream(context=context, decision=decision)
    content, result = _label_blocks(message.content, texts, stream)
    await labeler.acomplete(stream)
    return _with_data(message, content, result, labeler)


def history_for_model(messages: Sequence[BaseMessage], labeler: Labeler) -> list[BaseMessage]:
    """
    History hygiene: *messages* with this labeler's own invisible marks dropped from AI messages.

    Every packet costs about 40 tokens upstream and carries nothing a model needs. Only runs
    of mark characters that decode as this labeler's marks are dropped; other producers'
    marks, other invisible characters and the visible label stay. Changed messages are
    copies; the others (and every non-AI message) are passed on as they are.
    """
    return model_history(messages, HistoryHygiene(labeler))


def message_aigc(message: BaseMessage) -> AIGCInfo | None:
    """
    The label data of *message*, typed: its final ``aigc`` object, else (the first chunk of a
    stream) its ``aigc_start`` object; ``None`` when it has neither.

    Raises:
        ValueError: the object is not of the middleware's shape.
    """
    metadata = message.response_metadata or {}
    found = metadata.get(AIGC_KEY)
    if found is None:
        found = metadata.get(AIGC_START_KEY)
    return aigc_info({AIGC_KEY: found}) if found is not None else None


# --- helpers shared with the chat model --------------------------------------------------------


def model_history(messages: Sequence[BaseMessage], hygiene: HistoryHygiene) -> list[BaseMessage]:
    """
    :func:`history_for_model` with a prepared :class:`HistoryHygiene` (which caches what it
    decoded: keep one per labeler on a hot path).
    """
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage):
            content = message.content
            positions = text_positions(content)
            cleaned = {at: hygiene.model_text(text_at(content, at)) for at in positions}
            changed = {at: text for at, text in cleaned.items() if text != text_at(content, at)}
            if changed:
                message = message.model_copy(update={"content": replace_texts(content, changed)})
        out.append(message)
    return out


def text_positions(content: str | list[str | dict[str, Any]]) -> list[int]:
    """
    Where the text of *content* is: ``[-1]`` for a string, else the indexes of text blocks
    (bare strings and ``{"type": "text", "text": ...}``) in order.
    """
    if isinstance(content, str):
        return [-1]
    return [
        i
        for i, block in enumerate(content)
        if isinstance(block, str)
        or (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str))
    ]


def text_at(content: str | list[str | dict[str, Any]], at: int) -> str:
    """
    The text at position *at* of *content* (see :func:`text_positions`).
    """
    if isinstance(content, str):
        return content
    block = content[at]
    return block if isinstance(block, str) else str(block["text"])


def _has_text(content: str | list[str | dict[str, Any]], positions: list[int]) -> bool:
    return any(text_at(content, at).strip() for at in positions)


def replace_texts(
    content: str | list[str | dict[str, Any]], texts: dict[int, str]
) -> str | list[str | dict[str, Any]]:
    """
    A new content with the text at each position replaced (new block dicts; never in place).
    """
    if isinstance(content, str):
        return texts.get(-1, content)
    out: list[str | dict[str, Any]] = []
    for i, block in enumerate(content):
        if i in texts:
            block = texts[i] if isinstance(block, str) else {**block, "text": texts[i]}
        out.append(block)
    return out


def _label_blocks(
    content: str | list[str | dict[str, Any]], positions: list[int], stream: StreamLabeler
) -> tuple[str | list[str | dict[str, Any]], LabeledText]:
    """
    Several text blocks labeled as one text, in order: each block gets what the stream
    releases for it, the last one the end label and seal.
    """
    outs = {at: stream.feed(text_at(content, at)) for at in positions}
    outs[positions[-1]] += stream.finish()
    assert stream.result is not None  # set by finish()
    return replace_texts(content, outs), stream.result


def aigc_object(labeler: Labeler, item: dict[str, Any], *, stage: str = "end") -> dict[str, Any]:
    """
    The ``aigc`` object of one message: ``{"label", "stage", "items": [item]}``.
    """
    return {"label": labeler.policy.label, "stage": stage, "items": [item]}


def start_object(labeler: Labeler, stream: StreamLabeler) -> dict[str, Any]:
    """
    The ``aigc_start`` object of a stream's first chunk with text.
    """
    return aigc_object(labeler, aigc_start_item(stream, index=0), stage="start")


def _with_data(
    message: M, content: str | list[str | dict[str, Any]], labeled: LabeledText, labeler: Labeler
) -> M:
    metadata = {**message.response_metadata, AIGC_KEY: aigc_object(labeler, aigc_item(labeled, index=0))}
    return message.model_copy(update={"content": content, "response_metadata": metadata})
