"""
What a 2xx body on a labeled endpoint is, from its first bytes, whatever its Content-Type.

Client SDKs do not trust the media type either: the openai SDK parses a completion from any
body that is JSON (``text/plain``, ``application/problem+json``, ``text/json``, no type at
all) and reads a requested stream as SSE whatever the type. So the body decides (sans-I/O;
the transports feed it the first chunks)::

    JSON    the first byte after whitespace (and a UTF-8 byte order mark) is ``{`` or ``[``
    SSE     the request asked for a stream, the type is ``text/event-stream``, or the
            first line is an SSE field (``data:``, ``event:``, ``id:``, ``retry:``) or comment
    EMPTY   nothing but whitespace: no text to label, passed through
    OTHER   anything else: it may be generated text, and it cannot be labeled in place
"""

from __future__ import annotations

from typing import Literal

__all__ = ["EMPTY", "JSON", "OTHER", "SSE", "BodyKind", "Sniffer"]

BodyKind = Literal["json", "sse", "empty", "other"]
JSON: BodyKind = "json"
SSE: BodyKind = "sse"
EMPTY: BodyKind = "empty"
OTHER: BodyKind = "other"

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b"data\n", b"data\r")


class Sniffer:
    """
    ``feed(chunk) -> kind or None`` (``None``: more bytes are needed), ``finish() -> kind``
    at the end of the body. :attr:`head` keeps every chunk fed, to be sent on unchanged.
    """

    __slots__ = ("_start", "_stream", "head", "kind")

    def __init__(self, *, stream: bool) -> None:
        self._stream = stream
        self._start = b""  # the first bytes after leading whitespace (a few, until decided)
        #: the chunks read so far
        self.head: list[bytes] = []
        #: the body's kind, once decided
        self.kind: BodyKind | None = None

    def feed(self, chunk: bytes) -> BodyKind | None:
        """
        Add *chunk*; return the body's kind once its first bytes decide it.
        """
        self.head.append(chunk)
        self._start = (self._start + chunk).lstrip(_WHITESPACE)
        self.kind = self._decide(final=False)
        return self.kind

    def finish(self) -> BodyKind:
        """
        The body ended: its kind from everything fed.
        """
        kind = self.kind = self._decide(final=True)
        assert kind is not None
        return kind

    def _decide(self, *, final: bool) -> BodyKind | None:
        start = self._start
        if start.startswith(_BOM):
            start = start[3:].lstrip(_WHITESPACE)
        elif start and _BOM.startswith(start) and not final:
            return None
        if not start:
            return EMPTY if final else None
        if start[0] in b"{[":
            return JSON
        if self._stream or start[0] == 58:  # ':' opens an SSE comment
            return SSE
        for field in _FIELDS:
            if start.startswith(field):
                return SSE
            if not final and field.startswith(start):
                return None
        return OTHER
