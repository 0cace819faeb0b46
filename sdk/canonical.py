"""
The canonical form of visible text that the seal binds.

The seal must survive benign transforms (NFC/NFKC, Markdown rendered to HTML and back
to text, whitespace collapsing, smart-quote fixing, width folding, dropping either
invisible channel) and still notice edits that change what the text says. Two versions
exist; format-2 seals bind version 2, format-1 seals (read, never written) version 1.

**Version 2** (:func:`canonical_text`, the default) keeps, in order:

* every **letter and digit** (``str.isalnum``: Unicode categories L and N) after
  compatibility decomposition (NFKD) with combining marks removed;
* the punctuation that changes what a number says, folded to one spelling:

  - ``.`` ``,`` ``:`` between two digits (``2.5``, ``1,000``, ``10:30``),
  - a sign ``+`` ``-`` ``±`` directly before a digit (``-5``, ``+86``) — every dash and
    minus look-alike folds to ``-``,
  - ``/`` (also the fraction slash of ``½``), ``×``, ``÷``, ``^`` between digits, spaces allowed,
  - ``%`` ``‰`` ``‱`` after a digit, spaces allowed,
  - comparison operators ``< > ≤ ≥ = ≈ ~`` (and ``≠ ≮ ≯ ≰ ≱``, kept as ``!=`` etc.)
    next to a number, spaces allowed;
* superscript and subscript digits and signs as themselves, never folded into ordinary
  digits (``10²`` is not ``102``).

It ignores the same Markdown syntax as version 1 — link destinations ``](…)``,
reference labels ``][…]``, whole images ``![alt](…)``, code-fence info strings,
ordered-list markers (a 1–3 digit number with ``.`` or ``)`` between whitespace) —
and reference-definition lines only when they are **valid** CommonMark definitions
(``[label]: destination "title"``); any other line is visible text. HTML tags and
character references are dropped (references decoded) only in the ``markup`` profile
(Markdown or HTML input); in ``plain`` text ``is <not> safe`` binds ``not``.

Not covered: whitespace, other punctuation, symbols, emoji, combining marks (dropping
category Mn is a benign transform), the punctuation of numbers written only in other
scripts' digits (Arabic-Indic, Devanagari: their digits are covered, their ``.`` is not),
spaced binary ``+``/``-`` (``2 + 3``: a list
bullet after whitespace collapsing looks the same), ``*`` (Markdown emphasis), a
blockquote's ``>`` at a line start in the ``markup`` profile.

Every pattern is linear in the input: no construct rescans text from each of many
start positions (each scan stops at the next bracket of its own kind).

The per-character loops run in the optional C extension :mod:`aigclabel.speedups` where it was
built (a compiler at install time), else in pure Python; the result is the same character for
character. Setting the environment variable ``AIGCLABEL_PURE_PYTHON=1`` before the import
selects the pure-Python code (see :data:`SPEEDUPS`).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import operator
import os
import re
import unicodedata
from collections.abc import Iterator
from typing import Literal, Protocol

__all__ = [
    "CANONICAL_VERSION",
    "SPEEDUPS",
    "Profile",
    "Speedups",
    "alnum_only",
    "alnum_only_python",
    "canonical_text",
    "contains_any",
    "load_speedups",
    "text_digest",
]

#: The canonical-form version written by this release.
CANONICAL_VERSION = 2

Profile = Literal["plain", "markup"]


class Speedups(Protocol):
    """
    The optional C extension :mod:`aigclabel.speedups`: the per-character loops of this module, of
    the packet inserter (:mod:`aigclabel.marks.placement`), the mark codecs and CRC
    (:mod:`aigclabel.marks.alphabet`, :mod:`aigclabel.marks.crc`) and the language guess
    (:class:`aigclabel.explicit.LanguageGuess`), equal to their pure-Python code.
    """

    def alnum_only(self, text: str, /) -> str: ...

    def find_any(self, text: str, chars: str, start: int = 0, /) -> int: ...

    def prefold(self, text: str, watch: str, /) -> tuple[str, bool, str]: ...

    def number_windows(self, text: str, context: str, /) -> list[int]: ...

    def packet_places(
        self, text: str, prev: str, budget: int, spacing: int, first_safe: int, safe_left: str, /
    ) -> tuple[list[int], int]: ...

    def decode_cf(self, run: str, /) -> bytes | None: ...

    def decode_mn(self, run: str, /) -> bytes | None: ...

    def crc8(self, data: bytes, /) -> int: ...

    def language_scan(
        self, text: str, state: tuple[int, ...], window: int, limit: int, /
    ) -> tuple[int, int, int, int, int, int, int, int, int, int, int, int, int]: ...


def load_speedups() -> Speedups | None:
    """
    The C extension, or ``None`` where it was not built (no compiler at install time) or the
    environment variable ``AIGCLABEL_PURE_PYTHON`` is set to a non-empty value.
    """
    if os.environ.get("AIGCLABEL_PURE_PYTHON"):
        return None
    try:
        from . import speedups
    except ImportError:
        return None
    return speedups


#: The C loops in use (``None``: the pure-Python reference code). Chosen once at import by
#: :func:`load_speedups`; results are the same either way, only the speed differs.
SPEEDUPS: Speedups | None = load_speedups()

# --- markup removal ---------------------------------------------------------------------------
#
# One regex pass per text. A link destination ``](…)`` or an image ``![…](…)`` with no closing
# bracket on its line would make the regex engine rescan the rest of the line from every
# ``](`` or ``![`` (quadratic: 128 KB of ``](`` took 32 s). Instead such a construct matches
# *open* up to the line end, and only that remainder, where no ``)`` (or ``]``) is left so
# neither construct can start, is scanned again for the rules that can still match there.
# The result equals the plain alternation's; every scan stops at a bracket of its own kind.

_IMAGE = r"!\[[^\]\n]*+(?:\]\([^)\n]*+(?P<image_end>\))?|(?![^\n]))"  # renderers keep no text of it
_LINK = r"\]\([^)\n]*+(?P<link_end>\))?"  # a link destination and title
_REF_LABEL = r"\]\[[^\]\n]*\]"  # the label of a reference-style link
_FENCE = r"^[ \t]{0,3}(?:```|~~~)[^\n]*"  # a code-fence line with its info string
# an HTML tag, comment or declaration, but not an autolink (<https://...>, <me@example.com>)
_TAG = r"<(?![A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\s]*>|[^<>\s@]+@[^<>\s]+>)[A-Za-z/!?][^<>\n]*>"
_REFERENCE = r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
_REF_DEF_V1 = r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$"
# a valid CommonMark link reference definition: label, destination, optional title
_REF_DEF_V2 = (
    r"^[ ]{0,3}\[(?:[^\[\]\n\\]|\\.){1,999}\]:[ \t]*(?:<[^<>\n]*>|[^\s<]\S*+)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*$"
)
_BLOCKQUOTE = r"^[ ]{0,3}>(?=[ \t])"


# Superscript and subscript digits and signs (version 2 keeps them apart from ordinary digits).
_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻"
_SUB = "₀₁₂₃₄₅₆₇₈₉₊₋"


class _Markup:
    """
    One version's markup rules: what is dropped, and whether character references are decoded.
    """

    __slots__ = ("_all", "_decode", "_tail", "prose_guard", "trigger_starts", "triggers")

    def __init__(self, drop: list[str], refs: bool, decode: bool, triggers: tuple[str, ...]) -> None:
        # The rules that can match where no ")" or "]" is left on the line.
        tail = [r for r in drop if r in (_REF_LABEL, _TAG)]
        ref = [f"(?P<ref>{_REFERENCE})"] if refs else []
        self._all = re.compile("|".join([_IMAGE, _LINK, *drop, *ref]), re.MULTILINE)
        self._tail = re.compile("|".join([*tail, *ref]) or r"(?!)", re.MULTILINE)
        self._decode = decode
        self.triggers = triggers
        # Every trigger starts with one of these: one scan for them rules out most prose.
        self.trigger_starts = "".join(sorted({t[0] for t in triggers}))
        #: Text with none of these needs no markup, list-marker or super/subscript step.
        self.prose_guard = self.trigger_starts + "0123456789" + _SUP + _SUB

    def may_match(self, text: str) -> bool:
        """
        Whether *text* holds a trigger (``False``: :meth:`sub` would return it unchanged).
        """
        return contains_any(text, self.trigger_starts) and any(_holds(text, t) for t in self.triggers)

    def sub(self, text: str) -> str:
        return self._all.sub(self._replace, text)

    def _replace(self, m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "ref":
            return f" {html.unescape(m.group())} " if self._decode else " "
        if m.group().startswith("!") and m.group("image_end") is None:
            return m.group()[:2] + self._tail.sub(self._replace, m.group()[2:])
        if m.group().startswith("](") and m.group("link_end") is None:
            return m.group()[:2] + self._tail.sub(self._replace, m.group()[2:])
        return " "


_MARKUP_V1 = _Markup(
    [_REF_LABEL, _REF_DEF_V1, _FENCE, _TAG],
    refs=True,
    decode=False,
    triggers=("](", "]:", "`", "~~~", "<", "&"),
)
_MARKUP_V2: dict[Profile, _Markup] = {
    "plain": _Markup(
        [_REF_LABEL, _REF_DEF_V2, _FENCE], refs=False, decode=False, triggers=("](", "][", "]:", "```", "~~~")
    ),
    "markup": _Markup(
        [_REF_LABEL, _REF_DEF_V2, _FENCE, _TAG, _BLOCKQUOTE],
        refs=True,
        decode=True,
        triggers=("](", "][", "]:", "```", "~~~", "<", ">", "&"),
    ),
}


# Ordered-list markers: Markdown renderers drop or renumber them and whitespace collapsing
# moves them off the line start, so any 1-3 digit number + "." or ")" between whitespace.
# The pattern starts with a character class so the regex engine can skip ahead; the
# "after whitespace or at the start" condition is checked on the (rare) matches.
_LIST_MARKER = re.compile(r"[0-9]{1,3}[.)][ \t]")

# --- version 2: what a number's punctuation means -----------------------------------------------

# Before NFKD (which would fold them into digits): superscripts and subscripts become a
# private-use marker and the ASCII character.
_SUPSUB: dict[str, str] = {
    **{c: "\ue001" + a for c, a in zip(_SUP, "0123456789+-", strict=True)},
    **{c: "\ue002" + a for c, a in zip(_SUB, "0123456789+-", strict=True)},
}
_SUPSUB_STR = "".join(_SUPSUB)
_SUPSUB_CHARS = re.compile("[" + _SUPSUB_STR + "]")
# After NFKD, and only in text with a number: dashes and minus signs fold to "-", fraction and
# division slashes to "/", variant comparisons to one spelling, and negated relations (NFKD:
# relation + U+0338, a combining mark that would be dropped) to "!" and the relation.
_FOLD: dict[str, str] = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2044": "/",  # fraction slash (NFKD of ½ produces it)
    "\u2215": "/",  # division slash
    "≦": "≤",
    "≧": "≥",
    "⩽": "≤",
    "⩾": "≥",
    "=\u0338": "!=",
    "<\u0338": "!<",
    ">\u0338": "!>",
    "≤\u0338": "!≤",
    "≥\u0338": "!≥",
}
_FOLD_CHARS = re.compile("|".join(sorted(map(re.escape, _FOLD), key=len, reverse=True)))
#: What makes a text numeric for the canonical form: ASCII digits (NFKD folds full-width ones)
#: and super/subscripts. Text whose only digits are of other scripts keeps them as letters.
_NUMERIC_CHARS = "0123456789\ue001\ue002"
# The spaces around operators that may be spaced are not part of the canonical form anyway;
# removing them first lets one pattern with fixed-width look-arounds decide the context.
# Spaces are consumed only from the start of their run (the look-behind), all at once: a long
# run of spaces is not rescanned from each of its positions (quadratic). The matches are those of
# "[ \t\u00a0\u3000]*([/×÷^%‰‱<>≤≥=≈~]+)[ \t\u00a0\u3000]*", which the scan reaches at a run's start.
_SPACED_OP = re.compile(
    r"(?:(?<![ \t\u00a0\u3000])[ \t\u00a0\u3000]++)?([/×÷^%‰‱<>≤≥=≈~]+)[ \t\u00a0\u3000]*+"
)
# The operators of a _SPACED_OP match (a C callable: a template string is parsed on every call).
_OPERATOR = operator.itemgetter(1)
_KEEP = re.compile(
    r"[^\W_]+"  # letters and digits
    r"|(?<=\d)[.,:/×÷^](?=\d)"  # decimal point, separators, fraction, arithmetic
    r"|[-+±](?=\d)"  # a sign (or a tight range/binary operator) before a digit
    r"|(?<=\d)[%‰‱]+"  # percent, per mille, per ten thousand
    r"|!?[<>≤≥=≈~]+(?=[-+±]?\d)"  # a comparison before a number
    r"|(?<=\d)!?[<>≤≥=≈~]+"  # a comparison after a number
    r"|[\ue001\ue002][-+0-9]"  # a superscript or subscript character
)
#: What joins a number to the punctuation :data:`_KEEP` keeps with it: spaces (removed around
#: operators), the punctuation itself and "!" (of negated relations).
_NUMBER_CONTEXT = " \t\u00a0\u3000.,:/×÷^-+±%‰‱<>≤≥=≈~!"
# Below this many characters per stretch around a number, the regexes run on the whole text.
_CHARS_PER_WINDOW = 32
_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_ALNUM_CHAR = re.compile(r"[\W_]")
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def canonical_text(text: str, *, profile: Profile = "plain", version: int = CANONICAL_VERSION) -> str:
    """
    Return what the seal binds of *text* (see the module docstring).

    Args:
        text: visible text; invisible mark characters are not letters and drop out.
        profile: ``plain`` (HTML tags are text) or ``markup`` (Markdown/HTML input: tags are
            dropped, character references decoded). Ignored by version 1.
        version: 2 (written by this release) or 1 (format-1 seals).

    Raises:
        ValueError: an unknown *version* or *profile*.
    """
    if version == 1:
        return _canonical_v1(text)
    if version != 2:
        raise ValueError(f"canonical form version {version} is unknown (1 and 2 exist)")
    rules = _MARKUP_V2.get(profile)
    if rules is None:
        raise ValueError(f"profile must be 'plain' or 'markup', not {profile!r}")
    fast = SPEEDUPS
    if fast is not None and not text.isascii():
        short = _prose_form(fast, text, rules)
        if short is not None:
            return short
    if rules.may_match(text):
        text = rules.sub(text)
    if _has_ascii_digit(text):  # list markers are ASCII digits; most prose has none
        text = _drop_list_markers(text)
    if text.isascii():
        if not _has_number(text):
            return alnum_only(text)
    else:
        if contains_any(text, _SUPSUB_STR):
            text = _SUPSUB_CHARS.sub(_supsub, text)
        if fast is not None:
            short = _letters_and_digits(fast, text, fast.prefold(text, ""))
            if short is not None:
                return short
        text = unicodedata.normalize("NFKD", text)
        if not _has_number(text):
            return alnum_only(text)
        text = _FOLD_CHARS.sub(_fold, text)
    return _number_form(text)


def _number_form(text: str) -> str:
    """
    ``"".join(_KEEP.findall(_SPACED_OP.sub(r"\1", text)))``: letters, digits and the punctuation
    of numbers.

    Only letters and digits are kept away from numbers: every other rule of :data:`_KEEP` needs a
    digit (or a super/subscript marker) reached over :data:`_NUMBER_CONTEXT` characters, and
    looks at most two characters past them. With the C extension the regexes therefore run only
    on those stretches around numbers (merged where they meet), and a letters-and-digits filter
    on the rest; text dense with numbers takes the regexes whole.
    """
    fast = SPEEDUPS
    if fast is not None:
        bounds = fast.number_windows(text, _NUMBER_CONTEXT)
        if len(bounds) <= len(text) // _CHARS_PER_WINDOW:
            out: list[str] = []
            last = 0
            for k in range(0, len(bounds), 2):
                start, end = bounds[k], bounds[k + 1]
                out.append(fast.alnum_only(text[last:start]))
                out.extend(_KEEP.findall(_SPACED_OP.sub(_OPERATOR, text[start:end])))
                last = end
            out.append(fast.alnum_only(text[last:]))
            return "".join(out)
    return "".join(_KEEP.findall(_SPACED_OP.sub(_OPERATOR, text)))


# Distinct characters removed one str.replace at a time before the regex takes over: each
# replace is one C-speed pass, so the bound keeps the work linear (at most this many passes).
_REPLACE_PASSES = 24


def alnum_only(text: str) -> str:
    """
    *text* with every character that is not a letter or digit removed (``str.isalnum``).

    Equal to ``re.sub(r"[\\W_]+", "", text)`` and to :func:`alnum_only_python`; one C pass
    where :data:`SPEEDUPS` is available and *text* is not ASCII. Linear in *text*.
    """
    fast = SPEEDUPS
    if fast is not None and not text.isascii():  # ASCII: the byte table is faster still
        return fast.alnum_only(text)
    return alnum_only_python(text)


def alnum_only_python(text: str) -> str:
    """
    The pure-Python :func:`alnum_only` (the reference the C loop is tested against).

    Equal to ``re.sub(r"[\\W_]+", "", text)``, in C-speed passes: ASCII through a byte table,
    then each distinct remaining non-alphanumeric character by one ``str.replace`` (prose uses
    a dozen or so: spaces, CJK punctuation, quotes), the regex only past
    :data:`_REPLACE_PASSES` distinct ones. Linear in *text*.
    """
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    if text.isalnum():
        return text
    head = text[:256]
    if len(head.encode("utf-8", "surrogatepass")) < 1.25 * len(head):
        # Mostly ASCII (English with a CJK label, curly quotes): the byte table first.
        text = (
            text.encode("utf-8", "surrogatepass")
            .translate(None, _ASCII_NOT_ALNUM)
            .decode("utf-8", "surrogatepass")
        )
    pos = 0
    for _ in range(_REPLACE_PASSES):
        m = _NOT_ALNUM_CHAR.search(text, pos)
        if m is None:
            return text
        # Everything before m is alphanumeric; the character at m goes everywhere at once.
        pos = m.start()
        text = text.replace(m.group(), "")
    return _NOT_ALNUM.sub("", text)


def _holds(text: str, needle: str) -> bool:
    """
    ``needle in text``. A needle of several characters is looked for at each of the first few
    occurrences of its first character: a one-character find is several times faster than a
    substring search, and prose holds a ``]`` (a visible label) or a backtick only now and then.
    """
    first = needle[0]
    pos = text.find(first)
    for _ in range(_FIRST_CHAR_PROBES):
        if pos < 0:
            return False
        if text.startswith(needle, pos):
            return True
        pos = text.find(first, pos + 1)
    return pos >= 0 and text.find(needle, pos) >= 0


# Occurrences of a trigger's first character checked one by one before one substring search.
_FIRST_CHAR_PROBES = 16


def _prose_form(fast: Speedups, text: str, rules: _Markup) -> str | None:
    """
    The canonical form of *text* if it is prose: no markup trigger, list marker, super- or
    subscript or number (``None`` otherwise: the caller takes the full path). One C pass folds
    the text and reports which of those characters occur; a ``]`` or backtick alone (a visible
    label's bracket) is then told from markup by a few finds.
    """
    folded = fast.prefold(text, rules.prose_guard)
    seen = folded[2]
    if seen and (
        any(c not in rules.trigger_starts for c in seen)
        or any(_holds(text, t) for t in rules.triggers if t[0] in seen)
    ):
        return None
    return _letters_and_digits(fast, text, folded)


def _letters_and_digits(fast: Speedups, text: str, folded: tuple[str, bool, str]) -> str | None:
    """
    ``alnum_only(NFKD(text))`` if *text* holds no number after NFKD, else ``None``; *folded* is
    ``fast.prefold(text, ...)``.

    NFKD decomposes each character on its own and only reorders combining marks, none of which
    is a letter or digit, so the letters and digits of ``NFKD(text)`` are those of each
    character's decomposition in turn. The C pre-pass folds full-width ASCII and drops the
    punctuation whose decomposition holds no letter or digit; what is left of prose (letters,
    ideographs) is often final (NFKD leaves it alone) and else mostly decomposed already, which
    NFKD then only has to confirm. A number needs its punctuation: ``None``, and the caller takes
    the full path.
    """
    rest, final, _ = folded
    if final:
        return rest
    rest = unicodedata.normalize("NFKD", rest)
    if _has_number(rest):
        return None
    return fast.alnum_only(rest)


def contains_any(text: str, chars: str) -> bool:
    """
    Whether *text* contains any character of *chars* (at most 64 of them non-ASCII).

    One C pass where :data:`SPEEDUPS` is available and *text* is not ASCII; otherwise one
    substring scan per character of *chars*, which for a few dozen characters is still faster
    than a regex class scan.
    """
    fast = SPEEDUPS
    if fast is not None and not text.isascii():  # ASCII: memchr scans are faster still
        return fast.find_any(text, chars) >= 0
    return any(c in text for c in chars)


def _has_ascii_digit(text: str) -> bool:
    return contains_any(text, "0123456789")


def _has_number(text: str) -> bool:
    return contains_any(text, _NUMERIC_CHARS)


def _supsub(m: re.Match[str]) -> str:
    return _SUPSUB[m.group()]


def _fold(m: re.Match[str]) -> str:
    return _FOLD[m.group()]


def _canonical_v1(text: str) -> str:
    if _MARKUP_V1.may_match(text):
        text = _MARKUP_V1.sub(text)
    text = _drop_list_markers(text)
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return alnum_only(unicodedata.normalize("NFKD", text))


def _drop_list_markers(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _list_markers(text):
        start = m.start()
        if start == 0 or text[start - 1].isspace():
            if start > 0 and text[start - 1].isdigit():
                continue
            out.append(text[pos:start])
            pos = m.end() - 1  # keep the whitespace after the marker
    if not out:
        return text
    out.append(text[pos:])
    return " ".join(out)


def _list_markers(text: str) -> Iterator[re.Match[str]]:
    """
    ``_LIST_MARKER.finditer(text)``. A marker starts with a digit and ends within the two
    characters past it, so with the C extension only the stretches around numbers are searched.
    """
    fast = SPEEDUPS
    if fast is not None:
        bounds = fast.number_windows(text, _NUMBER_CONTEXT)
        if len(bounds) <= len(text) // _CHARS_PER_WINDOW:
            return itertools.chain.from_iterable(
                _LIST_MARKER.finditer(text, bounds[k], bounds[k + 1]) for k in range(0, len(bounds), 2)
            )
    return _LIST_MARKER.finditer(text)


def text_digest(text: str, *, profile: Profile = "plain", version: int = CANONICAL_VERSION) -> bytes:
    """
    Return SHA-256 over the UTF-8 canonical form of *text* (32 bytes).
    """
    canonical = canonical_text(text, profile=profile, version=version)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest()
