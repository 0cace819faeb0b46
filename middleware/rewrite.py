"""
Response rewriting per endpoint, sans-I/O: JSON bodies in one call, SSE streams event by event.

Only text parts change: chat ``message.content`` / ``delta.content``, completion ``text``,
Responses ``output_text`` parts and Anthropic ``text`` blocks. Tool calls, function
arguments, refusals and structured (JSON-mode) output are never altered; their label
is the ``aigc`` object (metadata and interface tag) added to the body or final event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aigclabel.exceptions import AIGCLabelError
from aigclabel.labeler import LabelContext, LabeledText, Labeler, StreamLabeler

from .endpoints import Endpoint, RequestInfo
from .sse import SSEDecoder, SSEEvent, encode_event

__all__ = ["JSONRewriter", "StreamRewriter", "UpstreamStreamError", "aigc_item"]


class UpstreamStreamError(AIGCLabelError, ConnectionError):
    """
    The upstream stream broke or ended before its final event. The text delivered so far
    keeps its start label and in-text packets; no end label or seal was emitted for it.
    """


def aigc_item(labeled: LabeledText, **where: int) -> dict[str, Any]:
    """
    The ``aigc`` entry for one labeled text: where it is, its ids, metadata and interface tag.
    """
    return {
        **where,
        "produce_id": labeled.produce_id,
        "mark_id": labeled.mark_id,
        "explicit": labeled.explicit,
        "metadata": labeled.metadata.to_dict("wrapped"),
        "ui": labeled.ui.model_dump(),
    }


_SUMMARY_EVENTS = frozenset({"message_start", "message_delta", "response.completed", "response.incomplete"})


def _dumps(doc: Any) -> str:
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only the \u escape form is valid UTF-8 JSON
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    return text


class _Base:
    def __init__(self, labeler: Labeler, info: RequestInfo, context: LabelContext | None) -> None:
        self.labeler = labeler
        self.info = info
        self.context = context
        self.text_format = info.text_format(labeler.policy.text_format)
        #: every labeled text of this response, in order
        self.labeled: list[LabeledText] = []

    def _label(self, text: str) -> LabeledText:
        labeled = self.labeler.label(text, context=self.context, text_format=self.text_format)
        self.labeled.append(labeled)
        return labeled

    def _metadata_only(self) -> LabeledText:
        labeled = self.labeler.label("", context=self.context, text_format="json")
        self.labeled.append(labeled)
        return labeled

    def _stream(self) -> StreamLabeler:
        return self.labeler.stream(context=self.context, text_format=self.text_format)

    def _aigc(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"label": self.labeler.policy.label, "items": items}


class JSONRewriter(_Base):
    """
    Labels the text parts of one JSON response body.
    """

    def rewrite(self, body: bytes) -> bytes | None:
        """
        The rewritten body, or ``None`` when it is not a JSON object of the expected shape.
        """
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        handler = {
            Endpoint.CHAT: self._chat,
            Endpoint.COMPLETIONS: self._completions,
            Endpoint.RESPONSES: self._responses,
            Endpoint.MESSAGES: self._messages,
        }[self.info.endpoint]
        items = handler(doc)
        if items is None:
            return None
        doc["aigc"] = self._aigc(items)
        return _dumps(doc).encode("utf-8")

    def _chat(self, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return None
        items = []
        for i, choice in enumerate(choices):
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str) and isinstance(message, dict):
                labeled = self._label(content)
                message["content"] = labeled.text
            else:  # tool calls or a refusal only: metadata and interface tag
                labeled = self._metadata_only()
            index = choice.get("index", i) if isinstance(choice, dict) else i
            items.append(aigc_item(labeled, index=index))
        return items

    def _completions(self, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return None
        items = []
        for i, choice in enumerate(choices):
            if isinstance(choice, dict) and isinstance(choice.get("text"), str):
                labeled = self._label(choice["text"])
                choice["text"] = labeled.text
                items.append(aigc_item(labeled, index=choice.get("index", i)))
        return items

    def _responses(self, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
        output = doc.get("output")
        if not isinstance(output, list):
            return None
        items = []
        for oi, item in enumerate(output):
            for ci, part in _output_texts(item):
                labeled = self._label(part["text"])
                part["text"] = labeled.text
                items.append(aigc_item(labeled, index=oi, content_index=ci))
        if not items:
            items.append(aigc_item(self._metadata_only(), index=0))
        return items

    def _messages(self, doc: dict[str, Any]) -> list[dict[str, Any]] | None:
        content = doc.get("content")
        if not isinstance(content, list):
            return None
        items = []
        for i, block in enumerate(content):
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                labeled = self._label(block["text"])
                block["text"] = labeled.text
                items.append(aigc_item(labeled, index=i))
        if not items:
            items.append(aigc_item(self._metadata_only(), index=0))
        return items


def _output_texts(item: Any) -> list[tuple[int, dict[str, Any]]]:
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


class StreamRewriter(_Base):
    """
    Labels an SSE response: ``feed(bytes) -> bytes`` and ``close() -> bytes``.

    Events we do not rewrite (comments, unknown types, malformed data) pass through
    byte-for-byte. The end label and seal of a text go out in its final event, never
    for text that did not arrive: :meth:`close` raises :class:`UpstreamStreamError` if
    the stream ends before a text's final event.
    """

    def __init__(self, labeler: Labeler, info: RequestInfo, context: LabelContext | None) -> None:
        super().__init__(labeler, info, context)
        self._decoder = SSEDecoder()
        self._streams: dict[Any, StreamLabeler] = {}
        self._finished: dict[Any, str] = {}  # key -> full labeled text
        self._items: list[dict[str, Any]] = []
        self._offset = 0  # sequence numbers shifted by injected events (Responses API)
        self._template: dict[str, Any] | None = None
        #: what the stream said about itself (model, id, usage, finish reasons), for telemetry
        self.summary: dict[str, Any] = {"usage": {}, "choices": []}
        self._on_event: Callable[[SSEEvent, dict[str, Any]], list[bytes] | None] = {
            Endpoint.CHAT: self._chat,
            Endpoint.COMPLETIONS: self._chat,
            Endpoint.RESPONSES: self._responses,
            Endpoint.MESSAGES: self._messages,
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
        Flush an unterminated last event; raise if a text never got its final event.
        """
        out = b"".join([self._event(ev) for ev in self._decoder.flush()])
        if self._streams:
            raise UpstreamStreamError(
                f"the upstream {self.info.endpoint.value} stream ended before the final event of "
                f"{len(self._streams)} text(s); their end label and seal were not emitted"
            )
        return out

    def _event(self, ev: SSEEvent) -> bytes:
        data = ev.data
        if data is None:
            return ev.raw
        if data == "[DONE]":
            return b"".join([*self._finish_all_chat(), ev.raw])
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

    def _open(self, key: Any) -> StreamLabeler:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self._stream()
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
            text = holder.get(field)
            if isinstance(text, str) and text:
                new = self._open(index).feed(text)
                if new != text:
                    holder[field] = new
                    changed = True
            if choice.get("finish_reason") is not None and index not in self._finished:
                self.summary["choices"].append({"finish_reason": choice["finish_reason"]})
                tail, labeled = self._close(index)
                self._finished.setdefault(index, labeled.text)
                if tail:
                    holder[field] = (holder.get(field) or "") + tail
                items.append(aigc_item(labeled, index=index))
                changed = True
        if items:
            doc["aigc"] = self._aigc(items)
        return [encode_event(ev.event, _dumps(doc), ev.other)] if changed else None

    def _finish_all_chat(self) -> list[bytes]:
        """
        At ``[DONE]``: close texts whose choice never sent a finish_reason.
        """
        if not self._streams or self.info.endpoint not in (Endpoint.CHAT, Endpoint.COMPLETIONS):
            return []
        out = []
        field = "text" if self.info.endpoint is Endpoint.COMPLETIONS else "content"
        for index in list(self._streams):
            tail, labeled = self._close(index)
            template = {
                k: v for k, v in (self._template or {}).items() if k in ("id", "object", "created", "model")
            }
            choice: dict[str, Any] = {"index": index, "finish_reason": None}
            if field == "text":
                choice["text"] = tail
            else:
                choice["delta"] = {"content": tail}
            doc = {**template, "choices": [choice], "aigc": self._aigc([aigc_item(labeled, index=index)])}
            out.append(encode_event(None, _dumps(doc)))
        return out

    # -- Responses API ---------------------------------------------------------

    def _responses(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        kind = doc.get("type")
        out: list[bytes] = []
        changed = False
        if kind == "response.output_text.delta" and isinstance(doc.get("delta"), str):
            key = (doc.get("item_id"), doc.get("content_index", 0))
            new = self._open(key).feed(doc["delta"])
            changed = new != doc["delta"]
            doc["delta"] = new
        elif kind == "response.output_text.done":
            key = (doc.get("item_id"), doc.get("content_index", 0))
            tail, labeled = self._close(key)
            if tail:
                extra = {
                    "type": "response.output_text.delta",
                    "content_index": doc.get("content_index", 0),
                    "delta": tail,
                    "item_id": doc.get("item_id"),
                    "logprobs": [],
                    "output_index": doc.get("output_index", 0),
                    "sequence_number": doc.get("sequence_number", 0) + self._offset,
                }
                self._offset += 1
                out.append(encode_event("response.output_text.delta", _dumps(extra)))
            doc["text"] = labeled.text
            self._items.append(aigc_item(labeled, index=doc.get("output_index", 0), content_index=key[1]))
            changed = True
        elif kind == "response.content_part.done":
            part = doc.get("part")
            key = (doc.get("item_id"), doc.get("content_index", 0))
            if isinstance(part, dict) and part.get("type") == "output_text" and key in self._finished:
                part["text"] = self._finished[key]
                changed = True
        elif kind == "response.output_item.done":
            changed = self._fill_item(doc.get("item"))
        elif kind in ("response.completed", "response.incomplete"):
            response = doc.get("response")
            if isinstance(response, dict):
                for item in response.get("output") or []:
                    self._fill_item(item)
                if not self._items:
                    self._items.append(aigc_item(self._metadata_only(), index=0))
                response["aigc"] = self._aigc(self._items)
                changed = True
        if self._offset and isinstance(doc.get("sequence_number"), int):
            doc["sequence_number"] += self._offset
            changed = True
        if not changed:
            return None
        out.append(encode_event(ev.event, _dumps(doc), ev.other))
        return out

    def _fill_item(self, item: Any) -> bool:
        changed = False
        if isinstance(item, dict):
            for ci, part in _output_texts(item):
                full = self._finished.get((item.get("id"), ci))
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
                    return [encode_event(ev.event, _dumps(doc), ev.other)]
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
                    return [encode_event(ev.event, _dumps(doc), ev.other)]
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
            return [encode_event("content_block_delta", _dumps(extra)), ev.raw]
        if kind == "message_delta":
            if not self._items:
                self._items.append(aigc_item(self._metadata_only(), index=0))
            doc["aigc"] = self._aigc(self._items)
            return [encode_event(ev.event, _dumps(doc), ev.other)]
        return None
