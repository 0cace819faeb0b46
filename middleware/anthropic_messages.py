"""
Anthropic messages (``POST …/v1/messages``): where the text is, and which event is final.

JSON: ``text`` content blocks; ``thinking`` / ``redacted_thinking`` blocks pass through
(the API checks their signature against the text); a message with no text block (only
``tool_use``) gets a metadata-only ``aigc`` item.

Stream: a text block opens with ``content_block_start`` (which may carry text), grows with
``text_delta`` deltas and ends at ``content_block_stop``: its tail goes out in an injected
``content_block_delta`` just before. The ``aigc`` object rides on ``message_delta``. At a
clean end before ``content_block_stop``, a synthesized ``content_block_delta`` per open
block carries its tail and its ``aigc`` object.
"""

from __future__ import annotations

from typing import Any

from .common import BodyShapeError, RewriterBase, aigc_item, aigc_start_item, dumps, json_list, json_texts
from .fastpath import Shape, Template
from .rewrite import StreamRewriter
from .sse import SSEEvent, encode_event

__all__ = ["THINKING", "MessagesStream", "batch_structured", "body"]

#: Thinking blocks: passed through, since the API rejects an edited block sent back.
THINKING = frozenset({"thinking", "redacted_thinking"})


def body(rw: RewriterBase, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Label a message object in place; its ``aigc`` items.

    Raises:
        BodyShapeError: no ``content`` list, or a text block without a ``text`` string.
    """
    items = []
    for i, block in enumerate(json_list(doc, "content")):
        if isinstance(block, dict) and block.get("type") == "text":
            if not isinstance(block.get("text"), str):
                raise BodyShapeError(f"text block {i} has no `text` string")
            labeled = rw.label(block["text"])
            block["text"] = labeled.text
            items.append(aigc_item(labeled, index=i))
        elif isinstance(block, dict) and block.get("type") in THINKING:
            rw.reasoning = "passed_through"  # the block's signature covers its text
    if not items:
        items.append(aigc_item(rw.describe(), index=0))
    return items


def batch_structured(doc: dict[str, Any]) -> bool:
    """
    Whether a message in batch results is JSON-mode output (every text block is JSON).
    """
    return json_texts(doc.get("content"), "text")


class MessagesStream(StreamRewriter):
    """
    An Anthropic messages event stream (see the module docstring).
    """

    def on_event(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        kind = doc.get("type")
        index = doc.get("index", 0)
        if kind == "content_block_start":
            block = doc.get("content_block")
            if isinstance(block, dict) and block.get("type") == "text":
                stream = self._open(index)
                if block.get("text"):
                    block["text"] = stream.feed(block["text"])
                    self._announce(doc, index, block["text"])
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
                if self._announce(doc, index, new) or new != delta["text"]:
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
                self._items.append(aigc_item(self.describe(), index=0))
            doc["aigc"] = self.aigc(self._items)
            return [encode_event(ev.event, dumps(doc), ev.other)]
        return None

    def fast_shape(self, doc: dict[str, Any]) -> Shape | None:
        """
        A ``text_delta`` of a text block.
        """
        delta = doc.get("delta")
        index = doc.get("index", 0)
        if (
            doc.get("type") != "content_block_delta"
            or not isinstance(delta, dict)
            or delta.get("type") != "text_delta"
            or not isinstance(delta.get("text"), str)
            or type(index) not in (int, str)
        ):
            return None
        return Shape(("delta", "text"), index)

    def fast_event(self, template: Template, values: list[Any], raw: bytes) -> bytes | None:
        index = template.key
        stream = self._streams.get(index)
        if stream is None:
            return None
        text = values[template.text_at]
        new = stream.feed(text)
        if new == text and index in self._announced:  # the common delta: sent as it came
            return raw
        first = self.first_release(index, new)
        if new == text and not first:
            return raw
        values[template.text_at] = new
        if not first:  # only the text changed
            return template.rewrite(raw, values)
        start = aigc_start_item(stream, index=index)
        return template.rewrite(raw, values, self.aigc([start], stage="start"))

    def _announce(self, doc: dict[str, Any], index: Any, released: str) -> bool:
        if not self.first_release(index, released):
            return False
        doc["aigc"] = self.aigc([aigc_start_item(self._streams[index], index=index)], stage="start")
        return True

    def finish_open(self) -> list[bytes]:
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
                "aigc": self.aigc([item]),
            }
            out.append(encode_event("content_block_delta", dumps(extra)))
        return out
