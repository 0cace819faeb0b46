"""
The generic SSE plumbing of the response rewriters, sans-I/O: events in, events out.

:class:`StreamRewriter` decodes the SSE stream, passes comments, unknown and malformed
events through byte for byte, recognises ``[DONE]`` in every spelling the SDKs accept,
parses each JSON event once and hands it to its API's handler; it keeps one
:class:`~aigclabel.StreamLabeler` per open text. What an event means — where its text is,
which event is final, what a synthesized final event looks like — is each API's own
module: :mod:`.openai_chat`, :mod:`.openai_completions`, :mod:`.openai_responses`,
:mod:`.anthropic_messages` (:func:`~.apis.stream_rewriter` picks one per endpoint).

Only text parts change; tool calls, function arguments, refusals, structured (JSON-mode)
output and Anthropic ``thinking`` blocks are never altered: their label is the ``aigc``
object (metadata and interface tag) added to the final event. Label data comes first: the
event that releases a text's first characters carries an ``aigc`` object too (``stage``
``start``: ids and interface tag), so a front end shows the tag from the first token and a
consumer that stops early has seen it. A stream that ends without
its final event gets its end label and seal in a synthesized event of the API's own shape.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from aigclabel.labeler import LabelContext, LabeledText, Labeler, OptOutDecision, StreamLabeler

from .common import (
    BodyShapeError,
    Reasoning,
    RewriterBase,
    UnlabelableResponseError,
    UpstreamStreamError,
    aigc_item,
)
from .endpoints import RequestInfo
from .fastpath import Shape, Template, learn
from .sse import SSEDecoder, SSEEvent, parse_event

__all__ = [
    "BodyShapeError",
    "Reasoning",
    "StreamRewriter",
    "UnlabelableResponseError",
    "UpstreamStreamError",
    "aigc_item",
]

_SUMMARY_EVENTS = frozenset({"message_start", "message_delta", "response.completed", "response.incomplete"})

#: Templates learned per stream at most (a stream whose deltas never repeat stops trying), and
#: kept at once (choices or parts interleaved in one stream each have their own).
_LEARN_BUDGET = 8
_TEMPLATES = 4


class StreamRewriter(RewriterBase, ABC):
    """
    Labels an SSE response: ``feed(bytes) -> bytes`` and ``close() -> bytes``.

    Subclasses (one per API) implement :meth:`on_event` and :meth:`finish_open`. Events
    they do not rewrite pass through byte-for-byte. The end label and seal of a text go out
    in its final event; a stream that ends without one (``[DONE]`` in any spelling, or a
    clean close) gets them in a synthesized event of the API's own shape, just before the
    ``[DONE]`` or the end. A stream that breaks (the transport raises) gets none:
    :meth:`close` is not called.
    """

    def __init__(
        self,
        labeler: Labeler,
        info: RequestInfo,
        context: LabelContext | None,
        reasoning: Reasoning = "label",
        *,
        decision: OptOutDecision | None = None,
    ) -> None:
        super().__init__(labeler, info, context, reasoning, decision=decision)
        self._decoder = SSEDecoder()
        self._streams: dict[Any, StreamLabeler] = {}
        self._finished: dict[Any, str] = {}  # key -> full labeled text
        self._items: list[dict[str, Any]] = []
        self._announced: set[Any] = set()  # keys whose start item went out
        #: what the stream said about itself (model, id, usage, finish reasons), for telemetry
        self.summary: dict[str, Any] = {"usage": {}, "choices": []}
        #: streams finished, in order (their completion records are the shell's to write)
        self.closed: list[StreamLabeler] = []
        self._templates: list[Template] = []  # see .fastpath
        self._hot: Template | None = None  # the newest template, tried before any splitting
        self._budget = _LEARN_BUDGET

    @abstractmethod
    def on_event(self, ev: SSEEvent, doc: dict[str, Any]) -> list[bytes] | None:
        """
        The bytes to send for one JSON event, or ``None`` to send it unchanged (each API's module).
        """

    @abstractmethod
    def finish_open(self) -> list[bytes]:
        """
        At ``[DONE]`` or a clean end: events that close every text still open (each API's module).
        """

    def fast_shape(self, doc: dict[str, Any]) -> Shape | None:
        """
        The :class:`~.fastpath.Shape` of a delta event whose later copies :meth:`fast_event`
        can take (its API's module), else ``None``: no fast path.
        """
        return None

    def fast_event(self, template: Template, values: list[Any], raw: bytes) -> bytes | None:
        """
        The bytes to send for the raw event *raw*, which matched *template* with hole
        *values*, exactly as :meth:`on_event` would; ``None`` (before any state changed) when
        the full path must take it (its API's module).
        """
        return None

    def feed(self, chunk: bytes) -> bytes:
        """
        Rewrite the events completed by *chunk*; a partial event waits for the next chunk.
        """
        hot = self._hot
        if hot is not None and self._decoder.idle and "model" in self.summary:
            # A match is one whole event without a CR (the pieces and the JSON tokens in the
            # holes hold none), which the decoder would split into itself: it is skipped.
            values = hot.match(chunk)
            if values is not None:
                out = self.fast_event(hot, values, chunk)
                return self._event(parse_event(chunk)) if out is None else out
        raws = self._decoder.split(chunk)
        if len(raws) != 1:
            return b"".join([self._raw_event(raw) for raw in raws])
        raw = raws[0]  # the common chunk: one whole event, most often a delta
        if self._templates and "model" in self.summary:
            out = self._fast(raw)
            if out is not None:
                return out
        return self._event(parse_event(raw), learn=self._budget > 0)

    def close(self) -> bytes:
        """
        At a clean end of the upstream stream: flush an unterminated last event, then end
        every text still open with its end label and seal in a synthesized final event.
        """
        flushed = self._decoder.flush()
        out = [self._event(ev) for ev in flushed]
        finish = self.finish_open() if self._streams else []
        if finish and flushed and out[-1] is flushed[-1].raw and flushed[-1].data is not None:
            # A truncated last event nobody can read: the end label must not wait behind it.
            return b"".join([*out[:-1], *finish, out[-1]])
        return b"".join(out + finish)

    def _raw_event(self, raw: bytes) -> bytes:
        """
        One raw event: on the fast path when it matches a template (see :mod:`.fastpath`).
        """
        if self._templates and "model" in self.summary:  # else _observe has work to do
            out = self._fast(raw)
            if out is not None:
                return out
        return self._event(parse_event(raw), learn=self._budget > 0)

    def _fast(self, raw: bytes) -> bytes | None:
        """
        *raw* rewritten on the fast path, or ``None`` when it matches no template. A match
        the API declines takes the full path here, without learning it again.
        """
        for template in self._templates:
            values = template.match(raw)
            if values is not None:
                out = self.fast_event(template, values, raw)
                return self._event(parse_event(raw)) if out is None else out
        return None

    def _learn(self, raw: bytes, shape: Shape) -> None:
        self._budget -= 1
        template = learn(raw, shape)
        if template is not None:
            del self._templates[_TEMPLATES - 1 :]
            self._templates.insert(0, template)
            self._hot = template

    def _event(self, ev: SSEEvent, *, learn: bool = False) -> bytes:
        data = ev.data
        if data is None:
            return ev.raw
        # The openai SDK stops at any data that starts with [DONE] ("[DONE] ", "[DONE]x"…).
        if data[:1] != "{" and data.lstrip().startswith("[DONE]"):
            return b"".join([*self.finish_open(), ev.raw]) if self._streams else ev.raw
        try:
            doc = json.loads(data)
        except ValueError:
            return ev.raw
        if not isinstance(doc, dict):
            return ev.raw
        self._observe(doc)
        shape = None
        # Not before a stream is open: the first token waits for no walk (the next delta teaches).
        if learn and self._streams and doc.get("usage") is None and doc.get("type") not in _SUMMARY_EVENTS:
            shape = self.fast_shape(doc)
            if shape is not None and shape.key not in self._streams:
                shape = None
        out = self.on_event(ev, doc)
        if shape is not None:
            self._learn(ev.raw, shape)
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
            stream = self._streams[key] = self.open_stream(reasoning=reasoning)
        return stream

    def first_release(self, key: Any, released: str) -> bool:
        """
        Whether *released* is the first text of *key*'s stream to go out (its start item is due
        now: :func:`aigc_start_item`); marks it announced. One set lookup per delta.
        """
        if not released or key in self._announced:
            return False
        self._announced.add(key)
        return True

    def _close(self, key: Any) -> tuple[str, LabeledText]:
        stream = self._streams.pop(key, None)
        if stream is None:
            return "", self.describe()
        tail = stream.finish()
        self.closed.append(stream)
        assert stream.result is not None
        self.labeled.append(stream.result)
        self._finished[key] = stream.result.text
        return tail, stream.result
