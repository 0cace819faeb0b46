"""
OpenAI Responses API (``POST …/responses``, and retrieval of a stored response): where the
text is, and which event is final.

JSON: ``output_text`` parts of ``message`` items; reasoning shown to users is in
``reasoning`` items (``summary`` parts and ``reasoning_text`` content parts). A response
with no text (only function calls) gets a metadata-only ``aigc`` item.

Stream: every copy of a text stays consistent — ``*.delta`` events carry the labeled
deltas, ``*.done`` the whole labeled text (its tail goes out first in an injected delta),
``content_part.done`` / ``reasoning_summary_part.done``, ``output_item.done`` and the final
``response.completed`` (or ``response.incomplete``, which carries the ``aigc`` object)
repeat it; ``sequence_number`` is shifted past injected events. At ``[DONE]`` or a clean end
before a text's ``*.done``, a synthesized ``*.done`` carries it.
"""

from __future__ import annotations

from typing import Any

from .common import RewriterBase, aigc_item, aigc_start_item, dumps, json_list
from .fastpath import Shape, Template
from .rewrite import StreamRewriter
from .sse import SSEEvent, encode_event

__all__ = ["OBJECT", "ResponsesStream", "batch_structured", "body", "output_texts", "reasoning_texts"]

#: The ``object`` of a response.
OBJECT = "response"
_STRUCTURED = frozenset({"json_object", "json_schema"})

#: Stream events: text kind -> (delta event, done event, index field).
_R_EVENTS = {
    "output_text": ("response.output_text.delta", "response.output_text.done", "content_index"),
    "summary": (
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "summary_index",
    ),
    "reasoning_text": ("response.reasoning_text.delta", "response.reasoning_text.done", "content_index"),
}
_R_DELTA = {delta: kind for kind, (delta, _, _) in _R_EVENTS.items() if kind != "output_text"}
_R_DONE = {done: kind for kind, (_, done, _) in _R_EVENTS.items()}
#: ``*.part.done`` part types -> text kind.
_R_PARTS = {"output_text": "output_text", "reasoning_text": "reasoning_text", "summary_text": "summary"}


def body(rw: RewriterBase, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Label a response object in place; its ``aigc`` items.

    Raises:
        BodyShapeError: the object has no ``output`` list.
    """
    items = []
    reasoning = []
    for oi, item in enumerate(json_list(doc, "output")):
        for ci, part in output_texts(item):
            labeled = rw.label(part["text"])
            part["text"] = labeled.text
            items.append(aigc_item(labeled, index=oi, content_index=ci))
        for field, where, part in reasoning_texts(item):
            if rw.seen_reasoning():
                labeled = rw.label(part["text"], reasoning=True)
                part["text"] = labeled.text
                reasoning.append(aigc_item(labeled, index=oi, **{where: field[1]}, field=field[0]))
    if not items:
        items.append(aigc_item(rw.describe(), index=0))
    return items + reasoning


def batch_structured(doc: dict[str, Any]) -> bool:
    """
    Whether a response in Batch output is structured output (its ``text.format`` says so).
    """
    fmt = (doc.get("text") or {}).get("format") if isinstance(doc.get("text"), dict) else None
    return isinstance(fmt, dict) and fmt.get("type") in _STRUCTURED


def output_texts(item: Any) -> list[tuple[int, dict[str, Any]]]:
    if (
        not isinstance(item, dict)
        or item.get("type") != "message"
        or not isinstance(item.get("content"), list)
    ):
        return []
    return [
        (ci, part)
        for ci, part in enumerate(item["content"])
        if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str)
    ]


def reasoning_texts(item: Any) -> list[tuple[tuple[str, int], str, dict[str, Any]]]:
    """
    ``((field, position), position name, part)`` for each text of a Responses reasoning item:
    its ``summary`` parts and its ``reasoning_text`` content parts.
    """
    if not isinstance(item, dict) or item.get("type") != "reasoning":
        return []
    out = []
    for field, where in (("summary", "summary_index"), ("content", "content_index")):
        parts = item.get(field)
        for i, part in enumerate(parts if isinstance(parts, list) else ()):
            if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
                out.append(((("summary" if field == "summary" else "reasoning_text"), i), where, part))
    return out


class ResponsesStream(StreamRewriter):
    """
    A Responses API event stream (see the module docstring).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._offset = 0  # sequence numbers shifted by injected events
        self._seq = -1  # the last sequence number sent
        self._where: dict[Any, Any] = {}  # the output_index of each open text

    def on_event(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        kind = doc.get("type")
        out: list[bytes] = []
        changed = False
        if kind == "response.output_text.delta" and isinstance(doc.get("delta"), str):
            changed = self._text_delta(doc, "output_text", doc.get("content_index", 0))
        elif kind in _R_DONE:
            text_kind = _R_DONE[kind]
            if text_kind == "output_text" or self.seen_reasoning():
                out = self._text_done(doc, text_kind)
                changed = True
        elif kind in _R_DELTA and isinstance(doc.get("delta"), str):
            text_kind = _R_DELTA[kind]
            if self.seen_reasoning():
                changed = self._text_delta(doc, text_kind, doc.get(_R_EVENTS[text_kind][2], 0))
        elif kind in ("response.content_part.done", "response.reasoning_summary_part.done"):
            part = doc.get("part")
            part_kind = _R_PARTS.get(str(part.get("type"))) if isinstance(part, dict) else None
            if part_kind is not None and isinstance(part, dict):
                key = (part_kind, doc.get("item_id"), doc.get(_R_EVENTS[part_kind][2], 0))
                if key in self._finished:
                    part["text"] = self._finished[key]
                    changed = True
        elif kind == "response.output_item.done":
            changed = self._fill_item(doc.get("item"))
        elif kind in ("response.completed", "response.incomplete"):
            response = doc.get("response")
            if isinstance(response, dict):
                for item in response.get("output") or []:
                    self._fill_item(item)
                if not any("field" not in item for item in self._items):
                    self._items.insert(0, aigc_item(self.describe(), index=0))
                response["aigc"] = self.aigc(self._items)
                changed = True
        seq = doc.get("sequence_number")
        if type(seq) is int:
            if self._offset:
                seq += self._offset
                doc["sequence_number"] = seq
                changed = True
            self._seq = seq
        if not changed:
            return None
        out.append(encode_event(ev.event, dumps(doc), ev.other))
        return out

    def fast_shape(self, doc: dict[str, Any]) -> Shape | None:
        """
        A text delta event (answer or reasoning).
        """
        kind = doc.get("type")
        text_kind = "output_text" if kind == "response.output_text.delta" else _R_DELTA.get(str(kind))
        if text_kind is None or not isinstance(doc.get("delta"), str):
            return None
        key = (text_kind, doc.get("item_id"), doc.get(_R_EVENTS[text_kind][2], 0))
        if any(type(part) not in (int, str, type(None)) for part in key[1:]):
            return None
        return Shape(("delta",), key)

    def fast_event(self, template: Template, values: list[Any], raw: bytes) -> bytes | None:
        key = template.key
        stream = self._streams.get(key)
        if stream is None:
            return None
        delta = new = values[template.text_at]
        first = False
        if key[0] == "output_text" or self.seen_reasoning():
            new = stream.feed(delta)
            first = self.first_release(key, new)
        changed = first or new != delta
        seq = 0
        if template.seq_at >= 0:
            seq = values[template.seq_at]
            if self._offset:
                seq += self._offset
                changed = True
            self._seq = seq
        if not changed:
            return raw
        values[template.text_at] = new
        if template.seq_at >= 0:
            values[template.seq_at] = seq
        if not first:  # the text or the sequence number changed
            return template.rewrite(raw, values)
        start = aigc_start_item(stream, **self._start_where(key))
        return template.rewrite(raw, values, self.aigc([start], stage="start"))

    def _start_where(self, key: tuple[str, Any, Any]) -> dict[str, Any]:
        """
        Where the text of stream *key* is, for its start item.
        """
        text_kind, _, index = key
        where: dict[str, Any] = {"index": self._where[key], _R_EVENTS[text_kind][2]: index}
        if text_kind != "output_text":
            where["field"] = text_kind
        return where

    def _text_delta(self, doc: dict[str, Any], text_kind: str, index: Any) -> bool:
        key = (text_kind, doc.get("item_id"), index)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self.open_stream(reasoning=text_kind != "output_text")
            self._where[key] = doc.get("output_index", 0)
        delta = doc["delta"]
        new = stream.feed(delta)
        if self.first_release(key, new):
            doc["aigc"] = self.aigc([aigc_start_item(stream, **self._start_where(key))], stage="start")
        elif new == delta:
            return False
        doc["delta"] = new
        return True

    def _text_done(self, doc: dict[str, Any], text_kind: str) -> list[bytes]:
        """
        A text's ``*.done`` event: the tail goes out in an injected delta first, the event
        carries the whole labeled text.
        """
        index_field = _R_EVENTS[text_kind][2]
        index = doc.get(index_field, 0)
        key = (text_kind, doc.get("item_id"), index)
        out = []
        text = doc.get("text")
        if key not in self._streams and isinstance(text, str) and text:
            # Text that never came as deltas: label the copy in this event.
            labeled = self.label(text, reasoning=text_kind != "output_text")
            self._finished[key] = labeled.text
        else:
            tail, labeled = self._close(key)
            if tail:
                out.append(
                    self._injected(
                        text_kind,
                        doc.get("item_id"),
                        doc.get("output_index", 0),
                        index,
                        tail,
                        doc.get("sequence_number", 0) + self._offset,
                    )
                )
        doc["text"] = labeled.text
        where: dict[str, Any] = {"index": doc.get("output_index", 0), index_field: index}
        if text_kind != "output_text":
            where["field"] = text_kind
        self._items.append(aigc_item(labeled, **where))
        return out

    def _injected(
        self, text_kind: str, item_id: Any, output_index: Any, index: Any, tail: str, seq: int
    ) -> bytes:
        delta_type, _, index_field = _R_EVENTS[text_kind]
        extra = {
            "type": delta_type,
            index_field: index,
            "delta": tail,
            "item_id": item_id,
            **({"logprobs": []} if text_kind == "output_text" else {}),
            "output_index": output_index,
            "sequence_number": seq,
        }
        self._offset += 1
        return encode_event(delta_type, dumps(extra))

    def finish_open(self) -> list[bytes]:
        """
        At ``[DONE]`` or a clean end: each open text gets its tail delta and a synthesized
        ``*.done`` event carrying the whole labeled text and its ``aigc`` object.
        """
        out = []
        for key in list(self._streams):
            text_kind, item_id, index = key
            _, done_type, index_field = _R_EVENTS[text_kind]
            output_index = self._where.get(key, 0)
            tail, labeled = self._close(key)
            if tail:
                self._seq += 1
                out.append(self._injected(text_kind, item_id, output_index, index, tail, self._seq))
            where: dict[str, Any] = {"index": output_index, index_field: index}
            if text_kind != "output_text":
                where["field"] = text_kind
            item = aigc_item(labeled, **where)
            self._items.append(item)
            self._seq += 1
            self._offset += 1
            done = {
                "type": done_type,
                index_field: index,
                "item_id": item_id,
                **({"logprobs": []} if text_kind == "output_text" else {}),
                "output_index": output_index,
                "sequence_number": self._seq,
                "text": labeled.text,
                "aigc": self.aigc([item]),
            }
            out.append(encode_event(done_type, dumps(done)))
        return out

    def _fill_item(self, item: Any) -> bool:
        changed = False
        if isinstance(item, dict):
            for ci, part in output_texts(item):
                full = self._finished.get(("output_text", item.get("id"), ci))
                if full is not None:
                    part["text"] = full
                    changed = True
            for (text_kind, index), _, part in reasoning_texts(item):
                full = self._finished.get((text_kind, item.get("id"), index))
                if full is not None:
                    part["text"] = full
                    changed = True
        return changed

    # -- Anthropic messages ----------------------------------------------------
