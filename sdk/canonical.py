"""
The canonical form of visible text that the seal binds.

The seal must survive benign transforms (NFC/NFKC, Markdown rendered to HTML and back
to text, whitespace collapsing, smart-quote fixing, width folding, dropping either
invisible channel) and still notice edited words. So it covers exactly:

* the **letters and digits** of the text (``str.isalnum``: Unicode categories L and N),
* after compatibility decomposition (NFKD) with combining marks removed,
* excluding Markdown link destinations ``](…)`` and reference labels ``][…]``, whole
  images ``![alt](…)`` (their alt text does not survive rendering), reference-link
  definition lines, code-fence info strings,
  ordered-list markers (a 1–3 digit number with ``.`` or ``)`` between whitespace, as in
  ``1. item``: renderers renumber or drop them — so such a number at a sentence end
  is not covered either),
  HTML tags (not autolinks such as ``<https://…>`` or ``<me@example.com>``, which render
  as text) and character references.

It does **not** cover whitespace, punctuation, symbols, emoji, combining marks (accents,
and also Thai, Devanagari and other vowel signs: dropping category Mn is a benign
transform the mark must survive), letter width or markup. Changing, adding or removing
any letter or digit changes it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["canonical_text", "text_digest"]

_MARKUP = re.compile(
    r"!\[[^\]\n]*\]\([^)\n]*\)"  # markdown image: renderers keep no text of it
    r"|\]\([^)\n]*\)"  # markdown link destination and title
    r"|\]\[[^\]\n]*\]"  # the label of a reference-style link
    r"|^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$"  # reference-link definition line
    r"|^[ \t]{0,3}(?:```|~~~)[^\n]*"  # code-fence line with its info string
    # an HTML tag, comment or declaration, but not an autolink (<https://...>, <me@example.com>)
    r"|<(?![A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\s]*>|[^<>\s@]+@[^<>\s]+>)[A-Za-z/!?][^<>\n]*>"
    r"|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});",  # character reference
    re.MULTILINE,
)
# Ordered-list markers: Markdown renderers drop or renumber them and whitespace collapsing
# moves them off the line start, so any 1-3 digit number + "." or ")" between whitespace.
# The pattern starts with a character class so the regex engine can skip ahead; the
# "after whitespace or at the start" condition is checked on the (rare) matches.
_LIST_MARKER = re.compile(r"[0-9]{1,3}[.)][ \t]")
_NOT_ALNUM = re.compile(r"[\W_]+")
_MARKUP_TRIGGERS = ("](", "]:", "`", "~~~", "<", "&")
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def canonical_text(text: str) -> str:
    """
    Return the letters and digits of *text* that the seal binds (see module docstring).
    """
    if any(t in text for t in _MARKUP_TRIGGERS):
        text = _MARKUP.sub(" ", text)
    text = _drop_list_markers(text)
    if text.isascii():  # NFKD is the identity; deleting bytes is ~50x faster than the regex
        return text.encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text))


def _drop_list_markers(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _LIST_MARKER.finditer(text):
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


def text_digest(text: str) -> bytes:
    """
    Return SHA-256 over the UTF-8 canonical form of *text* (32 bytes).
    """
    return hashlib.sha256(canonical_text(text).encode("utf-8", "surrogatepass")).digest()
