"""
Incremental Server-Sent Events codec (sans-I/O).

:class:`SSEDecoder` turns arbitrary byte chunks into complete events, carrying a partial
line, a split UTF-8 sequence or a trailing ``\\r`` over to the next call; events keep
their raw bytes so that anything we do not rewrite passes through byte-for-byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SSEDecoder", "SSEEvent", "encode_event", "parse_event"]


@dataclass(slots=True)
class SSEEvent:
    """
    One event: its ``event:`` type (``None`` for the default), joined ``data:`` lines,
    the other field lines as they came, and the raw bytes (terminator included).
    """

    event: str | None
    data: str | None
    raw: bytes
    other: list[str] = field(default_factory=list)


class SSEDecoder:
    """
    ``feed(chunk) -> [events]`` and ``flush() -> [events]`` over a byte stream.

    Linear in the stream: each call scans only the new bytes; the unfinished event is
    kept as a list of pieces and joined once, when its blank line arrives.
    """

    __slots__ = ("_bom", "_cr", "_nl", "_parts", "_started", "idle")

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # the unfinished event, line ends already normalised
        self._nl = False  # the unfinished event ends with a line end (a blank line may follow)
        self._cr = False  # a CR held back: it may be the first half of a CRLF
        self._bom = b""
        self._started = False
        #: Nothing is held back (no partial event, no CR, the start settled): a chunk that is
        #: exactly one whole event without a CR would be split into itself.
        self.idle = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """
        Return the events completed by *chunk* (an event ends at a blank line).
        """
        return [parse_event(raw) for raw in self.split(chunk)]

    def split(self, chunk: bytes) -> list[bytes]:
        """
        The raw bytes of each event completed by *chunk* (line ends normalised to ``\\n``,
        the blank line included), for :func:`parse_event`; the rest waits for the next chunk.
        """
        events = self._split(chunk)
        self.idle = self._started and not self._cr and not self._parts
        return events

    def _split(self, chunk: bytes) -> list[bytes]:
        if not self._started:
            # The stream may begin with a UTF-8 byte order mark, which is not part of a field name.
            chunk = self._bom + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._bom = chunk
                return []
            self._started = True
            self._bom = b""
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._cr:
            self._cr = False
            chunk = b"\r" + chunk
        if b"\r" in chunk:
            # Normalise CRLF / CR line ends; a trailing CR may be the first half of CRLF.
            if chunk.endswith(b"\r"):
                self._cr = True
                chunk = chunk[:-1]
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            return []
        parts = self._parts
        end = chunk.find(b"\n\n")
        if end == len(chunk) - 2 and end >= 0 and not parts:  # the common chunk: one whole event
            return [chunk]
        events: list[bytes] = []
        start = 0
        if parts and self._nl and chunk[0] == 10:  # the blank line straddles the chunks
            parts.append(b"\n")
            events.append(b"".join(parts))
            parts.clear()
            start = 1
            end = chunk.find(b"\n\n", start)
        while end != -1:
            if parts:
                parts.append(chunk[start : end + 2])
                events.append(b"".join(parts))
                parts.clear()
            else:
                events.append(chunk[start : end + 2])
            start = end + 2
            end = chunk.find(b"\n\n", start)
        if start < len(chunk):
            parts.append(chunk[start:] if start else chunk)
            self._nl = chunk[-1] == 10
        return events

    def flush(self) -> list[SSEEvent]:
        """
        Return a final event that was not terminated by a blank line, if any.
        """
        rest = b"".join(self._parts) + (b"\n" if self._cr else b"")
        self._parts.clear()
        self._cr = self._nl = False
        self.idle = self._started
        if not rest.strip():
            return []
        if not rest.endswith(b"\n\n"):
            rest += b"\n" if rest.endswith(b"\n") else b"\n\n"
        return [parse_event(rest)]


_BOM = b"\xef\xbb\xbf"


def parse_event(raw: bytes) -> SSEEvent:
    """
    The event whose raw bytes (blank line included, line ends normalised) are *raw*.
    """
    # The common cases, ``data:`` alone or after one ``event:`` line: no general splitting.
    if raw.startswith(b"data: ") and raw.find(b"\n") == len(raw) - 2:
        return SSEEvent(None, raw[6:-2].decode("utf-8", "replace"), raw, [])
    if raw.startswith(b"event: "):
        first = raw.find(b"\n")
        if raw.startswith(b"data: ", first + 1) and raw.find(b"\n", first + 1) == len(raw) - 2:
            return SSEEvent(
                raw[7:first].decode("utf-8", "replace"),
                raw[first + 7 : -2].decode("utf-8", "replace"),
                raw,
                [],
            )
    event: str | None = None
    data: list[str] = []
    other: list[str] = []
    for line in raw.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        else:
            other.append(line)
    return SSEEvent(event, "\n".join(data) if data else None, raw, other)


def encode_event(event: str | None, data: str, other: list[str] | None = None) -> bytes:
    """
    Serialise one event; *data* must not contain newlines (compact JSON never does).
    """
    head = "".join(f"{line}\n" for line in other or ())
    if event is not None:
        head += f"event: {event}\n"
    return (head + f"data: {data}\n\n").encode("utf-8")
