"""
The two invisible channels and their byte codecs.

* **Cf channel**: four zero-width format characters, two bits each, four characters a
  byte — U+200B ZERO WIDTH SPACE, U+200C ZWNJ, U+200D ZWJ, U+2060 WORD JOINER.
* **Mn channel**: U+034F COMBINING GRAPHEME JOINER as a base (so that no variation
  selector ever follows a character that has standardized or emoji variants), then
  sixteen variation selectors U+FE00–U+FE0F, four bits each, two a byte.

Sanitizers that drop category Cf keep the Mn channel and vice versa. No bidi control
character is ever used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .. import canonical

CF_ALPHABET = "\u200b\u200c\u200d\u2060"
CGJ = "\u034f"
VS_ALPHABET = "".join(chr(0xFE00 + i) for i in range(16))

_CF_BYTE = ["".join(CF_ALPHABET[(b >> s) & 3] for s in (6, 4, 2, 0)) for b in range(256)]
_MN_BYTE = [VS_ALPHABET[b >> 4] + VS_ALPHABET[b & 15] for b in range(256)]
_CF_TO_DIGIT = str.maketrans({c: str(i) for i, c in enumerate(CF_ALPHABET)})
_VS_TO_HEX = str.maketrans({c: "0123456789abcdef"[i] for i, c in enumerate(VS_ALPHABET)})

#: Runs of at least 8 Cf-alphabet characters (two bytes): candidate packets.
CF_RUN = re.compile(f"[{CF_ALPHABET}]{{8,}}")
#: Runs of at least 4 CGJ / variation-selector characters (split at each CGJ to decode).
MN_RUN = re.compile(f"[{CGJ}{VS_ALPHABET}]{{4,}}")
#: Runs of either channel; one scan finds both (then :data:`CHANNEL_PART` splits them).
MARK_RUN = re.compile(f"[{CF_ALPHABET}{CGJ}{VS_ALPHABET}]{{4,}}")
#: The single-channel parts of a :data:`MARK_RUN` match.
CHANNEL_PART = re.compile(f"(?P<cf>[{CF_ALPHABET}]+)|(?P<mn>[{CGJ}{VS_ALPHABET}]+)")
#: Any character of either channel (for stripping the carrier before measuring tokens).
ANY_MARK_CHAR = re.compile(f"[{CF_ALPHABET}{CGJ}{VS_ALPHABET}]")


_MARK_CHARS = CF_ALPHABET + CGJ + VS_ALPHABET
# A maximal run of mark characters, of any length, starting where it is matched.
_RUN_HERE = re.compile(f"[{_MARK_CHARS}]+")


def may_carry_marks(text: str) -> bool:
    """
    Whether *text* contains any character of either channel (``False``: it carries no marks).

    A plain-text upload, the common case of a platform, answers in one C pass with the C
    extension, else one C-speed pass per alphabet character instead of a regex scan; ASCII text
    at once.
    """
    return not text.isascii() and canonical.contains_any(text, _MARK_CHARS)


def encode_cf(data: bytes) -> str:
    """
    Encode *data* on the Cf channel: four characters a byte, most significant bits first.
    """
    return "".join([_CF_BYTE[b] for b in data])


def encode_mn(data: bytes) -> str:
    """
    Encode *data* on the Mn channel: CGJ, then two variation selectors a byte.
    """
    return CGJ + "".join([_MN_BYTE[b] for b in data])


def decode_cf(run: str) -> bytes | None:
    """
    Decode a run of Cf-alphabet characters; ``None`` if its length is not whole bytes.

    Raises:
        ValueError: *run* holds another character.
    """
    fast = canonical.SPEEDUPS
    if fast is not None:
        return fast.decode_cf(run)
    return decode_cf_python(run)


def decode_cf_python(run: str) -> bytes | None:
    """
    The pure-Python :func:`decode_cf` (the reference the C codec is tested against).
    """
    if len(run) % 4:
        return None
    if not run:
        return b""
    if run.strip(CF_ALPHABET):
        raise ValueError("decode_cf(): not a Cf-channel character")
    return int(run.translate(_CF_TO_DIGIT), 4).to_bytes(len(run) // 4, "big")


def decode_mn(run: str) -> bytes | None:
    """
    Decode a run of variation selectors (an optional leading CGJ is skipped); ``None`` if its
    length is odd.

    Raises:
        ValueError: *run* holds another character.
    """
    fast = canonical.SPEEDUPS
    if fast is not None:
        return fast.decode_mn(run)
    return decode_mn_python(run)


def decode_mn_python(run: str) -> bytes | None:
    """
    The pure-Python :func:`decode_mn` (the reference the C codec is tested against).
    """
    if run.startswith(CGJ):
        run = run[1:]
    if len(run) % 2:
        return None
    if run.strip(VS_ALPHABET):
        raise ValueError("decode_mn(): not a variation selector")
    return bytes.fromhex(run.translate(_VS_TO_HEX))


def mark_runs(text: str) -> Iterator[re.Match[str]]:
    """
    The runs of :data:`MARK_RUN` in *text*, as ``MARK_RUN.finditer(text)`` gives them (same spans
    and groups), ``()`` at once for text that carries no marks.

    With the C extension a character scan jumps from run to run and the regex only measures each
    run (a regex scan of the whole text is several times slower); every maximal run of four or
    more mark characters is one match either way.
    """
    if text.isascii():
        return
    fast = canonical.SPEEDUPS
    if fast is None:
        if may_carry_marks(text):
            yield from MARK_RUN.finditer(text)
        return
    pos = fast.find_any(text, _MARK_CHARS)
    while pos >= 0:
        m = _RUN_HERE.match(text, pos)
        assert m is not None  # text[pos] is a mark character
        if m.end() - pos >= 4:
            yield m
        pos = fast.find_any(text, _MARK_CHARS, m.end())
