"""
Golden vectors: the mark format is a contract. Every byte of packets and seals, the canonical text of
tricky inputs, ``ReservedCode1`` and whole labeled texts are pinned; texts labeled by every released
version keep verifying. A failure here means texts already in the wild would stop verifying.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from aigclabel import AIGCMetadata, Labeler, LabelPolicy, canonical_text, verify
from aigclabel.canonical import text_digest
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from aigclabel.labeler import reserved_code1
from aigclabel.marks import alphabet
from aigclabel.marks.crc import crc8
from aigclabel.marks.keys import SigningKeys, load_private_key
from aigclabel.marks.packet import (
    KIND_SEAL_ED25519,
    KIND_SEAL_MICRO,
    build_packet,
    build_seal,
    micro_message,
    parse,
    seal_message,
)

from tests.helpers import REPO

VECTORS = REPO / "tests" / "vectors"
V2: dict[str, Any] = json.loads((VECTORS / "format2.json").read_text(encoding="utf-8"))
V3: dict[str, Any] = json.loads((VECTORS / "format3.json").read_text(encoding="utf-8"))
V1: dict[str, Any] = json.loads((VECTORS / "v1_texts.json").read_text(encoding="utf-8"))
PARTS = ProduceIdParts(V2["unix_ms"], V2["rand_a"], int(V2["mark_id"], 16))
TIERS = {"1": "confirmed", "2": "possible", "3": "suspected"}


def _keys(kind: int) -> SigningKeys:
    signed = kind == KIND_SEAL_ED25519
    return SigningKeys(
        secret=None if signed else V2["key"].encode(),
        private=load_private_key(V2["signing_seed"]) if signed else None,
        slot=V2["slot"],
    )


def test_crc8_check_value() -> None:
    """
    CRC-8/SMBUS of "123456789" is 0xF4 (the catalogue check value).
    """
    assert V2["crc8_check"]["crc"] == f"{crc8(V2['crc8_check']['input'].encode()):02x}" == "f4"


def test_produce_id_is_rebuilt_from_its_carried_fields() -> None:
    """
    The ProduceID of the vectors is a function of (unix_ms, rand_a, mark id) alone.
    """
    assert V2["produce_id"] == produce_id_from_parts(PARTS)


def test_packet_bytes_and_channel_strings() -> None:
    """
    Fixed key, slot and mark id give exactly the pinned 10 packet bytes on both channels.
    """
    packet = build_packet("1", PARTS.mark_id, _keys(1))

    assert V2["packet"] == {
        "hex": packet.hex(),
        "cf": alphabet.encode_cf(packet),
        "mn": alphabet.encode_mn(packet),
    }


@pytest.mark.parametrize("vector", V2["seals"], ids=lambda v: f"kind{v['kind']}-{v['profile']}")
def test_seal_bytes_and_reserved_code1(vector: dict[str, Any]) -> None:
    """
    Each seal kind and profile gives exactly the pinned message, seal bytes and ReservedCode1.
    """
    keys = _keys(vector["kind"])
    packet = build_packet("1", PARTS.mark_id, keys)
    digest = text_digest(V2["seal_text"], profile=vector["profile"])
    message = seal_message("1", vector["kind"], PARTS, V2["producer"], digest, packet, vector["profile"])
    seal = build_seal(message, digest, keys)
    alg = "Ed25519" if vector["kind"] == KIND_SEAL_ED25519 else "HS256"

    assert (vector["digest"], vector["message"], vector["seal"]) == (digest.hex(), message.hex(), seal.hex())
    assert (vector["seal_mn"], vector["seal_cf"]) == (alphabet.encode_mn(seal), alphabet.encode_cf(seal))
    rc1 = reserved_code1(alg, V2["slot"], digest, keys.full_auth(message, digest))
    assert vector["reserved_code1"] == rc1


@pytest.mark.parametrize("vector", V2["seals"], ids=lambda v: f"kind{v['kind']}-{v['profile']}")
def test_pinned_seals_parse(vector: dict[str, Any]) -> None:
    """
    The pinned seal bytes parse back to their fields.
    """
    mark = parse(bytes.fromhex(vector["seal"]))

    assert not isinstance(mark, str)
    assert (2, vector["kind"], V2["slot"], PARTS.mark_id, vector["profile"]) == (
        mark.version,
        mark.kind,
        mark.slot,
        mark.mark_id,
        mark.profile,
    )


@pytest.mark.parametrize("vector", V2["canonical"], ids=lambda v: v["input"][:24])
def test_canonical_text_of_tricky_inputs(vector: dict[str, Any]) -> None:
    """
    The canonical form of each tricky input is pinned for both profiles and for version 1.
    """
    text = vector["input"]

    assert (vector["plain"], vector["markup"], vector["v1"]) == (
        canonical_text(text),
        canonical_text(text, profile="markup"),
        canonical_text(text, version=1),
    )


@pytest.mark.parametrize("vector", V2["labeled"], ids=lambda v: v["input"][:24])
def test_labeling_is_byte_for_byte_stable(vector: dict[str, Any]) -> None:
    """
    With the ProduceID fixed, labeling gives exactly the pinned text and metadata.
    """
    # Format-2 vectors were written when the full seal was the default for every length;
    # ``seal_form="auto"`` now gives short texts a micro seal (format 3, pinned below).
    policy = LabelPolicy(producer=V2["producer"], **{"seal_form": "full", **vector["policy"]})
    with mock.patch("aigclabel.labeler.new_produce_id", return_value=(V2["produce_id"], PARTS)):
        result = Labeler(policy).label(vector["input"])

    assert (vector["text"], vector["metadata"]) == (result.text, result.metadata.to_dict("bare"))


@pytest.mark.parametrize("vector", V2["labeled"], ids=lambda v: v["input"][:24])
def test_format_2_texts_verify_intact_forever(vector: dict[str, Any]) -> None:
    """
    Every pinned format-2 text verifies intact with its key and recovers its metadata exactly.
    """
    verdict = verify(vector["text"], key=V2["key"], public_key=V2["public_key"])

    assert ("intact", TIERS[vector["metadata"]["Label"]]) == (verdict.status, verdict.tier)
    assert AIGCMetadata.from_obj(vector["metadata"]) == verdict.metadata


@pytest.mark.parametrize("vector", V1["texts"], ids=lambda v: v["name"])
def test_format_1_texts_keep_verifying(vector: dict[str, Any]) -> None:
    """
    Texts labeled by release 0.1.0 verify as ``valid`` (authentic mark, metadata recovered) with the
    tier of their Label — never ``intact``: a 32-bit digest cannot vouch for a text.
    """
    verdict = verify(vector["text"], key=V1["key"], public_key=V1["public_key"])

    assert ("valid", TIERS[vector["metadata"]["Label"]]) == (verdict.status, verdict.tier)
    assert AIGCMetadata.from_obj(vector["metadata"]) == verdict.metadata
    assert verdict.evidence.seal is not None
    assert (1, "weak") == (verdict.evidence.seal.version, verdict.evidence.seal.binding)


@pytest.mark.parametrize("vector", V1["texts"], ids=lambda v: v["name"])
def test_an_edited_format_1_text_is_tampered(vector: dict[str, Any]) -> None:
    """
    A format-1 seal still detects edits: adding a word reads ``tampered``.
    """
    edited = vector["text"].replace(vector["input"][:2], vector["input"][:2] + "X", 1)

    assert "tampered" == verify(edited, key=V1["key"], public_key=V1["public_key"]).status


@pytest.mark.parametrize("vector", V3["seals"], ids=lambda v: v["profile"])
def test_micro_seal_bytes_and_reserved_code1(vector: dict[str, Any]) -> None:
    """
    The format-3 micro seal of each profile gives exactly the pinned bytes and ReservedCode1.
    """
    keys = SigningKeys(secret=V3["key"].encode(), private=None, slot=V3["slot"])
    digest = text_digest(V3["seal_text"], profile=vector["profile"])
    message = micro_message("1", V3["slot"], PARTS.mark_id, vector["profile"])
    seal = build_seal(message, digest, keys)

    assert (vector["digest"], vector["message"], vector["seal"]) == (digest.hex(), message.hex(), seal.hex())
    assert (vector["seal_mn"], vector["seal_cf"]) == (alphabet.encode_mn(seal), alphabet.encode_cf(seal))
    rc1 = reserved_code1("HS256", V3["slot"], digest, keys.full_auth(message, digest), version=3)
    assert vector["reserved_code1"] == rc1


@pytest.mark.parametrize("vector", V3["seals"], ids=lambda v: v["profile"])
def test_pinned_micro_seals_parse(vector: dict[str, Any]) -> None:
    """
    The pinned micro seal bytes parse back to format 3, their profile, slot and mark id.
    """
    mark = parse(bytes.fromhex(vector["seal"]))

    assert not isinstance(mark, str)
    assert (3, KIND_SEAL_MICRO, V3["slot"], PARTS.mark_id, vector["profile"], None) == (
        mark.version,
        mark.kind,
        mark.slot,
        mark.mark_id,
        mark.profile,
        mark.hint,
    )


@pytest.mark.parametrize("vector", V3["labeled"], ids=lambda v: v["input"][:24])
def test_default_labeling_of_short_texts_is_byte_for_byte_stable(vector: dict[str, Any]) -> None:
    """
    Under the default policy a short text gets exactly the pinned text (micro seal) and metadata.
    """
    policy = LabelPolicy(producer=V3["producer"], **vector["policy"])
    with mock.patch("aigclabel.labeler.new_produce_id", return_value=(V3["produce_id"], PARTS)):
        result = Labeler(policy).label(vector["input"])

    assert (vector["text"], vector["metadata"]) == (result.text, result.metadata.to_dict("bare"))


@pytest.mark.parametrize("vector", V3["labeled"], ids=lambda v: v["input"][:24])
def test_format_3_texts_verify_intact_forever(vector: dict[str, Any]) -> None:
    """
    Every pinned micro-sealed text verifies intact with its key; a resolver holding its record
    gives back the metadata exactly (the seal itself names no producer).
    """
    metadata = AIGCMetadata.from_obj(vector["metadata"])

    bare = verify(vector["text"], key=V3["key"])
    resolved = verify(vector["text"], key=V3["key"], resolver={V3["mark_id"]: metadata})

    assert ("intact", TIERS[metadata.label], None) == (bare.status, bare.tier, bare.metadata)
    assert bare.evidence.seal is not None
    assert "micro" == bare.evidence.seal.form
    assert metadata == resolved.metadata


def test_docs_quote_the_vectors() -> None:
    """
    docs/marks.md quotes the packet, the HMAC seal, its ReservedCode1 and the CRC check value verbatim.
    """
    docs = (REPO / "docs" / "marks.md").read_text(encoding="utf-8")
    hmac_plain = V2["seals"][0]

    for quoted in (V2["packet"]["hex"], hmac_plain["seal"], hmac_plain["reserved_code1"], V2["produce_id"]):
        assert quoted in docs
    assert V3["seals"][0]["seal"] in docs
    assert "0xF4" in docs
