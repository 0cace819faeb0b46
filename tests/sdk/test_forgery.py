"""
Red team: forged, replayed and transplanted marks. Each test is an attack; none may yield ``intact``
(or ``valid`` packets) for content the key holder did not label.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.canonical import text_digest
from aigclabel.marks import alphabet
from aigclabel.marks.crc import crc8
from aigclabel.marks.keys import VerifyingKeys, load_public_key
from aigclabel.marks.packet import HINT_LEN, KIND_PACKET, header, parse

from tests.helpers import KEY, PRODUCER, visible

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
OTHER_KEY = "7c1e9a3f5b2d8e604a9c1f3e5d7b9a20"
LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))
SIGNER = Labeler(LabelPolicy(producer=PRODUCER, signing_key=SEED))
GENUINE = "医生建议：成人每次服用 2.5 mg，每日两次。Keep the medicine below 25 °C."
FORGED_BODY = "医生建议：成人每次服用 25 mg，每日五次。Keep the medicine below 52 °C."
# Letters that render as blank space (category Lo; two stay distinct under NFKD): an attacker's nonce.
HANGUL_FILLERS = ("\u115f", "\u1160")


def _seal_run(text: str) -> str:
    """
    The seal: the last single-channel part of the last mark run (Mn channel by default).
    """
    run = list(alphabet.MARK_RUN.finditer(text))[-1].group()
    return list(alphabet.CHANNEL_PART.finditer(run))[-1].group()


def _decode(run: str) -> bytes:
    data = (
        alphabet.decode_mn(run) if run[0] in alphabet.CGJ + alphabet.VS_ALPHABET else alphabet.decode_cf(run)
    )
    assert data is not None
    return data


def _nonces() -> itertools.product[tuple[str, ...]]:
    return itertools.product(HANGUL_FILLERS, repeat=11)


def test_a_harvested_seal_on_other_text_is_tampered_never_intact() -> None:
    """
    The attack of the 0.1 report: other words, the untouched seal, any of 2,000 invisible nonces.

    The seal's MAC covers the full SHA-256 of the canonical text, so no nonce makes it
    verify; the seal's packet MAC is authentic, so the verdict is ``tampered``.
    """
    labeled = LABELER.label(GENUINE)
    seal = _seal_run(labeled.text)
    statuses = {
        verify(FORGED_BODY + "".join(nonce) + seal, key=KEY).status
        for nonce in itertools.islice(_nonces(), 2000)
    }

    assert {"tampered"} == statuses


def test_a_nonce_that_matches_the_keyless_hint_still_does_not_verify() -> None:
    """
    The 16-bit hint is cheap to match (about 65,536 tries); it never makes a text ``intact``.

    The search below finds a nonce whose canonical text has the seal's hint, the way an attacker
    would; the keyed verdict is still ``tampered`` and the keyless one is ``unverified``.
    """
    labeled = LABELER.label(GENUINE)
    mark = parse(_decode(_seal_run(labeled.text)))
    assert not isinstance(mark, str)
    for nonce in itertools.product("abcdefghijklmnop", repeat=5):  # 2^20 candidates
        candidate = FORGED_BODY + "".join(nonce)
        if text_digest(candidate)[:HINT_LEN] == mark.hint:
            break
    else:  # pragma: no cover - 2^20 tries miss a 16-bit target with probability e^-16
        pytest.fail("no nonce matched the 16-bit hint")
    forged = candidate + _seal_run(labeled.text)

    keyed, keyless = verify(forged, key=KEY), verify(forged)

    assert ("tampered", None) == (keyed.status, keyed.metadata)
    assert "unverified" == keyless.status
    assert "unchecked" == keyless.evidence.seal.binding  # type: ignore[union-attr]


def test_a_seal_with_a_random_mac_is_forged() -> None:
    """
    Rewriting the seal's authenticator (CRC fixed up) gives ``forged`` and no metadata.
    """
    labeled = LABELER.label(GENUINE)
    run = _seal_run(labeled.text)
    raw = _decode(run)
    body = raw[:-9] + bytes(8)
    body = body[:5] + bytes(4) + body[9:]  # and the packet MAC it repeats
    forged = labeled.text.replace(run, alphabet.encode_mn(body + bytes([crc8(body)])))

    verdict = verify(forged, key=KEY)

    assert ("forged", "suspected", None) == (verdict.status, verdict.tier, verdict.metadata)


def test_a_genuine_seal_with_a_rewritten_producer_is_not_intact() -> None:
    """
    Changing the producer code a seal claims (CRC fixed) breaks its MAC: never the new producer's metadata.
    """
    labeled = LABELER.label(GENUINE)
    run = _seal_run(labeled.text)
    raw = _decode(run)
    body = bytearray(raw[:-1])
    body[20] ^= 0x01  # inside the packed producer code
    forged = labeled.text.replace(run, alphabet.encode_mn(bytes(body) + bytes([crc8(bytes(body))])))

    verdict = verify(forged, key=KEY)

    assert verdict.status != "intact"
    assert verdict.metadata is None


def test_packets_minted_with_the_public_key_are_not_authentic() -> None:
    """
    In Ed25519-only mode packets were MACed with SHA-256 of the public key; anyone can make those.

    Format-2 packets of such a producer use a secret derived from the private key: a packet an
    attacker mints from the public key reads ``forged`` to the producer and ``unverified`` to
    anyone holding only the public key — never ``valid``.
    """
    public = SIGNER.public_key
    assert public is not None
    head = bytes([header(KIND_PACKET, "1", 0)]) + (0x0BADF00D).to_bytes(4, "big")
    minted = head + hmac.digest(hashlib.sha256(public).digest(), b"AIGC/mark/2" + head, "sha256")[:4]
    text = "Attacker text " + alphabet.encode_mn(minted + bytes([crc8(minted)])) + "with a minted packet."

    by_public = verify(text, public_key=public)
    by_owner = SIGNER.verifying_keys().check_packet(head, minted[5:])

    assert "unverified" == by_public.status
    assert by_owner is False


def test_history_hygiene_keys_from_a_public_key_recognise_no_packet() -> None:
    """
    Keys built from a public key alone cannot tell this producer's packets: nothing to strip with them.
    """
    labeled = SIGNER.label(GENUINE * 40)
    data = _decode(next(alphabet.MARK_RUN.finditer(labeled.text)).group())
    public = SIGNER.public_key
    assert public is not None

    result = VerifyingKeys([], [load_public_key(public)]).check_packet(data[:5], data[5:9])

    assert result is None


def test_ed25519_packets_are_valid_when_the_signed_seal_repeats_them() -> None:
    """
    With the public key only, packets are vouched for by an authentic signed seal in the same text.
    """
    labeled = SIGNER.label(GENUINE * 40)

    verdict = verify(labeled.text, public_key=SIGNER.public_key)

    packets = verdict.evidence.cf.packets + verdict.evidence.mn.packets
    assert "intact" == verdict.status
    assert packets > 0
    assert packets == verdict.evidence.cf.valid + verdict.evidence.mn.valid


def test_an_excerpt_of_a_signed_text_is_unverified_to_the_public() -> None:
    """
    Without the seal, Ed25519-only packets cannot be authenticated by a public key: ``unverified``.
    """
    labeled = SIGNER.label(GENUINE * 40)
    excerpt = labeled.text[: len(labeled.text) // 2]

    verdict = verify(excerpt, public_key=SIGNER.public_key)

    assert "unverified" == verdict.status


def test_packets_transplanted_into_another_labeled_text_are_reported_unbound() -> None:
    """
    Packets of text A copied into text B: B's seal decides, and the foreign packets are counted and noted.
    """
    donor = LABELER.label(GENUINE * 40)
    host = LABELER.label("A different answer about the weather, with its own seal.")
    packet = next(alphabet.MARK_RUN.finditer(donor.text)).group()
    mixed = host.text.replace("about ", "about " + packet, 1)

    verdict = verify(mixed, key=KEY)

    assert "intact" == verdict.status
    assert host.mark_id == verdict.mark_id
    assert 1 == verdict.evidence.cf.unbound + verdict.evidence.mn.unbound
    assert any("transplanted" in note for note in verdict.evidence.notes)


def test_marks_and_seal_transplanted_into_unrelated_text_are_tampered() -> None:
    """
    Every mark of A (packets and seal) moved into unrelated words: the seal disagrees, ``tampered``.
    """
    donor = LABELER.label(GENUINE * 40)
    runs = [m.group() for m in alphabet.MARK_RUN.finditer(donor.text)]
    unrelated = " ".join(f"Unrelated sentence number {i} says something else." for i in range(len(runs)))
    words = unrelated.split(" ")
    transplanted = " ".join(w + (runs.pop(0) if runs and i % 7 == 6 else "") for i, w in enumerate(words))
    transplanted += "".join(runs)

    verdict = verify(transplanted, key=KEY)

    assert ("tampered", None) == (verdict.status, verdict.metadata)


def test_a_seal_replayed_from_another_text_of_the_same_producer_is_tampered() -> None:
    """
    The seal of one answer appended to another answer by the same producer does not vouch for it.
    """
    first = LABELER.label("The first answer says yes.")
    second = LABELER.label("The second answer says no.")
    replayed = visible(second.text) + _seal_run(first.text)

    verdict = verify(replayed, key=KEY)

    assert "tampered" == verdict.status


def test_the_verdict_names_the_key_that_matched() -> None:
    """
    With several keys, ``evidence.key`` gives the algorithm, the position in the list and the slot.
    """
    labeled = LABELER.label(GENUINE)

    verdict = verify(labeled.text, key=[OTHER_KEY, KEY])

    assert "intact" == verdict.status
    assert verdict.evidence.key is not None
    assert ("HS256", 1, 0) == (
        verdict.evidence.key.algorithm,
        verdict.evidence.key.index,
        verdict.evidence.key.slot,
    )


def test_a_mark_of_a_slot_without_a_key_is_unverified_not_forged() -> None:
    """
    Keys given by slot: a mark from slot 0 checked with a key for slot 1 only is ``unverified`` and noted.
    """
    labeled = LABELER.label(GENUINE)

    verdict = verify(labeled.text, key={1: OTHER_KEY})

    assert "unverified" == verdict.status
    assert any("slot 0" in note for note in verdict.evidence.notes)


def test_a_mark_of_a_slot_with_the_wrong_key_is_forged() -> None:
    """
    A key given for the mark's own slot that does not match means ``forged``.
    """
    labeled = LABELER.label(GENUINE)

    assert "forged" == verify(labeled.text, key={0: OTHER_KEY}).status


def test_keys_by_slot_verify_a_rotated_key() -> None:
    """
    A text labeled with key slot 2 verifies with ``{0: old, 2: new}`` and reports slot 2.
    """
    rotated = Labeler(LabelPolicy(producer=PRODUCER, key=OTHER_KEY, key_id=2, seal_form="full"))
    labeled = rotated.label(GENUINE)

    verdict = verify(labeled.text, key={0: KEY, 2: OTHER_KEY})

    assert "intact" == verdict.status
    assert verdict.evidence.key is not None
    assert 2 == verdict.evidence.key.slot


def test_a_key_slot_outside_0_to_3_is_a_key_error() -> None:
    """
    Slots are two bits: a mapping with slot 4 is refused with a clear error.
    """
    from aigclabel import AIGCLabelError

    with pytest.raises(AIGCLabelError, match="slots are 0-3"):
        verify("text", key={4: KEY})


def test_keyless_verification_never_says_intact() -> None:
    """
    Without a key the seal can be read but not checked: ``unverified`` with an ``unchecked`` binding.
    """
    labeled = LABELER.label(GENUINE)

    verdict = verify(labeled.text)

    assert "unverified" == verdict.status
    assert verdict.evidence.seal is not None
    assert ("unchecked", None) == (verdict.evidence.seal.binding, verdict.evidence.seal.authentic)


def test_keyless_verification_sees_an_edit_from_the_hint() -> None:
    """
    The keyless hint tells that the words changed: ``tampered`` without any key.
    """
    labeled = LABELER.label(GENUINE)
    edited = labeled.text.replace("2.5", "25", 1)

    assert "tampered" == verify(edited).status
