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
* it is outside indented code and table rows (any line with a ``|`` from that point on),
  fenced code (backtick or tilde fences, closed only by a fence of the same
  character at least as long), inline code spans (closed by a run of the same length),
  HTML tags (which may span lines), ``<pre>``, ``<code>``, ``<script>``, ``<style>``,
  ``<textarea>``, ``<kbd>`` and ``<samp>`` elements. A blank line ends an
  unclosed code span or tag, as in CommonMark.

URLs end at whitespace or CJK punctuation, so no safe position falls inside one.
The decision for a position depends only on the text before it and one character
after it, so any chunking of the same text gives the same output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .. import canonical
from ..canonical import contains_any

__all__ = ["SAFE_LEFT", "Inserter", "text_weight"]

#: Characters after which a packet may go (besides they must not start a line).
SAFE_LEFT = frozenset(
    " \t\u3000、。，：；！？…—‥〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟（）［］｛｝｟｠｡｢｣､･“”‘"
)
_SAFE_LEFT_CHARS = "".join(sorted(SAFE_LEFT))
_SAFE_LEFT_CLASS = "".join(sorted(SAFE_LEFT)).replace("]", r"\]").replace("\\", "\\\\")
_SAFE_AT = re.compile(f"(?<=[{_SAFE_LEFT_CLASS}])[^\\W_]")
_SPECIAL = re.compile(r"[`~<>|\n]")
_MARKUP_CHARS = "`~<>|"
_NAME_START = re.compile(r"/?[A-Za-z0-9]*")
_NAME_MORE = re.compile(r"[A-Za-z0-9]*")
_BLANKS = re.compile(r"[ \t]*")
#: Elements whose content is code or raw text: no packet goes inside them.
_RAW_ELEMENTS = frozenset({"pre", "code", "script", "style", "textarea", "kbd", "samp"})


def _weight(c: str) -> int:
    o = ord(c)
    return 2 if o < 0x80 else 5 if o < 0x800 else 8 if o < 0x10000 else 11


def text_weight(text: str) -> int:
    """
    The placement weight of *text* (see module docstring).
    """
    # surrogatepass: a lone surrogate (legal in JSON strings) must not make labeling fail
    return 2 * len(text) if text.isascii() else 3 * len(text.encode("utf-8", "surrogatepass")) - len(text)


def _first_safe(chunk: str, start: int) -> int:
    """
    The first index where a packet may go on the line starting at *start* of *chunk*, a line
    with no markup character: after its first character, or ``-1`` for indented code.
    """
    m = _BLANKS.match(chunk, start)
    assert m is not None  # the pattern matches the empty string
    end = m.end()
    indent = end - start + 3 * chunk.count("\t", start, end)
    return -1 if indent >= 4 else end + 1


def _shortest_end(chunk: str, start: int, end: int, excess: int) -> int:
    """
    The smallest ``j`` with ``chunk[start:j]`` weighing at least what ``chunk[start:end]``
    weighs minus *excess* (and ``j > start``).
    """
    while end > start + 1:
        w = _weight(chunk[end - 1])
        if excess < w:
            break
        excess -= w
        end -= 1
    return end


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
        "_indent",
        "_last",
        "_line_has_text",
        "_raw",
        "_run_at_start",
        "_run_char",
        "_run_len",
        "_spacing",
        "_table",
        "_tag",
        "_tag_done",
        "_tag_name",
        "_units",
        "count",
    )

    def __init__(self, units: Sequence[str] | Callable[[], Sequence[str]], spacing: int) -> None:
        if spacing < 1:
            raise ValueError("spacing must be at least 1 unit")
        self._units: Sequence[str] | Callable[[], Sequence[str]] = units
        self._spacing = spacing
        self._budget = spacing
        self._last = "\n"  # the last text fed: its last character is the one before the next
        self._fence: tuple[str, int] | None = None  # (character, length) of the open fence
        self._code = 0  # length of the backtick run that opened the current code span
        self._run_char = ""  # a run of ` or ~ not yet resolved, its length and line position
        self._run_len = 0
        self._run_at_start = False
        self._tag = False
        self._tag_name = ""
        self._tag_done = False
        self._raw: str | None = None  # inside <pre>, <code>, <script>...
        self._table = False  # the line is a table row or indented code: no packet in it
        self._indent = 0  # columns of leading whitespace on the current line
        self._line_has_text = False
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
        # The common delta: more text on a line that has some, no markup character, no pending
        # ` or ~ run or tag, and the next packet not due inside it. All that changes is the
        # budget (what _plain does with it, without the calls); packets are due only when the
        # budget is spent, so a delta that reaches it takes the path below.
        if self._line_has_text and not (self._run_len or self._tag) and _SPECIAL.search(chunk) is None:
            size = len(chunk)  # text_weight(), inline
            n = 2 * size if chunk.isascii() else 3 * len(chunk.encode("utf-8", "surrogatepass")) - size
            budget = self._budget
            if budget > n > 0:
                self._budget = budget - n
                self._last = chunk
                return chunk
        if not chunk:
            return chunk
        if _SPECIAL.search(chunk) is None:
            return self._plain(chunk)
        if not (
            self._run_len or self._fence or self._code or self._tag or self._raw is not None
        ) and not contains_any(chunk, _MARKUP_CHARS):
            return self._feed_lines(chunk)
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

    def _feed_lines(self, chunk: str) -> str:
        # Line ends are the only markup and no code, tag or pending run is open, so a line end
        # only starts a new line (it weighs 2 like any ASCII character, and no packet goes
        # before it: it is not alphanumeric). Instead of walking line by line, spend the budget
        # across line ends and check only the line of each candidate position.
        first_safe = self._head_line(chunk[: chunk.find("\n")])
        fast = canonical.SPEEDUPS
        if fast is not None:
            places, budget = fast.packet_places(
                chunk, self._last[-1], self._budget, self._spacing, first_safe, _SAFE_LEFT_CHARS
            )
        else:
            places, budget = self._packet_places(chunk, first_safe)
        self._end_lines(chunk)
        out = self._insert(chunk, places) if places else chunk
        self._budget = budget  # what is left after the last packet (each resets it)
        return out

    def _packet_places(self, chunk: str, first_safe: int) -> tuple[list[int], int]:
        """
        Where :meth:`_feed_lines` puts packets in *chunk*, and the budget left after it (the
        reference of ``speedups.packet_places``). *first_safe*: that of the line the chunk
        starts in.
        """
        line_end = chunk.find("\n")  # the line of the last candidate ends here
        places: list[int] = []
        s = self._last[-1] + chunk  # s[i + 1] is chunk[i]; s[i] is the character before it
        i = 0
        size = len(chunk)
        while i < size:
            if self._budget > 0:
                i = self._spend(chunk, i)
                if i >= size:
                    break
            m = _SAFE_AT.search(s, i + 1)
            if m is None:
                break
            pos = m.start() - 1
            if pos > line_end:  # a later line: each stretch of text is searched once more
                first_safe = _first_safe(chunk, chunk.rfind("\n", line_end, pos) + 1)
                line_end = chunk.find("\n", pos)
                if line_end < 0:
                    line_end = size
            if first_safe < 0:  # indented code or a table row: on to the next line
                i = line_end
            elif pos < first_safe:
                i = first_safe
            else:
                places.append(pos)
                self._budget = self._spacing
                i = pos
        return places, self._budget

    def _insert(self, chunk: str, places: list[int]) -> str:
        """
        *chunk* with the next packet before each index of *places* (ascending).
        """
        out: list[str] = []
        last = 0
        for pos in places:
            out.append(chunk[last:pos])
            out.append(self._unit())
            last = pos
        out.append(chunk[last:])
        return "".join(out)

    def _head_line(self, head: str) -> int:
        """
        The first safe index of the line that *head* (the chunk up to its first line end)
        continues, ``-1`` if the line holds no packet.
        """
        if self._line_has_text:
            return -1 if self._table else 0
        lead = len(head) - len(head.lstrip(" \t"))
        if lead == len(head):
            return 0  # no text on it: no alphanumeric character, so no candidate either
        indent = self._indent + lead + 3 * head.count("\t", 0, lead)
        return -1 if indent >= 4 else lead + 1

    def _end_lines(self, chunk: str) -> None:
        """
        Set the line state after *chunk*, which holds a line end: only its last line counts.
        """
        # A blank line would end a code span or tag; none is open on this path.
        self._new_line()
        rest = chunk[chunk.rfind("\n") + 1 :]
        lead = len(rest) - len(rest.lstrip(" \t"))
        self._indent = lead + 3 * rest.count("\t", 0, lead)
        if lead < len(rest):
            self._line_has_text = True
            self._table = self._indent >= 4
        self._last = chunk

    def _plain(self, chunk: str) -> str:
        if self._run_len:  # the first character resolves a pending ` or ~ run
            head = self._feed_slow(chunk[0])
            return head + self._plain(chunk[1:]) if len(chunk) > 1 else head
        if self._tag and not self._tag_done:
            self._collect_tag_name(chunk)
        first_text = 0
        if not self._line_has_text:
            first_text = len(chunk) - len(chunk.lstrip(" \t"))
            lead = chunk[:first_text]
            self._indent += len(lead) + 3 * lead.count("\t")
            if first_text < len(chunk):
                self._line_has_text = True
                self._table = self._indent >= 4  # indented code
                first_text += 1  # positions up to the line's first character are not safe
        n = text_weight(chunk)
        if self._budget > n or self._blocked():
            self._budget = max(self._budget - n, 0)
            self._last = chunk
            return chunk
        return self._feed_plain(chunk, first_text)

    def _feed_plain(self, chunk: str, first_safe: int) -> str:
        # No markup character in the chunk, so the code/fence/tag/table state is constant.
        out: list[str] = []
        s = self._last[-1] + chunk  # s[i + 1] is chunk[i]; s[i] is the character before it
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
        self._last = chunk
        return "".join(out)

    def _spend(self, chunk: str, i: int) -> int:
        """
        Spend the budget on ``chunk[i:]``; return the index where it reaches zero (or the end):
        the end of the shortest ``chunk[i:j]`` whose weight reaches the budget.
        """
        size, need = len(chunk), self._budget
        if chunk.isascii():
            if need <= 2 * (size - i):
                self._budget = 0
                return i + (need + 1) // 2
            self._budget = need - 2 * (size - i)
            return size
        # Guess the length from the density seen so far (first: CJK, 8 units a character),
        # weigh that slice in one C-speed text_weight(), then correct: each slice either is
        # spent whole or reaches the point, and a far overshoot is halved until it is close.
        k, w = 1, 8
        while True:
            k = min(size - i, max(1, -(-need * k // w)))
            w = text_weight(chunk[i : i + k])
            if w < need:
                i += k
                need -= w
                if i >= size:
                    self._budget = need
                    return size
                continue
            while w - need > 64 and k > 1:
                half = k // 2
                w_half = text_weight(chunk[i : i + half])
                if w_half >= need:
                    k, w = half, w_half
                else:
                    i, k, need, w = i + half, k - half, need - w_half, w - w_half
            self._budget = 0
            return _shortest_end(chunk, i, i + k, w - need)

    def _feed_slow(self, chunk: str) -> str:
        out: list[str] = []
        prev = self._last[-1]
        for c in chunk:
            if (
                self._budget <= 0
                and prev in SAFE_LEFT
                and self._line_has_text
                and not self._blocked()
                and c.isalnum()
            ):
                out.append(self._unit())
            out.append(c)
            self._step(c)
            if self._budget > 0:
                self._budget -= _weight(c)
            prev = c
        self._last = prev
        return "".join(out)

    def _blocked(self) -> bool:
        return bool(
            self._run_len or self._fence or self._code or self._tag or self._table or self._raw is not None
        )

    def _collect_tag_name(self, text: str) -> None:
        m = (_NAME_MORE if self._tag_name else _NAME_START).match(text)
        assert m is not None  # both patterns match the empty string
        self._tag_name = (self._tag_name + m.group())[:16]
        self._tag_done = m.end() < len(text)

    def _resolve_run(self) -> None:
        char, n, at_start = self._run_char, self._run_len, self._run_at_start
        self._run_char, self._run_len = "", 0
        if at_start and n >= 3:
            fence = self._fence
            if fence is None and not self._code:
                self._fence = (char, n)
            elif fence is not None and fence[0] == char and n >= fence[1]:
                self._fence = None
        elif char == "`" and self._fence is None:
            if not self._code:
                self._code = n
            elif self._code == n:
                self._code = 0

    def _new_line(self) -> None:
        if not self._line_has_text:  # a blank line ends an unclosed code span or tag
            self._code = 0
            self._tag = False
        self._line_has_text = self._table = False
        self._indent = 0

    def _step(self, c: str) -> None:
        if c in "`~":
            if self._run_char == c:
                self._run_len += 1
                return
            if self._run_len:
                self._resolve_run()
            at_start = not self._line_has_text and self._indent < 4
            self._run_char, self._run_len, self._run_at_start = c, 1, at_start
            if not self._line_has_text:
                self._line_has_text = True
                self._table = self._indent >= 4
            return
        if self._run_len:
            self._resolve_run()
        if c == "\n":
            self._new_line()
            return
        if not self._line_has_text:
            if c in " \t":
                self._indent += 4 if c == "\t" else 1
            else:
                self._line_has_text = True
                self._table = self._indent >= 4
        if c == "|":
            self._table = True  # a table row, with or without a leading pipe
        if self._fence is not None or self._code:
            return
        if c == "<":
            self._tag, self._tag_name, self._tag_done = True, "", False
        elif c == ">":
            if self._tag:
                name = self._tag_name.lower()
                if self._raw is None and name in _RAW_ELEMENTS:
                    self._raw = name
                elif self._raw is not None and name == "/" + self._raw:
                    self._raw = None
            self._tag = False
        elif self._tag and not self._tag_done:
            self._collect_tag_name(c)
