"""
Where packets go: a streaming, chunking-invariant inserter.

A packet is due every ``spacing`` *weight units* of visible text and is inserted at
the first *safe position* at or after that point. An ASCII character weighs 2 and any
other character ``3 * utf8_length - 1`` (a CJK ideograph 8): about 8–11 units per LLM
token in English and in Chinese alike, computed from ``len()`` and one UTF-8 encode. A position is safe when

* the character before it is a space/tab or CJK punctuation (never a line start, so
  Markdown block syntax and indented code keep their meaning),
* the character after it is a letter or digit (a new word or ideograph, hence a
  grapheme-cluster and emoji-sequence boundary; never a combining mark or joiner),
* it is outside fenced code, inline code spans, HTML tags and table rows.

URLs end at whitespace or CJK punctuation, so no safe position falls inside one.
The decision for a position depends only on the text before it and one character
after it, so any chunking of the same text gives the same output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["SAFE_LEFT", "Inserter", "text_weight"]

#: Characters after which a packet may go (besides they must not start a line).
SAFE_LEFT = frozenset(
    " \t\u3000、。，．：；！？…—‥·〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟（）［］｛｝｟｠｡｢｣､･“”‘"
)
_SAFE_LEFT_CLASS = "".join(sorted(SAFE_LEFT)).replace("]", r"\]").replace("\\", "\\\\")
_SAFE_AT = re.compile(f"(?<=[{_SAFE_LEFT_CLASS}])[^\\W_]")
_SPECIAL = re.compile(r"[`<>|\n]")


def _weight(c: str) -> int:
    o = ord(c)
    return 2 if o < 0x80 else 5 if o < 0x800 else 8 if o < 0x10000 else 11


def text_weight(text: str) -> int:
    """
    The placement weight of *text* (see module docstring).
    """
    return 2 * len(text) if text.isascii() else 3 * len(text.encode("utf-8")) - len(text)


class Inserter:
    """
    Sans-I/O packet inserter: ``feed(chunk) -> chunk with packets``.

    Args:
        units: the encoded packets to insert, used in turn (one per channel), or a
            function returning them, called when the first packet falls due (most short
            answers never need one, and a stream's first token should not wait for it).
        spacing: weight units of visible text from one packet to the point where the
            next one is due; the first is due after ``spacing`` units.
    """

    __slots__ = (
        "_budget",
        "_code",
        "_fence",
        "_line_has_text",
        "_prev",
        "_spacing",
        "_table",
        "_tag",
        "_tick_at_start",
        "_ticks",
        "_units",
        "count",
    )

    def __init__(self, units: Sequence[str] | Callable[[], Sequence[str]], spacing: int) -> None:
        if spacing < 1:
            raise ValueError("spacing must be at least 1 unit")
        self._units: Sequence[str] | Callable[[], Sequence[str]] = units
        self._spacing = spacing
        self._budget = spacing
        self._prev = "\n"
        self._fence = self._code = self._tag = self._table = False
        self._line_has_text = False
        self._ticks = 0
        self._tick_at_start = False
        #: number of packets inserted so far
        self.count = 0

    def _unit(self) -> str:
        units = self._units
        if callable(units):
            units = self._units = tuple(units())
        unit = units[self.count % len(units)]
        self.count += 1
        self._budget = self._spacing
        return unit

    def feed_unit(self) -> str:
        """
        Return the next packet now (used once at the end of a text too short to hold one).
        """
        return self._unit()

    def feed(self, chunk: str) -> str:
        """
        Return *chunk* with any packets that fall due inside it.
        """
        if not chunk:
            return chunk
        if _SPECIAL.search(chunk) is None:
            return self._plain(chunk)
        # Markup characters change the state one at a time; the runs between them do not.
        out: list[str] = []
        pos = 0
        for m in _SPECIAL.finditer(chunk):
            at = m.start()
            if at > pos:
                out.append(self._plain(chunk[pos:at]))
            out.append(self._feed_slow(m.group()))
            pos = at + 1
        if pos < len(chunk):
            out.append(self._plain(chunk[pos:]))
        return "".join(out)

    def _plain(self, chunk: str) -> str:
        if self._ticks:  # the first character closes a backtick run
            head = self._feed_slow(chunk[0])
            return head + self._plain(chunk[1:]) if len(chunk) > 1 else head
        first_text = 0
        if not self._line_has_text:
            first_text = len(chunk) - len(chunk.lstrip(" \t"))
            if first_text < len(chunk):
                self._line_has_text = True
                first_text += 1  # positions up to the line's first character are not safe
        n = text_weight(chunk)
        if self._budget > n or self._fence or self._code or self._tag or self._table:
            self._budget = max(self._budget - n, 0)
            self._prev = chunk[-1]
            return chunk
        return self._feed_plain(chunk, first_text)

    def _feed_plain(self, chunk: str, first_safe: int) -> str:
        # No markup character in the chunk, so the code/fence/tag/table state is constant.
        out: list[str] = []
        s = self._prev + chunk  # s[i + 1] is chunk[i]; s[i] is the character before it
        last = i = 0
        size = len(chunk)
        while i < size:
            if self._budget > 0:
                i = self._spend(chunk, i)
                if i >= size:
                    break
            m = _SAFE_AT.search(s, max(i, first_safe) + 1)
            if m is None:
                break
            pos = m.start() - 1
            out.append(chunk[last:pos])
            out.append(self._unit())
            last = i = pos
        out.append(chunk[last:])
        self._prev = chunk[-1]
        return "".join(out)

    def _spend(self, chunk: str, i: int) -> int:
        """
        Spend the budget on ``chunk[i:]``; return the index where it reaches zero (or the end).
        """
        rest = chunk[i:]
        if rest.isascii():
            if self._budget <= 2 * len(rest):
                i += (self._budget + 1) // 2
                self._budget = 0
                return i
            self._budget -= 2 * len(rest)
            return len(chunk)
        whole = text_weight(rest)
        if whole < self._budget:
            self._budget -= whole
            return len(chunk)
        # Smallest prefix whose weight reaches the budget: binary search over C-speed
        # text_weight() instead of a Python loop over every character.
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi) // 2
            if text_weight(rest[:mid]) >= self._budget:
                hi = mid
            else:
                lo = mid + 1
        self._budget = 0
        return i + lo

    def _feed_slow(self, chunk: str) -> str:
        out: list[str] = []
        prev = self._prev
        for c in chunk:
            if (
                self._budget <= 0
                and prev in SAFE_LEFT
                and self._line_has_text
                and not (self._ticks or self._fence or self._code or self._tag or self._table)
                and c.isalnum()
            ):
                out.append(self._unit())
            out.append(c)
            self._step(c)
            if self._budget > 0:
                self._budget -= _weight(c)
            prev = c
        self._prev = prev
        return "".join(out)

    def _step(self, c: str) -> None:
        if c == "`":
            if not self._ticks:
                self._tick_at_start = not self._line_has_text
            self._ticks += 1
            self._line_has_text = True
            return
        if self._ticks:
            if self._ticks >= 3 and self._tick_at_start:
                self._fence = not self._fence
                self._code = False
            elif not self._fence:
                self._code = not self._code
            self._ticks = 0
        if c == "\n":
            self._line_has_text = self._code = self._tag = self._table = False
        elif not self._line_has_text and c not in " \t":
            self._line_has_text = True
            self._table = c == "|"
        if c == "<" and not (self._code or self._fence):
            self._tag = True
        elif c == ">":
            self._tag = False
