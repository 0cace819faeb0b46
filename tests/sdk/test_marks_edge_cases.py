"""
Edge cases of the mark codecs and key handling: every malformed candidate is refused with a
reason, never an exception; unusable key material raises KeyMaterialError naming the field.
"""

from __future__ import annotations

import pytest
from aigclabel.exceptions import KeyMaterialError
from aigclabel.ids import new_produce_id, parse_produce_id
from aigclabel.marks import alphabet, packet
from aigclabel.marks.crc import crc8
from aigclabel.marks.keys import SigningKeys, VerifyingKeys, load_private_key, load_public_key
from aigclabel.producer import FORM_ORG
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SECRET = b"0123456789abcdef0123456789abcdef"


def _framed(body: bytes) -> bytes:
    """
    *body* with its CRC-8 appended, so that parsing gets past the checksum.
    """
    return body + bytes([crc8(body)])


def _seal_head(kind: int, version: int = 2, label_bits: int = 1) -> bytes:
    return bytes([(version << 6) | (kind << 4) | (label_bits << 2)]) + b"\x00\x00\x00\x01" + b"MACM"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00" * 3, "length"),
        (b"\x80" + b"\x00" * 8 + b"\xff", "crc"),
        (_framed(bytes([0 << 6 | 1 << 2]) + b"\x00" * 8), "version"),
        (_framed(bytes([2 << 6 | 0 << 2]) + b"\x00" * 8), "label"),
        (_framed(bytes([2 << 6 | 1 << 2]) + b"\x00" * 9), "length"),
        (_framed(_seal_head(packet.KIND_SEAL_COMPACT, version=1) + b"\x00" * 12), "kind"),
        (_framed(_seal_head(packet.KIND_SEAL_COMPACT) + b"\x00" * 3), "length"),
        (_framed(_seal_head(packet.KIND_SEAL_COMPACT) + b"\x02" + b"\x00" * 10), "flags"),
        (_framed(_seal_head(packet.KIND_SEAL_HMAC) + b"\x00" * 3), "length"),
        (_framed(_seal_head(packet.KIND_SEAL_HMAC) + b"\x00" * 7 + b"\x03"), "flags"),
        (_framed(_seal_head(packet.KIND_SEAL_HMAC) + b"\x00" * 7 + b"\x0c"), "producer"),
        (_framed(_seal_head(packet.KIND_SEAL_HMAC) + b"\x00" * 7 + bytes([FORM_ORG << 2])), "length"),
    ],
    ids=[
        "shorter than a packet",
        "checksum mismatch",
        "unknown version",
        "label bits zero",
        "packet of the wrong length",
        "compact seal in format 1",
        "compact seal of the wrong length",
        "compact seal with unknown flags",
        "seal too short for its producer index",
        "seal with unknown profile bits",
        "seal with an unknown producer form",
        "seal of the wrong length for its form",
    ],
)
def test_parse_refuses_malformed_candidates_with_a_reason(data: bytes, reason: str) -> None:
    """
    ``parse`` returns the reason a candidate is not a mark instead of raising.
    """
    assert reason == packet.parse(data)


def test_seal_length_of_an_unknown_producer_form_is_a_value_error() -> None:
    """
    A producer form outside the known packings has no seal length.
    """
    with pytest.raises(ValueError, match="form"):
        packet.seal_length(packet.KIND_SEAL_HMAC, 15)


@pytest.mark.parametrize(
    ("decode", "run"),
    [
        (alphabet.decode_cf, alphabet.encode_cf(b"ab")[:-1]),
        (alphabet.decode_mn, alphabet.encode_mn(b"ab")[:-1]),
    ],
    ids=["cf run not whole bytes", "mn run not whole bytes"],
)
def test_truncated_run_decodes_to_none(decode: object, run: str) -> None:
    """
    A run whose length is not a whole number of bytes decodes to ``None``.
    """
    assert callable(decode)
    assert decode(run) is None


@pytest.mark.parametrize(
    "produce_id",
    [
        "not a uuid",
        "00000000-0000-4000-8000-000000000000",  # version 4, not 7
        "01890a5d-ac96-7000-0000-000000000000",  # version 7, wrong variant
    ],
)
def test_parse_produce_id_refuses_foreign_ids(produce_id: str) -> None:
    """
    A string that is not a UUIDv7 of this package parses to ``None``.
    """
    assert parse_produce_id(produce_id) is None


def test_parse_produce_id_refuses_a_wrong_check_value() -> None:
    """
    A ProduceID of this package with its check bits changed is not accepted.
    """
    produce_id, _ = new_produce_id()
    last = "0" if produce_id[-1] != "0" else "1"

    assert parse_produce_id(produce_id[:-1] + last) is None


def _pem_private(key: object) -> str:
    assert hasattr(key, "private_bytes")
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return data.decode()


def test_private_key_loads_from_pem_and_seed() -> None:
    """
    An Ed25519 private key loads from a PEM document and from its 64-hex seed, to the same key.
    """
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw

    assert {key.public_key().public_bytes(*raw)} == {
        load_private_key(_pem_private(key)).public_key().public_bytes(*raw),
        load_private_key(seed.hex()).public_key().public_bytes(*raw),
        load_private_key(key).public_key().public_bytes(*raw),
    }


@pytest.mark.parametrize("value", ["zz" * 32, b"short"], ids=["not hex", "wrong length"])
def test_unusable_private_key_names_the_field(value: str | bytes) -> None:
    """
    A seed that is not hex or not 32 bytes raises KeyMaterialError naming the field.
    """
    with pytest.raises(KeyMaterialError, match=r"^signing_key: expected an Ed25519 private key"):
        load_private_key(value)


def test_pem_of_another_algorithm_is_refused() -> None:
    """
    A PEM private or public key that is not Ed25519 is refused, naming the key type.
    """
    ec = generate_private_key(SECP256R1())
    public_pem = ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    with pytest.raises(KeyMaterialError, match="not Ed25519"):
        load_private_key(_pem_private(ec))
    with pytest.raises(KeyMaterialError, match="not Ed25519"):
        load_public_key(public_pem.decode())


def test_public_key_loads_from_pem() -> None:
    """
    An Ed25519 public key loads from a PEM document.
    """
    public = Ed25519PrivateKey.generate().public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw

    assert public.public_bytes(*raw) == load_public_key(pem.decode()).public_bytes(*raw)


def test_signing_keys_need_a_secret_or_a_private_key() -> None:
    """
    Without either key a labeler cannot mark: KeyMaterialError says which settings to set.
    """
    with pytest.raises(KeyMaterialError, match="signing_key"):
        SigningKeys(secret=None, private=None, slot=0)


def test_key_reprs_show_no_key_material() -> None:
    """
    The key holders' reprs show counts and flags, never a key.
    """
    signing = SigningKeys(secret=SECRET, private=None, slot=1)
    verifying = VerifyingKeys([SECRET], [Ed25519PrivateKey.generate().public_key()])

    assert ("SigningKeys(slot=1, signed=False)", "VerifyingKeys(hmac=1, ed25519=1)", True, True) == (
        repr(signing),
        repr(verifying),
        verifying.has_hmac,
        verifying.has_public,
    )


def test_check_packet_is_none_without_keys() -> None:
    """
    With no key at all a packet is neither authentic nor forged: ``None``.
    """
    keys = SigningKeys(secret=SECRET, private=None, slot=0)
    data = packet.build_packet("1", 7, keys)
    decoded = packet.parse(data)
    assert isinstance(decoded, packet.Decoded)

    assert VerifyingKeys([], []).check_packet(decoded.message, decoded.auth) is None
