"""
The canonical form: format-1 compatibility, invariants of version 2, and the packet/seal codec.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from aigclabel import canonical_text
from aigclabel.ids import ProduceIdParts
from aigclabel.marks.keys import SigningKeys
from aigclabel.marks.packet import (
    KIND_SEAL_COMPACT,
    KIND_SEAL_HMAC,
    build_packet,
    build_seal,
    parse,
    seal_message,
)
from hypothesis import given
from hypothesis import strategies as st

from tests import strategies
from tests.helpers import PRODUCER

# Release 0.1.0's markup rule, verbatim: format-1 seals bind what it left of a text.
V1_MARKUP = re.compile(
    r"!\[[^\]\n]*\]\([^)\n]*\)"
    r"|\]\([^)\n]*\)"
    r"|\]\[[^\]\n]*\]"
    r"|^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$"
    r"|^[ \t]{0,3}(?:```|~~~)[^\n]*"
    r"|<(?![A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\s]*>|[^<>\s@]+@[^<>\s]+>)[A-Za-z/!?][^<>\n]*>"
    r"|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});",
    re.MULTILINE,
)


_V1_LIST_MARKER = re.compile(r"(?:(?<=\s)|^)(?<![0-9])[0-9]{1,3}[.)](?=[ \t])")


def _canonical_0_1(text: str) -> str:
    """
    Release 0.1.0's canonical form, from its rules: markup, list markers, then letters and digits.
    """
    if any(t in text for t in ("](", "]:", "`", "~~~", "<", "&")):  # 0.1 ran the rule only then
        text = V1_MARKUP.sub(" ", text)
    text = _V1_LIST_MARKER.sub(" ", text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum())


@given(strategies.markup_soup)
def test_format_1_canonical_text_equals_0_1(text: str) -> None:
    """
    The linear-time rewrite of the format-1 rules gives exactly what 0.1's regex gave.
    """
    assert _canonical_0_1(text) == canonical_text(text, version=1)


@given(st.one_of(strategies.any_text, strategies.markup_soup))
def test_canonical_text_has_no_whitespace(text: str) -> None:
    """
    Whitespace is never covered, in either profile.
    """
    for profile in ("plain", "markup"):
        assert not any(c.isspace() for c in canonical_text(text, profile=profile))  # type: ignore[arg-type]


@pytest.mark.parametrize(("version", "profile"), [(3, "plain"), (2, "html")])
def test_unknown_version_or_profile_is_an_error(version: int, profile: str) -> None:
    """
    A canonical form that does not exist is a ValueError naming what exists.
    """
    with pytest.raises(ValueError, match=r"version|profile"):
        canonical_text("x", version=version, profile=profile)  # type: ignore[arg-type]


@given(
    label=st.sampled_from(["1", "2", "3"]),
    slot=st.integers(0, 3),
    mark_id=st.integers(0, 2**32 - 1),
    unix_ms=st.integers(0, 2**48 - 1),
    rand_a=st.integers(0, 2**12 - 1),
    profile=st.sampled_from(["plain", "markup"]),
    kind=st.sampled_from([KIND_SEAL_HMAC, KIND_SEAL_COMPACT]),
    digest=st.binary(min_size=32, max_size=32),
)
def test_seals_round_trip(
    label: str, slot: int, mark_id: int, unix_ms: int, rand_a: int, profile: str, kind: int, digest: bytes
) -> None:
    """
    Every field a format-2 seal carries parses back unchanged; its first nine bytes are the packet's.
    """
    keys = SigningKeys(secret=b"0123456789abcdef-key", private=None, slot=slot)
    packet = build_packet(label, mark_id, keys)
    parts = ProduceIdParts(unix_ms, rand_a, mark_id)
    seal = build_seal(seal_message(label, kind, parts, PRODUCER, digest, packet, profile), digest, keys)  # type: ignore[arg-type]

    mark = parse(seal)

    assert not isinstance(mark, str)
    assert (2, kind, label, slot, mark_id, profile, digest[:2]) == (
        mark.version,
        mark.kind,
        mark.label,
        mark.slot,
        mark.mark_id,
        mark.profile,
        mark.hint,
    )
    assert mark.packet_key == (packet[0], mark_id, packet[5:9])
    if kind == KIND_SEAL_HMAC:
        assert (parts, PRODUCER) == (mark.parts, mark.producer)


@given(st.binary(max_size=120))
def test_parse_never_raises(data: bytes) -> None:
    """
    Any bytes give a mark or a reason string, never an exception.
    """
    assert parse(data) is not None
