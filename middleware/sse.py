"""
Incremental Server-Sent Events codec (sans-I/O).

:class:`SSEDecoder` turns arbitrary byte chunks into complete events, carrying a partial
line, a split UTF-8 sequence or a trailing ``\\r`` over to the next call; events keep
their raw bytes so that anything we do not rewrite passes through byte-for-byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SSEDecoder", "SSEEvent", "encode_event"]


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
    """

    __slots__ = ("_buffer", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """
        Return the events completed by *chunk* (an event ends at a blank line).
        """
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            # The stream may begin with a UTF-8 byte order mark, which is not part of a field name.
            if len(buffer) < 3 and b"\xef\xbb\xbf".startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer = buffer[3:]
        if b"\r" in buffer:
            # Normalise CRLF / CR line ends; a trailing CR may be the first half of CRLF.
            keep_cr = buffer.endswith(b"\r")
            body = buffer[:-1] if keep_cr else buffer
            buffer = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if keep_cr else b"")
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end == -1:
                break
            events.append(_parse(buffer[start : end + 2]))
            start = end + 2
        self._buffer = buffer[start:]
        return events

    def flush(self) -> list[SSEEvent]:
        """
        Return a final event that was not terminated by a blank line, if any.
        """
        rest, self._buffer = self._buffer, b""
        if not rest.strip():
            return []
        return [_parse(rest.rstrip(b"\r") + (b"\n" if rest.endswith(b"\n") else b"\n\n"))]


def _parse(raw: bytes) -> SSEEvent:
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
