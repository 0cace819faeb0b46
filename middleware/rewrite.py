"""
Response rewriting per endpoint, sans-I/O: JSON bodies in one call, SSE streams event by event.

Only text parts change: chat ``message.content`` / ``delta.content``, completion ``text``,
Responses ``output_text`` parts and Anthropic ``text`` blocks, and reasoning text shown to
users (chat ``reasoning_content`` / ``reasoning``, Responses reasoning summaries and
``reasoning_text``) unless the reasoning policy is ``"pass"``. Tool calls, function
arguments, refusals, structured (JSON-mode) output and Anthropic ``thinking`` blocks (their
signature covers the text) are never altered; their label is the ``aigc`` object (metadata
and interface tag) added to the body or final event.

Fail closed: a JSON body that is not an object of the endpoint's shape, or that holds text
where this module cannot place a label, raises instead of being released; a stream that
ends without its final event (``[DONE]`` in any spelling the SDKs accept, or a clean close)
gets its end label and seal in a synthesized event of the endpoint's own shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aigclabel.labeler import LabelContext, LabeledText, Labeler, StreamLabeler

from .common import (
    REASONING_FIELDS,
    THINKING,
    BodyShapeError,
    Reasoning,
    RewriterBase,
    UnlabelableResponseError,
    UpstreamStreamError,
    aigc_item,
    dumps,
    output_texts,
    reasoning_texts,
)
from .endpoints import Endpoint, RequestInfo
from .jsonbody import JSONRewriter
from .sse import SSEDecoder, SSEEvent, encode_event

__all__ = [
    "BodyShapeError",
    "JSONRewriter",
    "Reasoning",
    "StreamRewriter",
    "UnlabelableResponseError",
    "UpstreamStreamError",
    "aigc_item",
]

_SUMMARY_EVENTS = frozenset({"message_start", "message_delta", "response.completed", "response.incomplete"})


#: Responses stream events: text kind -> (delta event, done event, index field).
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


class StreamRewriter(RewriterBase):
    """
    Labels an SSE response: ``feed(bytes) -> bytes`` and ``close() -> bytes``.

    Events we do not rewrite (comments, unknown types, malformed data) pass through
    byte-for-byte. The end label and seal of a text go out in its final event; a stream
    that ends without one (``[DONE]`` in any spelling, or a clean close) gets them in a
    synthesized event of the endpoint's own shape, just before the ``[DONE]`` or the end.
    A stream that breaks (the transport raises) gets none: :meth:`close` is not called.
    """

    def __init__(
        self,
        labeler: Labeler,
        info: RequestInfo,
        context: LabelContext | None,
        reasoning: Reasoning = "label",
    ) -> None:
        super().__init__(labeler, info, context, reasoning)
        self._decoder = SSEDecoder()
        self._streams: dict[Any, StreamLabeler] = {}
        self._finished: dict[Any, str] = {}  # key -> full labeled text
        self._items: list[dict[str, Any]] = []
        self._offset = 0  # sequence numbers shifted by injected events (Responses API)
        self._seq = -1  # the last sequence number sent (Responses API)
        self._where: dict[Any, Any] = {}  # Responses: the output_index of each open text
        self._template: dict[str, Any] | None = None
        # Chat: reasoning fields still looked at, choices whose reasoning is open, and the
        # reasoning items waiting for their choice's final chunk.
        self._rfields = REASONING_FIELDS if info.endpoint is Endpoint.CHAT else ()
        self._reasoning_open: set[Any] = set()
        self._pending: dict[Any, list[dict[str, Any]]] = {}
        #: what the stream said about itself (model, id, usage, finish reasons), for telemetry
        self.summary: dict[str, Any] = {"usage": {}, "choices": []}
        self._on_event: Callable[[SSEEvent, dict[str, Any]], list[bytes] | None] = {
            Endpoint.CHAT: self._chat,
            Endpoint.COMPLETIONS: self._chat,
            Endpoint.RESPONSES: self._responses,
            Endpoint.MESSAGES: self._messages,
        }[info.endpoint]
        self._finish_open: Callable[[], list[bytes]] = {
            Endpoint.CHAT: self._finish_chat,
            Endpoint.COMPLETIONS: self._finish_chat,
            Endpoint.RESPONSES: self._finish_responses,
            Endpoint.MESSAGES: self._finish_messages,
        }[info.endpoint]

    def feed(self, chunk: bytes) -> bytes:
        """
        Rewrite the events completed by *chunk*; a partial event waits for the next chunk.
        """
        events = self._decoder.feed(chunk)
        if not events:
            return b""
        return b"".join([self._event(ev) for ev in events])

    def close(self) -> bytes:
        """
        At a clean end of the upstream stream: flush an unterminated last event, then end
        every text still open with its end label and seal in a synthesized final event.
        """
        flushed = self._decoder.flush()
        out = [self._event(ev) for ev in flushed]
        finish = self._finish_open() if self._streams else []
        if finish and flushed and out[-1] is flushed[-1].raw and flushed[-1].data is not None:
            # A truncated last event nobody can read: the end label must not wait behind it.
            return b"".join([*out[:-1], *finish, out[-1]])
        return b"".join(out + finish)

    def _event(self, ev: SSEEvent) -> bytes:
        data = ev.data
        if data is None:
            return ev.raw
        # The openai SDK stops at any data that starts with [DONE] ("[DONE] ", "[DONE]x"…).
        if data[:1] != "{" and data.lstrip().startswith("[DONE]"):
            return b"".join([*self._finish_open(), ev.raw]) if self._streams else ev.raw
        try:
            doc = json.loads(data)
        except ValueError:
            return ev.raw
        if not isinstance(doc, dict):
            return ev.raw
        self._observe(doc)
        out = self._on_event(ev, doc)
        return ev.raw if out is None else b"".join(out)

    def _observe(self, doc: dict[str, Any]) -> None:
        summary = self.summary
        usage = doc.get("usage")
        kind = doc.get("type")
        if "model" in summary and usage is None and kind not in _SUMMARY_EVENTS:
            return  # the common delta event: nothing new about the response
        inner = doc.get("response") or doc.get("message")
        source = inner if isinstance(inner, dict) else doc
        for key in ("model", "id"):
            if isinstance(source.get(key), str):
                summary.setdefault(key, source[key])
        for found in (source.get("usage"), usage):
            if isinstance(found, dict):
                summary["usage"].update({k: v for k, v in found.items() if isinstance(v, int)})
        delta = doc.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
            summary["stop_reason"] = delta["stop_reason"]
        if kind in ("response.completed", "response.incomplete") and isinstance(inner, dict):
            summary["choices"].append({"finish_reason": inner.get("status")})

    def _open(self, key: Any, *, reasoning: bool = False) -> StreamLabeler:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self._stream(reasoning=reasoning)
        return stream

    def _close(self, key: Any) -> tuple[str, LabeledText]:
        stream = self._streams.pop(key, None)
        if stream is None:
            return "", self._metadata_only()
        tail = stream.finish()
        assert stream.result is not None
        self.labeled.append(stream.result)
        self._finished[key] = stream.result.text
        return tail, stream.result

    # -- chat completions and legacy completions ------------------------------

    def _chat(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return None
        self._template = doc
        field = "text" if self.info.endpoint is Endpoint.COMPLETIONS else "content"
        changed = False
        items = []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            holder = choice if field == "text" else choice.get("delta")
            if not isinstance(holder, dict):
                holder = choice["delta"] = {}
            if (
                self._rfields
                and ("reasoning_content" in holder or "reasoning" in holder)
                and self._chat_reasoning(holder, index)
            ):
                changed = True
            text = holder.get(field)
            if isinstance(text, str) and text:
                if self._reasoning_open and index in self._reasoning_open:
                    self._end_reasoning(holder, index)  # the answer starts: the reasoning is complete
                    changed = True
                new = self._open(index).feed(text)
                if new != text:
                    holder[field] = new
                    changed = True
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
            doc["aigc"] = self._aigc(items)
        return [encode_event(ev.event, dumps(doc), ev.other)] if changed else None

    def _chat_reasoning(self, holder: dict[str, Any], index: Any) -> bool:
        changed = False
        for field in self._rfields:
            text = holder.get(field)
            if isinstance(text, str) and text:
                if not self._seen_reasoning():
                    self._rfields = ()  # passed through: stop looking
                    return False
                self._reasoning_open.add(index)
                new = self._open((index, field), reasoning=True).feed(text)
                if new != text:
                    holder[field] = new
                    changed = True
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

    def _finish_chat(self) -> list[bytes]:
        """
        At ``[DONE]`` or a clean end: close texts whose choice never sent a finish_reason,
        in one synthesized chunk per choice.
        """
        field = "text" if self.info.endpoint is Endpoint.COMPLETIONS else "content"
        template = {
            k: v for k, v in (self._template or {}).items() if k in ("id", "object", "created", "model")
        }
        out = []
        for index in dict.fromkeys(k[0] if isinstance(k, tuple) else k for k in self._streams):
            holder: dict[str, Any] = {}
            if index in self._reasoning_open:
                self._end_reasoning(holder, index)
            tail, labeled = self._close(index)
            self._finished.setdefault(index, labeled.text)
            holder[field] = tail
            choice: dict[str, Any] = {"index": index, "finish_reason": None}
            if field == "text":
                choice.update(holder)
            else:
                choice["delta"] = holder
            items = [aigc_item(labeled, index=index), *self._pending.pop(index, ())]
            out.append(
                encode_event(None, dumps({**template, "choices": [choice], "aigc": self._aigc(items)}))
            )
        return out

    # -- Responses API ---------------------------------------------------------

    def _responses(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        kind = doc.get("type")
        out: list[bytes] = []
        changed = False
        if kind == "response.output_text.delta" and isinstance(doc.get("delta"), str):
            changed = self._text_delta(doc, "output_text", doc.get("content_index", 0))
        elif kind in _R_DONE:
            text_kind = _R_DONE[kind]
            if text_kind == "output_text" or self._seen_reasoning():
                out = self._text_done(doc, text_kind)
                changed = True
        elif kind in _R_DELTA and isinstance(doc.get("delta"), str):
            text_kind = _R_DELTA[kind]
            if self._seen_reasoning():
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
                    self._items.insert(0, aigc_item(self._metadata_only(), index=0))
                response["aigc"] = self._aigc(self._items)
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

    def _text_delta(self, doc: dict[str, Any], text_kind: str, index: Any) -> bool:
        key = (text_kind, doc.get("item_id"), index)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self._stream(reasoning=text_kind != "output_text")
            self._where[key] = doc.get("output_index", 0)
        delta = doc["delta"]
        new = stream.feed(delta)
        if new == delta:
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
            labeled = self._label(text, reasoning=text_kind != "output_text")
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

    def _finish_responses(self) -> list[bytes]:
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
                "aigc": self._aigc([item]),
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

    def _messages(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        kind = doc.get("type")
        index = doc.get("index", 0)
        if kind == "content_block_start":
            block = doc.get("content_block")
            if isinstance(block, dict) and block.get("type") == "text":
                stream = self._open(index)
                if block.get("text"):
                    block["text"] = stream.feed(block["text"])
                    return [encode_event(ev.event, dumps(doc), ev.other)]
            elif isinstance(block, dict) and block.get("type") in THINKING:
                self.reasoning = "passed_through"  # the block's signature covers its text
            return None
        if kind == "content_block_delta":
            delta = doc.get("delta")
            if (
                isinstance(delta, dict)
                and delta.get("type") == "text_delta"
                and isinstance(delta.get("text"), str)
            ):
                new = self._open(index).feed(delta["text"])
                if new != delta["text"]:
                    delta["text"] = new
                    return [encode_event(ev.event, dumps(doc), ev.other)]
            return None
        if kind == "content_block_stop" and index in self._streams:
            tail, labeled = self._close(index)
            self._items.append(aigc_item(labeled, index=index))
            if not tail:
                return None
            extra = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": tail},
            }
            return [encode_event("content_block_delta", dumps(extra)), ev.raw]
        if kind == "message_delta":
            if not self._items:
                self._items.append(aigc_item(self._metadata_only(), index=0))
            doc["aigc"] = self._aigc(self._items)
            return [encode_event(ev.event, dumps(doc), ev.other)]
        return None

    def _finish_messages(self) -> list[bytes]:
        """
        At a clean end (or ``[DONE]``) before ``content_block_stop``: each open text block
        gets a synthesized ``content_block_delta`` with its tail and its ``aigc`` object.
        """
        out = []
        for index in list(self._streams):
            tail, labeled = self._close(index)
            item = aigc_item(labeled, index=index)
            self._items.append(item)
            extra = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": tail},
                "aigc": self._aigc([item]),
            }
            out.append(encode_event("content_block_delta", dumps(extra)))
        return out
