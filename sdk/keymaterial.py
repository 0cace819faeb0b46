"""
Key text: one normalisation rule for every place a secret comes from, and a floor on its strength.

A secret reaches the SDK from a keyword argument, a TOML file, an ``AIGCLABEL_*`` variable or a
key file. The same secret must give the same bytes whichever way it came, or a text labeled with
the TOML key verifies as ``forged`` under the key file. The rule, applied at every entry:

1. A leading byte-order mark (U+FEFF, as some Windows editors write) is dropped.
2. Trailing line breaks (``\\n``, ``\\r``) are dropped: what ``echo`` and editors add to a file,
   and what a TOML multi-line string or ``export VAR="$(cat key)"`` keeps.
3. What is left must not be empty, must not start or end with whitespace and must not contain a
   line break or another control character: such a key is refused (:class:`~aigclabel.KeyMaterialError`)
   rather than silently trimmed, because a space typed at the end of one copy of a key is not
   visible and trimming it on one side only is exactly how the two ends disagree.
4. The text is encoded as UTF-8. Bytes are key material as given when they are not UTF-8 (a raw
   random key); bytes that decode as UTF-8 follow rules 1–3 like text.

A producer's secret must also not be weak (:func:`weak_secret_reason`): at least
:data:`MIN_SECRET_BYTES` bytes, at least :data:`MIN_DISTINCT_BYTES` distinct bytes, not a
repetition of a shorter unit (``passwordpassword``), not a run (``0123456789abcdef``: more than
:data:`MAX_RUN_FRACTION` of neighbouring bytes equal or one apart), and not a secret printed in
this project's documentation (:data:`EXAMPLE_SECRETS`). A verifier applies only the
normalisation and the length: it must be able to check texts made with any key.

Messages never contain the key, nor any part of it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from .exceptions import KeyMaterialError

__all__ = [
    "EXAMPLE_SECRETS",
    "GENERATE_HINT",
    "MAX_RUN_FRACTION",
    "MIN_DISTINCT_BYTES",
    "MIN_SECRET_BYTES",
    "check_secret_strength",
    "normalise_key_text",
    "normalise_secret",
    "producer_secret",
    "redact_url",
    "weak_secret_reason",
]

#: Shortest accepted HMAC secret, in bytes (as UTF-8).
MIN_SECRET_BYTES = 16
#: Fewest distinct bytes a producer's secret may have (``aaaaaaaaaaaaaaaa`` has 1, ``abab…`` 2,
#: ``aaaabbbbccccdddd`` 4). Random hex keys of 16 characters fall below it about once in 10^5.
MIN_DISTINCT_BYTES = 5
#: Largest share of neighbouring byte pairs that are equal or one apart (``abcdefghijklmnop``
#: has 15/15). Real words and random text stay far below it (``correct horse battery staple``: 5/27).
MAX_RUN_FRACTION = 0.75
#: How to make a good secret; every refusal says it.
GENERATE_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"
#: Secrets printed in this project's documentation, demo and examples, compared after
#: :func:`normalise_key_text` and case folding. Anyone can read them, so they authenticate nothing.
EXAMPLE_SECRETS: frozenset[str] = frozenset(
    {
        "demo secret - not for production",
        # the README's and the examples' secrets up to 0.1.0
        "a provider secret",
        "another provider secret",
        "example secret - use your own",
    }
)

_LINE_BREAKS = "\r\n"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_SECRET_QUERY = re.compile(
    r"(?<=[?&;])((?:ssl)?pass(?:word|wd)?|pwd|secret|token|api_?key|access_?key)=[^&;#]*", re.IGNORECASE
)
_BOM = "\ufeff"


def normalise_key_text(text: str, *, field: str = "key") -> str:
    """
    Apply the key normalisation rule (see the module docstring) to *text*.

    Args:
        text: the key as read from an argument, a TOML value, a variable or a file.
        field: the setting named in an error (``"key"``, ``"audit_chain_key"``…).

    Returns:
        The key without a leading BOM and trailing line breaks.

    Raises:
        KeyMaterialError: the key is empty, has leading or trailing whitespace, or contains
            a line break or another control character. The message never shows the key.
    """
    if text.startswith(_BOM):
        text = text[1:]
    text = text.rstrip(_LINE_BREAKS)
    if not text:
        raise KeyMaterialError(f"{field}: the key is empty; generate one with `{GENERATE_HINT}`")
    if text[0].isspace() or text[-1].isspace():
        where = "starts" if text[0].isspace() else "ends"
        raise KeyMaterialError(
            f"{field}: the key {where} with whitespace; a key is used exactly as written, so remove "
            "the surrounding spaces or tabs (only trailing line breaks are dropped)"
        )
    for i, c in enumerate(text):
        if unicodedata.category(c) == "Cc":
            kind = "a line break" if c in _LINE_BREAKS else "a control character"
            raise KeyMaterialError(
                f"{field}: the key contains {kind} at character {i + 1}; a key is one line of text"
            )
    return text


def normalise_secret(secret: str | bytes, *, field: str = "key") -> bytes:
    """
    The HMAC secret *secret* as bytes, normalised by the one rule, at least 16 bytes long.

    This is what a verifier applies to the keys it is given: no strength check, so that texts
    labeled under any key can still be checked.

    Args:
        secret: text, or bytes (raw key material when not UTF-8, else treated as text).
        field: the setting named in an error.

    Raises:
        KeyMaterialError: the key breaks the normalisation rule or is shorter than 16 bytes.
    """
    if isinstance(secret, str):
        raw = normalise_key_text(secret, field=field).encode("utf-8")
    elif isinstance(secret, bytes | bytearray | memoryview):
        raw = bytes(secret)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass  # raw random bytes: used as given
        else:
            raw = normalise_key_text(text, field=field).encode("utf-8")
    else:
        raise KeyMaterialError(f"{field}: expected the key as str or bytes, not {type(secret).__name__}")
    if len(raw) < MIN_SECRET_BYTES:
        raise KeyMaterialError(
            f"{field}: an HMAC secret needs at least {MIN_SECRET_BYTES} bytes, got {len(raw)}; "
            f"use a random value, e.g. `{GENERATE_HINT}`"
        )
    return raw


def weak_secret_reason(raw: bytes) -> str | None:
    """
    Why *raw* is too weak to authenticate anything, or ``None`` when it passes the floor.

    The floor refuses only keys that are plainly not random; it is no entropy meter, and a key
    that passes is not thereby good. Use a random key.
    """
    if len(raw) < MIN_SECRET_BYTES:
        return f"it has {len(raw)} bytes, fewer than {MIN_SECRET_BYTES}"
    distinct = len(set(raw))
    if distinct < MIN_DISTINCT_BYTES:
        return f"it uses only {distinct} distinct characters (at least {MIN_DISTINCT_BYTES} are needed)"
    period = _period(raw)
    if period <= len(raw) // 2:
        return f"it repeats a {period}-character pattern"
    steps = sum(1 for a, b in itertools.pairwise(raw) if abs(a - b) <= 1)
    if steps > MAX_RUN_FRACTION * (len(raw) - 1):
        return "it is a run of neighbouring characters (like 'abcdef…' or '0123…')"
    folded = " ".join(raw.decode("utf-8", "replace").casefold().split())
    if folded in EXAMPLE_SECRETS:
        return "it is an example secret printed in this project's documentation"
    return None


def check_secret_strength(raw: bytes, *, field: str = "key") -> None:
    """
    Refuse a weak producer secret (see :func:`weak_secret_reason`).

    Raises:
        KeyMaterialError: the secret is weak; the message says why and how to make a good one,
            never the secret.
    """
    reason = weak_secret_reason(raw)
    if reason is not None:
        raise KeyMaterialError(
            f"{field}: this key is too weak to authenticate labels: {reason}; "
            f"generate a random one, e.g. `{GENERATE_HINT}`"
        )


def producer_secret(secret: str | bytes, *, field: str = "key") -> bytes:
    """
    A producer's HMAC secret (a labeler's ``key``, an audit chain key): normalised and checked.

    Raises:
        KeyMaterialError: the key breaks the normalisation rule, is too short, or is weak.
    """
    raw = normalise_secret(secret, field=field)
    check_secret_strength(raw, field=field)
    return raw


def _period(raw: bytes) -> int:
    """
    The smallest p such that raw[i] == raw[i + p] for every i (len(raw) when there is none);
    the prefix function of Knuth–Morris–Pratt, linear in the length.
    """
    n = len(raw)
    border = [0] * n
    k = 0
    for i in range(1, n):
        while k and raw[i] != raw[k]:
            k = border[k - 1]
        if raw[i] == raw[k]:
            k += 1
        border[i] = k
    return n - border[-1] if n else 0


def redact_url(url: str) -> str:
    """
    *url* with its password (``scheme://user:password@host``) and any ``password=``,
    ``token=``… query values replaced by ``***``, for reprs, messages and logs.

    ``postgresql+psycopg://u:pw@host/db`` becomes ``postgresql+psycopg://u:***@host/db``.

    .. versionadded:: 0.2.0
    """
    m = _SCHEME.match(url)
    if m is not None:
        start = m.end()
        end = len(url)
        for stop in "/?#":
            i = url.find(stop, start)
            if i != -1:
                end = min(end, i)
        userinfo, at, host = url[start:end].rpartition("@")
        if at and ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            url = f"{url[:start]}{user}:***@{host}{url[end:]}"
    return _SECRET_QUERY.sub(lambda q: f"{q.group(1)}=***", url)
