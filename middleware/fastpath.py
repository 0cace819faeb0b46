"""
The fast path of the stream rewriters: a delta event is matched against the bytes of an
earlier one instead of being parsed.

In a stream, consecutive delta events differ only in a few values: the text, and per-event
counters and padding (``sequence_number``, ``obfuscation``). A :class:`Template` is learned
from one delta event that the full path handled: its raw SSE bytes split into literal pieces
around those values (the *holes*), located by walking the event's JSON. A later event
matches when it is the same literal pieces with a JSON string (or integer) token in each
hole; it then parses as the learned document with only the hole values replaced, since
swapping one string token for another changes no other token of a JSON text. The rewriter
reads the holes (a C ``scanstring`` per string) and, when the labeler leaves the text as
it is, returns the event's bytes unchanged — what the full path returns too. A changed text
or a shifted sequence number is written from the pieces when the learned event was compact
JSON (what re-serialising gives, :meth:`Template.render`), else parsed and re-serialised
(:meth:`Template.rewrite`, which adds a start item the same way); an event that matches no
template takes the full path: both paths give the same bytes by construction.

Only the event forms the SSE decoder's own shortcut reads are learned: one ``data:`` line,
optionally after one ``event:`` line, valid UTF-8, without duplicate keys on the walked
objects.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .common import dumps
from .sse import encode_event, parse_event

__all__ = ["OBFUSCATION", "SEQUENCE", "Shape", "Template", "learn"]

#: A position in a JSON document: object keys and array indices from the top.
Path = tuple[str | int, ...]

#: The optional top-level holes: per-event padding (OpenAI streams) and the event counter
#: (Responses API). They become holes only when present with that JSON type.
OBFUSCATION: Path = ("obfuscation",)
SEQUENCE: Path = ("sequence_number",)

#: The json module's own readers (C where available): one string from after its opening quote,
#: and one value of any kind; both strict, as ``json.loads``.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_WS = re.compile(r"[ \t\n\r]*")
#: A JSON integer token (no fraction, no exponent: the next literal piece rules them out).
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class Shape:
    """
    What an API's rewriter says about a delta event it can take on the fast path.

    Attributes:
        text: the path of the delta's text string.
        key: the key of the text's stream in the rewriter.
        extra: anything else the API keeps with the template (constant for every match).
    """

    text: Path
    key: Any
    extra: Any = None


class Template:
    """
    The literal pieces of one learned delta event, and the kinds of the holes between them.

    :meth:`match` reads an event of the same form: the hole values in order, or ``None``.
    """

    __slots__ = (
        "_head_text",
        "_start",
        "_steps",
        "_stop",
        "canonical",
        "extra",
        "head",
        "key",
        "paths",
        "seq_at",
        "shape",
        "tail",
        "text_at",
    )

    def __init__(
        self, pieces: list[str], ints: list[bool], shape: Shape, paths: list[Path], text_at: int, seq_at: int
    ) -> None:
        #: the bytes before the first hole (its opening quote included), compared as bytes
        self.head = pieces[0].encode("utf-8")
        self._head_text = pieces[0]
        self._start = len(self.head)
        #: the learned event's data is compact JSON as the rewriters write it (``ensure_ascii``
        #: off, no spaces): :meth:`render` may then stand in for parsing and re-serialising
        self.canonical = False
        self._steps = tuple(zip(ints, pieces[1:], strict=True))
        #: the bytes after the only hole, a string (the common template: the text alone); a
        #: template with other holes has ``None``
        self.tail = pieces[1].encode("utf-8") if ints == [False] else None
        # where the hole ends, from the end (the last piece holds at least the blank line)
        self._stop = -len(self.tail) if self.tail is not None else 0
        self.shape = shape
        #: the shape's key and extra, at hand
        self.key = shape.key
        self.extra = shape.extra
        #: the JSON path of each hole, in :meth:`match`'s order
        self.paths = tuple(paths)
        #: where the text and the sequence number (``-1``: none) are in :meth:`match`'s values
        self.text_at = text_at
        self.seq_at = seq_at

    def match(self, raw: bytes) -> list[Any] | None:
        """
        The hole values of the raw SSE event *raw* when it is valid UTF-8 with this
        template's literal pieces, else ``None``.
        """
        if not raw.startswith(self.head):
            return None
        tail = self.tail
        try:
            if tail is not None:
                if not raw.endswith(tail):
                    return None
                # The hole and its closing quote; the pieces around it are valid UTF-8 and end
                # or start at a quote, so this decodes when and only when the event does.
                hole = raw[self._start : self._stop].decode("utf-8")
                text, end = _scanstring(hole, 0, True)
                return [text] if end == len(hole) else None
            rest = raw[self._start :].decode("utf-8")
        except ValueError:  # not UTF-8; an unterminated string, a control character, a bad escape
            return None
        return self._holes(rest)

    def render(self, values: list[Any]) -> bytes | None:
        """
        The event of this template with *values* in its holes, exactly as the rewriters write
        a changed event (``encode_event`` of the compact JSON), or ``None`` when that cannot be
        had from the pieces: the learned event was not compact JSON, or a value holds a lone
        surrogate (the whole event then takes the ASCII form).

        Compact JSON serialises each value on its own, so the pieces of a compact event are
        what serialising the same document with other hole values gives around them.
        """
        if not self.canonical:
            return None
        parts = [self._head_text]
        for (is_int, piece), value in zip(self._steps, values, strict=True):
            # A string hole's opening quote is in the piece before it.
            parts.append(str(value) if is_int else json.dumps(value, ensure_ascii=False)[1:])
            parts.append(piece)
        try:
            return "".join(parts).encode("utf-8")
        except UnicodeEncodeError:
            return None

    def rewrite(self, raw: bytes, values: list[Any], aigc: dict[str, Any] | None = None) -> bytes:
        """
        The raw event *raw*, which matched this template, with *values* in its holes and, when
        given, an *aigc* object added at its top level: exactly what the rewriters write for
        the changed event (``encode_event`` of its compact JSON). Written from the pieces
        when :meth:`render` can (no object to add), else parsed, changed and re-serialised.
        """
        if aigc is None:
            rendered = self.render(values)
            if rendered is not None:
                return rendered
        ev = parse_event(raw)
        assert ev.data is not None  # a template is learned from, and matches, one data line
        doc = json.loads(ev.data)
        for path, value in zip(self.paths, values, strict=True):
            holder = doc
            for step in path[:-1]:
                holder = holder[step]
            holder[path[-1]] = value  # an existing key: its place in the object stays
        if aigc is not None:
            doc["aigc"] = aigc
        return encode_event(ev.event, dumps(doc), ev.other)

    def _holes(self, rest: str) -> list[Any] | None:
        pos = 0
        values: list[Any] = []
        for is_int, piece in self._steps:
            if is_int:
                found = _INT.match(rest, pos)
                if found is None:
                    return None
                values.append(int(found.group()))
                pos = found.end()
            else:
                # The piece before holds the opening quote; scanstring stops after the closing one.
                try:
                    text, pos = _scanstring(rest, pos, True)
                except ValueError:
                    return None
                values.append(text)
            if not rest.startswith(piece, pos):
                return None
            pos += len(piece)
        return values if pos == len(rest) else None


def learn(raw: bytes, shape: Shape, optional: Iterable[Path] = (OBFUSCATION, SEQUENCE)) -> Template | None:
    """
    A template of the raw SSE event *raw* with holes at *shape*'s text and at each
    *optional* path present with its JSON type (a string for :data:`OBFUSCATION`, an
    integer for :data:`SEQUENCE`); ``None`` when *raw* is not of a form this module reads.
    """
    try:
        event = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    start = _data_start(event)
    if start < 0:
        return None
    wanted = {shape.text: False, **{p: p == SEQUENCE for p in optional}}
    found: dict[Path, tuple[int, int, Any]] = {}
    data = event[start:-2]
    try:
        end = _walk(data, _skip(data, 0), (), wanted, _prefixes(wanted), found)
    except (ValueError, IndexError, StopIteration):
        return None
    if _skip(data, end) != len(data) or not isinstance(found.get(shape.text, (0, 0, 0))[2], str):
        return None
    holes = []
    for path, (begin, stop, value) in found.items():
        is_int = wanted[path]
        if (type(value) is int) if is_int else isinstance(value, str):
            # A string hole starts after its opening quote, which stays in the piece before.
            holes.append((start + begin + (not is_int), start + stop, is_int, path))
    holes.sort()
    pieces, ints, cut = [], [], 0
    for begin, stop, is_int, _path in holes:
        pieces.append(event[cut:begin])
        ints.append(is_int)
        cut = stop
    pieces.append(event[cut:])
    paths = [h[3] for h in holes]
    seq_at = paths.index(SEQUENCE) if SEQUENCE in paths else -1
    template = Template(pieces, ints, shape, paths, paths.index(shape.text), seq_at)
    # Compact JSON as the rewriters write it: a changed event can be rendered from the pieces.
    template.canonical = json.dumps(json.loads(data), ensure_ascii=False, separators=(",", ":")) == data
    return template


def _data_start(event: str) -> int:
    """
    Where the data of a one-line ``data:`` event (optionally after one ``event:`` line)
    starts, else ``-1``: the forms the SSE decoder reads without splitting lines.
    """
    last = len(event) - 2
    if not event.endswith("\n\n"):
        return -1
    if event.startswith("data: "):
        return 6 if event.find("\n") == last else -1
    if event.startswith("event: "):
        first = event.find("\n")
        if event.startswith("data: ", first + 1) and event.find("\n", first + 1) == last:
            return first + 7
    return -1


def _skip(s: str, pos: int) -> int:
    """
    The position of the first character at or after *pos* that is not JSON whitespace.
    """
    found = _WS.match(s, pos)
    assert found is not None  # the pattern matches the empty string too
    return found.end()


def _prefixes(wanted: dict[Path, bool]) -> set[Path]:
    return {path[:i] for path in wanted for i in range(len(path))}


def _walk(
    s: str, pos: int, path: Path, wanted: dict[Path, bool], prefixes: set[Path], found: dict[Path, Any]
) -> int:
    """
    Walk the object or array at *pos* (on a wanted path); return where it ends. The spans of
    wanted values go into *found*; other values are skipped by the C scanner.

    Raises:
        ValueError, IndexError, StopIteration: not JSON, or a duplicate key on the path.
    """
    if s[pos] not in "{[":
        raise ValueError("an object or array was expected")
    closing = "}" if s[pos] == "{" else "]"
    pos = _skip(s, pos + 1)
    if s[pos] == closing:
        return pos + 1
    seen: set[str | int] = set()
    index = 0
    while True:
        step: str | int
        if closing == "}":
            if s[pos] != '"':
                raise ValueError("a key was expected")
            step, pos = _scanstring(s, pos + 1, True)
            if step in seen:
                raise ValueError("a duplicate key: the last one counts, the walk would see the first")
            seen.add(step)
            pos = _skip(s, pos)
            if s[pos] != ":":
                raise ValueError("a colon was expected")
            pos = _skip(s, pos + 1)
        else:
            step, index = index, index + 1
        child = (*path, step)
        if child in wanted:
            value, end = _SCAN(s, pos)
            found[child] = (pos, end, value)
            pos = end
        elif child in prefixes and s[pos] in "{[":
            pos = _walk(s, pos, child, wanted, prefixes, found)
        else:
            pos = _SCAN(s, pos)[1]
        pos = _skip(s, pos)
        if s[pos] == closing:
            return pos + 1
        if s[pos] != ",":
            raise ValueError("a comma was expected")
        pos = _skip(s, pos + 1)
