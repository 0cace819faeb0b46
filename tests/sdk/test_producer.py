"""
Tests for TC260 provider codes: validation and packing for the seal.
"""

from __future__ import annotations

import pytest
from aigclabel import PolicyError, ProducerCodeError, validate_producer_code
from aigclabel.producer import (
    FORM_ORG,
    FORM_RAW,
    org_check_char,
    pack_producer,
    packed_length,
    unpack_producer,
    uscc_check_char,
)
from hypothesis import given
from hypothesis import strategies as st

REAL_CODES = ["001191110102MAD55U9H0F10002", "001191440300708461136T1XGW3", "001191440300MA5G49LC9K1YO01"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GOOD = REAL_CODES[0]


def _uscc_check(first17: str) -> str:
    """
    GB 32100-2015 check character, written out from the standard's notes (independent of the SDK).
    """
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, weights, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_check(first8: str) -> str:
    """
    GB 11714 check character of an organisation code body.
    """
    total = sum(B36.index(c) * w for c, w in zip(first8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


extension = st.one_of(
    st.just("00000"),
    st.builds(lambda k, app: k + app, st.sampled_from("12"), st.text(B36, min_size=4, max_size=4)),
)
#: Codes in the usual organisation layout: both check characters computed.
org_codes = st.builds(
    lambda head, region, org, ext: (
        "0011"
        + head
        + region
        + org
        + _org_check(org)
        + _uscc_check(head + region + org + _org_check(org))
        + ext
    ),
    st.text(USCC_ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    extension,
)
#: Any code whose USCC passes its own check character.
any_codes = st.builds(
    lambda first17, ext: "0011" + first17 + _uscc_check(first17) + ext,
    st.text(USCC_ALPHABET, min_size=17, max_size=17),
    extension,
)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code: str) -> None:
    """
    The provider codes seen in real labeled files validate and come back unchanged.
    """
    assert code == validate_producer_code(code)


@pytest.mark.parametrize("code", REAL_CODES)
def test_check_characters_match_the_standard(code: str) -> None:
    """
    The SDK's USCC check character agrees with the rule as written in the standard.
    """
    assert code[21] == uscc_check_char(code[4:21]) == _uscc_check(code[4:21])


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (GOOD[:21] + "G" + GOOD[22:], "check character"),  # mistyped check char
        (GOOD[:5] + "2" + GOOD[6:], "check character"),  # one mistyped digit
        (GOOD[:-1], "27"),  # too short
        (GOOD + "0", "27"),  # too long
        (GOOD.lower(), "upper-case"),
        ("01" + GOOD[2:], "'00'"),  # bad format prefix
        ("0021" + GOOD[4:], "'11'"),  # bad subject type
        (GOOD[:22] + "30002", "extension"),
        (GOOD[:22] + "0000A", "extension"),
        (GOOD[:12] + "I" + GOOD[13:], "GB 32100"),  # letter outside the USCC alphabet
    ],
)
def test_invalid_codes_raise_naming_the_field(bad: str, words: str) -> None:
    """
    An invalid code raises ProducerCodeError whose field and message name the setting and the fault.
    """
    with pytest.raises(ProducerCodeError) as info:
        validate_producer_code(bad)

    assert "producer" == info.value.field
    assert bad == info.value.code
    assert str(info.value).startswith("producer: ")
    assert words in str(info.value)


def test_error_names_a_custom_field() -> None:
    """
    The field name passed by the caller is the one reported.
    """
    with pytest.raises(ProducerCodeError) as info:
        validate_producer_code("nope", field="ContentPropagator")

    assert "ContentPropagator" == info.value.field
    assert str(info.value).startswith("ContentPropagator: ")


def test_producer_code_error_is_a_policy_error() -> None:
    """
    ProducerCodeError is caught by ``except PolicyError`` and ``except ValueError``.
    """
    assert issubclass(ProducerCodeError, PolicyError)
    assert issubclass(ProducerCodeError, ValueError)


def test_non_string_code_is_rejected() -> None:
    """
    A code that is not a string raises ProducerCodeError, not TypeError.
    """
    with pytest.raises(ProducerCodeError):
        validate_producer_code(1191110102)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pack_in_the_short_form(code: str) -> None:
    """
    Real organisation codes pack into the 12-byte organisation form.
    """
    form, data = pack_producer(code)

    assert (FORM_ORG, 12) == (form, len(data))


@given(org_codes)
def test_org_codes_round_trip(code: str) -> None:
    """
    Codes in the organisation layout pack into the short form and unpack to themselves.
    """
    validate_producer_code(code)
    form, data = pack_producer(code)

    assert FORM_ORG == form
    assert code == unpack_producer(form, data)


@given(any_codes)
def test_any_valid_code_round_trips(code: str) -> None:
    """
    Every code that validates packs (in either form) and unpacks to itself.
    """
    validate_producer_code(code)
    form, data = pack_producer(code)

    assert packed_length(form) == len(data)
    assert code == unpack_producer(form, data)


def test_raw_form_round_trips() -> None:
    """
    A valid code whose organisation part has no GB 11714 check uses the raw form.
    """
    first17 = "91110102MAD55U9HA"
    assert org_check_char(first17[8:16]) != first17[16]
    code = "0011" + first17 + _uscc_check(first17) + "00000"
    form, data = pack_producer(code)

    assert FORM_RAW == form
    assert code == unpack_producer(form, data)


@pytest.mark.parametrize(("form", "data"), [(FORM_RAW, b"\xff" * 18), (FORM_ORG, b"\xff" * 12), (7, b"")])
def test_unpacking_garbage_raises_value_error(form: int, data: bytes) -> None:
    """
    Bytes that are no packed code raise ValueError (the verifier's corrupt case), never anything else.
    """
    with pytest.raises(ValueError, match=r"."):
        unpack_producer(form, data)
