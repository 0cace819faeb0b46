"""
OpenAI chat completions (``POST …/chat/completions``, and retrieval of a stored one): where
the text is, and which event is final.

JSON: each choice's ``message.content`` (a string, or content parts as some compatible
servers send them); ``None`` when the choice holds only tool calls or a refusal, whose label
is the ``aigc`` item alone. Reasoning shown to users: ``reasoning_content`` (DeepSeek, Qwen,
vLLM) or ``reasoning`` (OpenRouter, newer vLLM) next to the content.

Stream: ``choices[].delta.content`` deltas; a choice's final chunk is the one with its
``finish_reason`` (the end label, seal and ``aigc`` object go there); at ``[DONE]`` or a
clean end without one, a synthesized chunk per open choice carries them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .common import (
    BodyShapeError,
    RewriterBase,
    aigc_item,
    aigc_start_item,
    dumps,
    json_list,
    json_texts,
    kind_name,
)
from .fastpath import Shape, Template
from .rewrite import StreamRewriter
from .sse import SSEEvent, encode_event

__all__ = ["OBJECT", "REASONING_FIELDS", "ChatStream", "batch_structured", "body"]

#: The ``object`` of a chat completion (how a Batch output line says what it holds).
OBJECT = "chat.completion"

#: Chat fields that carry reasoning text: DeepSeek / Qwen / vLLM ``reasoning_content``,
#: OpenRouter / newer vLLM ``reasoning``.
REASONING_FIELDS = ("reasoning_content", "reasoning")

#: The top-level fields a synthesized final chunk copies (:meth:`ChatStream.finish_open`).
_TEMPLATE_FIELDS = ("id", "object", "created", "model")


def body(rw: RewriterBase, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Label a chat completion object in place; its ``aigc`` items.

    Raises:
        BodyShapeError: a choice without a ``message`` object, or content of another shape.
    """
    choices = json_list(doc, "choices")
    items: list[dict[str, Any]] = []
    reasoning: list[dict[str, Any]] = []
    for i, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(choice, dict) or not isinstance(message, dict):
            raise BodyShapeError(f"choice {i} has no `message` object")
        index = choice.get("index", i)
        content = message.get("content")
        if isinstance(content, str):
            labeled = rw.label(content)
            message["content"] = labeled.text
            items.append(aigc_item(labeled, index=index))
        elif content is None:  # tool calls or a refusal only: metadata and interface tag
            items.append(aigc_item(rw.describe(), index=index))
        elif isinstance(content, list):  # content parts, as some compatible servers send them
            items.extend(_parts(rw, content, f"choice {i}", index=index))
        else:
            raise BodyShapeError(f"choice {i} has a `message.content` of type {kind_name(content)}")
        reasoning.extend(_reasoning_fields(rw, message, index=index))
    return items + reasoning


def _parts(rw: RewriterBase, parts: list[Any], where: str, *, index: int) -> list[dict[str, Any]]:
    items = []
    for ci, part in enumerate(parts):
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str):
            labeled = rw.label(text)
            part["text"] = labeled.text
            items.append(aigc_item(labeled, index=index, content_index=ci))
        elif text is not None or not isinstance(part, dict):
            raise BodyShapeError(f"{where} has a content part that is not a text part of the known shape")
    return items or [aigc_item(rw.describe(), index=index)]


def _reasoning_fields(rw: RewriterBase, holder: dict[str, Any], *, index: int) -> list[dict[str, Any]]:
    items = []
    for field in REASONING_FIELDS:
        value = holder.get(field)
        if isinstance(value, str) and value and rw.seen_reasoning():
            labeled = rw.label(value, reasoning=True)
            holder[field] = labeled.text
            items.append(aigc_item(labeled, index=index, field=field))
    return items


def batch_structured(doc: dict[str, Any]) -> bool:
    """
    Whether a chat completion in Batch output is JSON-mode output (every text is JSON).
    """
    texts = [c.get("message") for c in doc.get("choices") or () if isinstance(c, dict)]
    return json_texts(texts, "content")


class ChatStream(StreamRewriter):
    """
    A chat completions stream (see the module docstring).
    """

    #: where a choice's text is: ``delta.content``
    FIELD: ClassVar[str] = "content"
    IN_CHOICE: ClassVar[bool] = False
    #: reasoning fields looked for in a delta
    REASONING: ClassVar[tuple[str, ...]] = REASONING_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._template: dict[str, Any] | None = None
        # Reasoning fields still looked at, choices whose reasoning is open, and the
        # reasoning items waiting for their choice's final chunk.
        self._rfields = self.REASONING
        self._reasoning_open: set[Any] = set()
        self._pending: dict[Any, list[dict[str, Any]]] = {}

    def on_event(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return None
        self._template = doc
        field = self.FIELD
        changed = False
        items = []
        starts: list[dict[str, Any]] = []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            holder = choice if self.IN_CHOICE else choice.get("delta")
            if not isinstance(holder, dict):
                holder = choice["delta"] = {}
            if (
                self._rfields
                and ("reasoning_content" in holder or "reasoning" in holder)
                and self._chat_reasoning(holder, index, starts)
            ):
                changed = True
            text = holder.get(field)
            if text and not isinstance(text, str):
                # A list of content parts (or anything else) the client may render as text: it
                # cannot be labeled in place, so it is not released (fail closed).
                raise BodyShapeError(
                    f"a streamed {field!r} that is a {type(text).__name__}, not a string, cannot be labeled"
                )
            if isinstance(text, str) and text:
                if self._reasoning_open and index in self._reasoning_open:
                    self._end_reasoning(holder, index)  # the answer starts: the reasoning is complete
                    changed = True
                new = self._open(index).feed(text)
                if new != text:
                    holder[field] = new
                    changed = True
                if self.first_release(index, new):
                    starts.append(aigc_start_item(self._streams[index], index=index))
            if choice.get("finish_reason") is not None and index not in self._finished:
                self.summary["choices"].append({"finish_reason": choice["finish_reason"]})
                if self._reasoning_open and index in self._reasoning_open:
                    self._end_reasoning(holder, index)
                tail, labeled = self._close(index)
                self._finished.setdefault(index, labeled.text)
                if tail:
                    holder[field] = (holder.get(field) or "") + tail
                items.append(aigc_item(labeled, index=index))
                items.extend(self._pending.pop(index, ()))
                changed = True
        if items:
            doc["aigc"] = self.aigc(items + starts)
        elif starts:
            doc["aigc"] = self.aigc(starts, stage="start")
            changed = True
        return [encode_event(ev.event, dumps(doc), ev.other)] if changed else None

    def fast_shape(self, doc: dict[str, Any]) -> Shape | None:
        """
        A chunk with one choice whose only change is its text: neither final nor reasoning.
        """
        choices = doc.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        holder = choice if self.IN_CHOICE else choice.get("delta")
        index = choice.get("index", 0)
        if (
            choice.get("finish_reason") is not None
            or not isinstance(holder, dict)
            or not isinstance(holder.get(self.FIELD), str)
            or any(field in holder for field in REASONING_FIELDS)
            or type(index) not in (int, str)
        ):
            return None
        path = ("choices", 0, self.FIELD) if self.IN_CHOICE else ("choices", 0, "delta", self.FIELD)
        return Shape(path, index, {k: v for k, v in doc.items() if k in _TEMPLATE_FIELDS})

    def fast_event(self, template: Template, values: list[Any], raw: bytes) -> bytes | None:
        index = template.key
        stream = self._streams.get(index)
        if stream is None or index in self._reasoning_open:
            return None
        self._template = template.extra
        text = values[template.text_at]
        if not text:
            return raw
        new = stream.feed(text)
        if new == text and index in self._announced:  # the common delta: sent as it came
            return raw
        values[template.text_at] = new
        if not self.first_release(index, new):  # only the text changed
            return template.rewrite(raw, values)
        start = aigc_start_item(stream, index=index)
        return template.rewrite(raw, values, self.aigc([start], stage="start"))

    def _chat_reasoning(self, holder: dict[str, Any], index: Any, starts: list[dict[str, Any]]) -> bool:
        changed = False
        for field in self._rfields:
            text = holder.get(field)
            if isinstance(text, str) and text:
                if not self.seen_reasoning():
                    self._rfields = ()  # passed through: stop looking
                    return False
                self._reasoning_open.add(index)
                new = self._open((index, field), reasoning=True).feed(text)
                if new != text:
                    holder[field] = new
                    changed = True
                if self.first_release((index, field), new):
                    starts.append(aigc_start_item(self._streams[(index, field)], index=index, field=field))
        return changed

    def _end_reasoning(self, holder: dict[str, Any], index: Any) -> None:
        """
        Close the reasoning texts of choice *index*: their tails go into *holder*, their
        ``aigc`` items wait for the choice's final chunk.
        """
        self._reasoning_open.discard(index)
        for field in REASONING_FIELDS:
            if (index, field) in self._streams:
                tail, labeled = self._close((index, field))
                if tail:
                    holder[field] = (holder.get(field) or "") + tail
                self._pending.setdefault(index, []).append(aigc_item(labeled, index=index, field=field))

    def finish_open(self) -> list[bytes]:
        """
        At ``[DONE]`` or a clean end: close texts whose choice never sent a finish_reason,
        in one synthesized chunk per choice.
        """
        field = self.FIELD
        template = {k: v for k, v in (self._template or {}).items() if k in _TEMPLATE_FIELDS}
        out = []
        for index in dict.fromkeys(k[0] if isinstance(k, tuple) else k for k in self._streams):
            holder: dict[str, Any] = {}
            if index in self._reasoning_open:
                self._end_reasoning(holder, index)
            tail, labeled = self._close(index)
            self._finished.setdefault(index, labeled.text)
            holder[field] = tail
            choice: dict[str, Any] = {"index": index, "finish_reason": None}
            if self.IN_CHOICE:
                choice.update(holder)
            else:
                choice["delta"] = holder
            items = [aigc_item(labeled, index=index), *self._pending.pop(index, ())]
            out.append(encode_event(None, dumps({**template, "choices": [choice], "aigc": self.aigc(items)})))
        return out

    # -- Responses API ---------------------------------------------------------
