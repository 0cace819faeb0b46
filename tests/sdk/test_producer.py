"""
Tests for TC260 provider codes: validation, the check record, roles and packing for the seal.
"""

from __future__ import annotations

import dataclasses

import pytest
from aigclabel import PolicyError, ProducerCodeError, validate_producer_code
from aigclabel.producer import (
    FORM_ORG,
    FORM_RAW,
    ProducerCodeCheck,
    check_producer_code,
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
PLATFORM = GOOD[:22] + "20001"
NEUTRAL = GOOD[:22] + "00000"
#: A code whose subject is not '11' + USCC: the layout individual providers use is not known.
INDIVIDUAL = "0021" + "3101151990030712AB" + "10001"


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


def _org_code(head: str, org8: str, org_check: str, ext: str) -> str:
    """
    An organisation code around a USCC whose GB 32100 check character is computed.
    """
    first17 = head + org8 + org_check
    return "0011" + first17 + _uscc_check(first17) + ext


extension = st.one_of(
    st.just("00000"),
    st.builds(lambda k, app: k + app, st.sampled_from("12"), st.text(B36, min_size=4, max_size=4)),
)
#: Codes in the usual organisation layout: both check characters computed.
org_codes = st.builds(
    lambda head, region, org, ext: _org_code(head + region, org, _org_check(org), ext),
    st.text(USCC_ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    extension,
)
#: Organisation codes whose region part may hold letters (no real USCC does): both checks pass.
org_codes_any_region = st.builds(
    lambda head, org, ext: _org_code(head, org, _org_check(org), ext),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    extension,
)
#: Codes whose 20-character subject is anything but '11' + USCC (individual providers among them).
other_subject_codes = st.builds(
    lambda subject, ext: "00" + subject + ext,
    st.text(B36, min_size=20, max_size=20).filter(lambda s: not s.startswith("11")),
    extension,
)
#: Every kind of code that validates.
any_codes = st.one_of(org_codes, org_codes_any_region, other_subject_codes)
#: A USCC with a wrong GB 11714 check character (digit, X or any other letter) and a right GB 32100 one.
wrong_org_check_codes = st.builds(
    lambda head, org, check, ext: _org_code(head, org, check, ext),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    st.text(USCC_ALPHABET, min_size=8, max_size=8),
    st.sampled_from(USCC_ALPHABET),
    extension,
).filter(lambda code: code[20] != _org_check(code[12:20]))


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


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_embed_a_valid_organisation_code(code: str) -> None:
    """
    Real codes carry a valid GB 11714 organisation code in USCC characters 9-17 (old numeric and MA… alike).
    """
    assert code[20] == org_check_char(code[12:20]) == _org_check(code[12:20])


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (GOOD[:21] + "G" + GOOD[22:], "check character"),  # mistyped check char
        (GOOD[:5] + "2" + GOOD[6:], "check character"),  # one mistyped digit
        (GOOD[:-1], "27"),  # too short
        (GOOD + "0", "27"),  # too long
        (GOOD.lower(), "upper-case"),
        ("01" + GOOD[2:], "'00'"),  # bad format prefix
        (GOOD[:22] + "30002", "extension"),
        (GOOD[:22] + "0000A", "extension"),
        (INDIVIDUAL[:22] + "30002", "extension"),  # the extension is checked for every subject
        (GOOD[:12] + "I" + GOOD[13:], "GB 32100"),  # letter outside the USCC alphabet
        (_org_code("91110102", "MAD55U9H", "1", "10002"), "GB 11714"),  # organisation check char
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


OTHER_SUBJECTS = [INDIVIDUAL, "0021" + GOOD[4:], "0012" + "X" * 18 + "00000", "00" + "9" * 20 + "20001"]


@pytest.mark.parametrize("code", OTHER_SUBJECTS)
def test_codes_with_other_subjects_validate(code: str) -> None:
    """
    A 27-character '00…' code is not rejected only because its subject is not '11' + USCC.
    """
    assert code == validate_producer_code(code)


def test_wrong_organisation_check_character_names_both_characters() -> None:
    """
    A USCC that passes GB 32100 but embeds a wrong GB 11714 check character is refused, saying which.
    """
    bad = _org_code("91110102", "MAD55U9H", "7", "10002")

    with pytest.raises(ProducerCodeError) as info:
        validate_producer_code(bad)

    assert "'MAD55U9H7'" in str(info.value)
    assert "expected '0', found '7'" in str(info.value)


@given(wrong_org_check_codes)
def test_any_wrong_organisation_check_character_is_refused(code: str) -> None:
    """
    Every '11' + USCC code whose GB 11714 check character is wrong is refused, whatever character it is.
    """
    with pytest.raises(ProducerCodeError, match="GB 11714"):
        validate_producer_code(code)


@given(org_codes, st.integers(4, 21), st.sampled_from(USCC_ALPHABET))
def test_one_substituted_uscc_character_is_always_caught(code: str, at: int, char: str) -> None:
    """
    Changing any one USCC character to another of its alphabet fails the GB 32100 check (mod 31 is prime).
    """
    if code[at] == char:
        char = USCC_ALPHABET[(USCC_ALPHABET.index(char) + 1) % 31]
    bad = code[:at] + char + code[at + 1 :]

    with pytest.raises(ProducerCodeError, match="GB 32100 check character"):
        validate_producer_code(bad)


def test_check_reports_an_organisation_code() -> None:
    """
    A real organisation code reports every check that ran, and what could not be checked.
    """
    check = check_producer_code(GOOD)

    assert (GOOD, "organisation", "generation") == (check.code, check.subject, check.service)
    expected = ("length", "charset", "format", "uscc-charset", "uscc-check", "org-check", "extension")
    assert expected == check.checked
    assert any("region" in reason for reason in check.unchecked)
    assert any("registry" in reason for reason in check.unchecked)


def test_check_reports_what_was_not_checked_for_other_subjects() -> None:
    """
    A code with an unknown subject layout runs no USCC check, and says so.
    """
    check = check_producer_code(INDIVIDUAL)

    assert ("unknown", "generation") == (check.subject, check.service)
    assert ("length", "charset", "format", "extension") == check.checked
    assert any("individual" in reason and "not known" in reason for reason in check.unchecked)


def test_organisation_not_bound_to_a_uscc_is_an_unchecked_organisation() -> None:
    """
    Subject type '1' with a second character other than '1' is an organisation whose layout is not checked.
    """
    check = check_producer_code("0012" + "X" * 18 + "00000")

    assert ("organisation", "none") == (check.subject, check.service)
    assert "uscc-check" not in check.checked
    assert any("'12'" in reason for reason in check.unchecked)


@pytest.mark.parametrize(
    ("ext", "service"), [("00000", "none"), ("10002", "generation"), ("2AB01", "propagation")]
)
def test_check_reads_the_service_from_the_extension(ext: str, service: str) -> None:
    """
    The extension's first character says the service the code was registered for.
    """
    assert service == check_producer_code(GOOD[:22] + ext).service


def test_check_record_is_frozen() -> None:
    """
    ProducerCodeCheck is an immutable value.
    """
    check = check_producer_code(GOOD)

    assert isinstance(check, ProducerCodeCheck)
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.code = NEUTRAL  # type: ignore[misc]


def test_check_raises_like_validate() -> None:
    """
    check_producer_code raises the same ProducerCodeError as validate_producer_code for an invalid code.
    """
    with pytest.raises(ProducerCodeError) as info:
        check_producer_code(GOOD[:-1], field="propagator")

    assert ("propagator", GOOD[:-1]) == (info.value.field, info.value.code)


def test_producer_role_refuses_a_propagation_code() -> None:
    """
    role="producer" refuses a 2xxxx code: it says it is a propagation-service code and what to use.
    """
    with pytest.raises(ProducerCodeError) as info:
        validate_producer_code(PLATFORM, role="producer")

    message = str(info.value)
    assert ("producer", PLATFORM) == (info.value.field, info.value.code)
    assert "propagation-service code" in message
    assert "ContentPropagator" in message
    assert "'1' + 4-character model/app code, or '00000'" in message


def test_propagator_role_refuses_a_generation_code() -> None:
    """
    role="propagator" refuses a 1xxxx code and points to the platform's propagation code.
    """
    with pytest.raises(ProducerCodeError) as info:
        validate_producer_code(GOOD, field="propagator", role="propagator")

    message = str(info.value)
    assert "propagator" == info.value.field
    assert "generation-service code" in message
    assert "'2' + 4-character model/app code, or '00000'" in message


@pytest.mark.parametrize(
    ("code", "role"),
    [(GOOD, "producer"), (PLATFORM, "propagator"), (NEUTRAL, "producer"), (NEUTRAL, "propagator")],
)
def test_role_accepts_its_own_service_and_neutral_codes(code: str, role: str) -> None:
    """
    A code for the role's own service, or '00000', passes the role check, which is then reported.
    """
    check = check_producer_code(code, role=role)  # type: ignore[arg-type]

    assert "role" == check.checked[-1]


def test_role_is_not_inferred_from_the_field() -> None:
    """
    Without role=, no role is checked: field="propagator" callers that pass any service code keep working.
    """
    assert GOOD == validate_producer_code(GOOD, field="propagator")
    assert PLATFORM == validate_producer_code(PLATFORM)
    assert "role" not in check_producer_code(PLATFORM).checked


def test_role_check_applies_to_other_subjects() -> None:
    """
    The role check reads only the extension, so it applies to individual providers too.
    """
    with pytest.raises(ProducerCodeError, match="propagation-service"):
        validate_producer_code(INDIVIDUAL[:22] + "20001", role="producer")


def test_unknown_role_is_a_value_error() -> None:
    """
    A role other than "producer", "propagator" or None is a programming error, not a bad code.
    """
    with pytest.raises(ValueError, match="role must be") as info:
        validate_producer_code(GOOD, role="platform")  # type: ignore[arg-type]

    assert not isinstance(info.value, ProducerCodeError)


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


@given(other_subject_codes)
def test_other_subject_codes_round_trip_in_the_raw_form(code: str) -> None:
    """
    Individual providers' (and any non-USCC) codes pack into the raw form and unpack to themselves.
    """
    validate_producer_code(code)
    form, data = pack_producer(code)

    assert (FORM_RAW, 18) == (form, len(data))
    assert code == unpack_producer(form, data)


def test_raw_form_round_trips() -> None:
    """
    An individual provider's code uses the raw form and unpacks to itself.
    """
    form, data = pack_producer(INDIVIDUAL)

    assert FORM_RAW == form
    assert INDIVIDUAL == unpack_producer(form, data)


def test_raw_form_is_unchanged_for_a_legacy_organisation_code() -> None:
    """
    A code with a wrong GB 11714 character, accepted and packed raw before 0.2.0, still packs to the
    same bytes and unpacks: a verifier does not call seals from an earlier release corrupt.
    """
    legacy = _org_code("91110102", "MAD55U9H", "A", "00000")

    form, data = pack_producer(legacy)

    assert (FORM_RAW, int(legacy, 36).to_bytes(18, "big")) == (form, data)
    assert legacy == unpack_producer(form, data)
    with pytest.raises(ProducerCodeError, match="GB 11714"):
        validate_producer_code(legacy)


def test_organisation_form_bytes_are_unchanged() -> None:
    """
    The 12-byte organisation form of the golden-vector producer is pinned.
    """
    assert (FORM_ORG, bytes.fromhex("0893c83c1a9c726b0fb3eb78")) == pack_producer(GOOD)


@pytest.mark.parametrize(("form", "data"), [(FORM_RAW, b"\xff" * 18), (FORM_ORG, b"\xff" * 12), (7, b"")])
def test_unpacking_garbage_raises_value_error(form: int, data: bytes) -> None:
    """
    Bytes that are no packed code raise ValueError (the verifier's corrupt case), never anything else.
    """
    with pytest.raises(ValueError, match=r"."):
        unpack_producer(form, data)


def test_unpacking_an_invalid_raw_code_raises_value_error() -> None:
    """
    Raw-form bytes that decode to a code failing validation (here: a bad USCC check) raise ValueError.
    """
    bad = GOOD[:21] + "G" + GOOD[22:]

    with pytest.raises(ValueError, match="GB 32100"):
        unpack_producer(FORM_RAW, int(bad, 36).to_bytes(18, "big"))
