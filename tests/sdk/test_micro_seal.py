"""
The micro seal (format 3): what the default policy gives a text too short to hold a packet.

Fourteen bytes — header (format 3, canonical profile, Label, key slot), mark id, a 64-bit MAC
over the full canonical digest, CRC-8 — on the seal's channel and nothing else, so that a short
reply stays short; the identity comes from a resolver or the keyring.
"""

from __future__ import annotations

import random
from unittest import mock

import pytest
from aigclabel import Keyring, KeyringEntry, Labeler, LabelPolicy, PolicyError, verify
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from aigclabel.marks import alphabet
from aigclabel.marks.crc import crc8
from aigclabel.marks.packet import MICRO_SEAL_LEN, parse
from aigclabel.tokens import count_tokens

from tests.helpers import KEY, PRODUCER, bench_text, visible

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
OTHER_KEY = "7c1e9a3f5b2d8e604a9c1f3e5d7b9a20"
AUTO = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
SHORT = {"zh": "好的。", "en": "OK."}
REPLIES = {
    "zh": "剂量为 2.5 mg，每日两次，饭后服用。如有不适请及时就医。",
    "en": "Take 2.5 mg twice a day after meals, and see a doctor if anything feels wrong.",
}


def _added_tokens(labeled: str, reply: str) -> int:
    return count_tokens(labeled, "o200k_base") - count_tokens(reply, "o200k_base")


def _mark_runs(text: str) -> list[str]:
    return [m.group() for m in alphabet.MARK_RUN.finditer(text)]


def test_a_short_reply_gets_one_micro_seal_and_nothing_else() -> None:
    """
    Under the default policy a two-token reply carries one 14-byte format-3 seal on the Mn channel.
    """
    labeled = AUTO.label(SHORT["zh"])

    runs = _mark_runs(labeled.text)
    seal = parse(alphabet.decode_mn(runs[0]) or b"")

    assert (1, 0) == (len(runs), labeled.packets)
    assert not isinstance(seal, str)
    assert (3, 1 + 2 * MICRO_SEAL_LEN, labeled.mark_id) == (seal.version, len(runs[0]), f"{seal.mark_id:08x}")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_reply_under_100_tokens_gains_at_most_70_tokens_visible_label_included(language: str) -> None:
    """
    The size promise, over 300 different mark ids (each gives different seal bytes): a reply of
    2 to 99 tokens gains at most 70 o200k tokens, the explicit label included.
    """
    rng = random.Random(f"micro-{language}")
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, language=language))
    worst = 0
    for i in range(300):
        reply = SHORT[language] if i % 2 else REPLIES[language]
        parts = ProduceIdParts(1_764_720_000_000 + i, rng.getrandbits(12), rng.getrandbits(32))
        with mock.patch(
            "aigclabel.labeler.new_produce_id", return_value=(produce_id_from_parts(parts), parts)
        ):
            labeled = labeler.label(reply)
        assert count_tokens(reply, "o200k_base") < 100
        worst = max(worst, _added_tokens(labeled.text, reply))

    assert worst <= 70


def test_the_worst_case_seal_bytes_stay_within_the_budget() -> None:
    """
    Variation selectors cost at most two o200k tokens each: a seal made only of two-token selectors
    (every nibble 0–14) after the longer English label still fits in 70 tokens.
    """
    labeled = visible(Labeler(LabelPolicy(producer=PRODUCER, key=KEY, language="en")).label("OK.").text)
    worst_seal = alphabet.encode_mn(bytes([0x00, 0x11, 0xE7, 0x3C]) * 3 + bytes([0xAB, 0xCD]))

    assert _added_tokens(labeled + worst_seal, "OK.") <= 70


def test_a_micro_seal_verifies_intact_and_a_resolver_gives_the_identity() -> None:
    """
    ``intact`` with the key; no metadata without a resolver; the response's own result resolves it.
    """
    labeled = AUTO.label(SHORT["zh"])

    bare = verify(labeled.text, key=KEY)
    resolved = verify(labeled.text, key=KEY, resolver=labeled)

    assert ("intact", "confirmed", None, labeled.mark_id) == (
        bare.status,
        bare.tier,
        bare.metadata,
        bare.mark_id,
    )
    assert bare.evidence.seal is not None
    assert ("micro", 3, "HS256") == (
        bare.evidence.seal.form,
        bare.evidence.seal.version,
        bare.evidence.seal.algorithm,
    )
    assert (labeled.metadata, labeled.produce_id) == (resolved.metadata, resolved.produce_id)
    assert labeled.metadata.reserved_code1.startswith("SD3.HS256.0.")


def test_the_keyring_names_the_producer_of_a_micro_seal() -> None:
    """
    A micro seal names no producer: every keyring key is tried and the matching one is reported.
    """
    keyring = Keyring.from_entries([KeyringEntry(PRODUCER, "k0", 0, "HS256", KEY)])

    verdict = verify(AUTO.label(SHORT["en"]).text, keyring=keyring)

    assert verdict.evidence.key is not None
    assert ("intact", "k0", PRODUCER) == (
        verdict.status,
        verdict.evidence.key.key_id,
        verdict.evidence.key.producer,
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [("2.5", "25"), ("两次", "三次"), ("饭后", "饭前"), ("就医", "")],
)
def test_an_edit_under_a_micro_seal_is_tampered(before: str, after: str) -> None:
    """
    The MAC covers the full canonical digest: a number, a word or a sentence changed reads tampered.
    """
    labeled = AUTO.label(REPLIES["zh"])

    verdict = verify(labeled.text.replace(before, after), key=KEY)

    assert ("tampered", "confirmed") == (verdict.status, verdict.tier)
    assert verdict.metadata is None
    assert any("cannot tell which" in note for note in verdict.evidence.notes)


def test_benign_transforms_keep_a_micro_seal_intact() -> None:
    """
    NFKC, full-width digits and collapsed whitespace change no letter or digit: still intact.
    """
    labeled = AUTO.label("剂量为 2.5 mg，每日  两次。")
    text = labeled.text.replace("  ", " ").replace("2.5", "２.５")

    assert "intact" == verify(text, key=KEY).status


def test_a_micro_seal_moved_onto_other_text_never_verifies_intact() -> None:
    """
    A genuine micro seal transplanted under another reply is tampered, with or without the key.
    """
    seal = _mark_runs(AUTO.label(SHORT["zh"]).text)[0]
    other = AUTO.label("不好。").text
    forged = visible(other) + seal

    assert "tampered" == verify(forged, key=KEY).status
    assert "unverified" == verify(forged).status  # no hint: a keyless verifier cannot tell


def test_random_micro_seals_never_verify_intact() -> None:
    """
    200 micro seals with random MACs (valid CRC, right mark id and header) over a text: never intact.
    """
    labeled = AUTO.label(SHORT["en"])
    genuine = alphabet.decode_mn(_mark_runs(labeled.text)[0]) or b""
    rng = random.Random(7)
    statuses = set()
    for _ in range(200):
        body = genuine[:5] + rng.randbytes(8)
        statuses.add(
            verify(visible(labeled.text) + alphabet.encode_mn(body + bytes([crc8(body)])), key=KEY).status
        )

    assert {"tampered"} == statuses


def test_a_wrong_key_cannot_tell_edit_from_forgery() -> None:
    """
    Under another key the MAC fails: tampered (authenticity unknown), never forged or intact.
    """
    verdict = verify(AUTO.label(SHORT["zh"]).text, key=OTHER_KEY)

    assert verdict.evidence.seal is not None
    assert ("tampered", None) == (verdict.status, verdict.evidence.seal.authentic)


def test_a_text_that_holds_packets_keeps_the_full_seal() -> None:
    """
    ``auto`` gives the full seal (producer and ProduceID in the text) once a packet fits.
    """
    labeled = AUTO.label(bench_text("en_alice")[:6000])

    verdict = verify(labeled.text, key=KEY)

    assert labeled.packets > 0
    assert verdict.evidence.seal is not None
    assert ("intact", "full", labeled.metadata) == (
        verdict.status,
        verdict.evidence.seal.form,
        verdict.metadata,
    )


def test_a_signing_key_keeps_the_signed_seal_on_short_texts() -> None:
    """
    A micro seal carries an HMAC: an Ed25519 producer's short replies keep the signed full seal.
    """
    signer = Labeler(LabelPolicy(producer=PRODUCER, signing_key=SEED))

    verdict = verify(signer.label(SHORT["zh"]).text, public_key=signer.public_key)

    assert verdict.evidence.seal is not None
    assert ("intact", "full", "Ed25519") == (
        verdict.status,
        verdict.evidence.seal.form,
        verdict.evidence.seal.algorithm,
    )


def test_an_explicit_micro_seal_on_a_long_text_keeps_its_packets() -> None:
    """
    ``seal_form="micro"`` on a long text: packets as usual, excerpts verify, the whole is intact.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="micro"))
    labeled = labeler.label(bench_text("zh_luxun_nahan")[:3000])

    whole = verify(labeled.text, key=KEY)
    excerpt = verify(labeled.text[1000:2500], key=KEY)

    assert labeled.packets > 0
    assert ("intact", "valid", labeled.mark_id) == (whole.status, excerpt.status, excerpt.mark_id)
    assert whole.evidence.cf.valid + whole.evidence.mn.valid == labeled.packets


def test_a_stream_gets_the_same_micro_seal_as_label() -> None:
    """
    A streamed short reply ends with a micro seal exactly like ``label()`` gives.
    """
    parts = ProduceIdParts(1_764_720_000_000, 0x5A5, 0x0BADC0DE)
    with mock.patch("aigclabel.labeler.new_produce_id", return_value=(produce_id_from_parts(parts), parts)):
        whole = AUTO.label(REPLIES["en"]).text
        stream = AUTO.stream()
        out = "".join(stream.feed(piece) for piece in REPLIES["en"].split(" ")[:1])
        out += "".join(stream.feed(" " + piece) for piece in REPLIES["en"].split(" ")[1:])
        out += stream.finish()

    assert whole == out


@pytest.mark.parametrize("channels", ["cf", "both"])
def test_the_micro_seal_follows_seal_channels(channels: str) -> None:
    """
    ``seal_channels`` picks the micro seal's channel (``both``: one copy on each).
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_channels=channels))  # type: ignore[arg-type]
    labeled = labeler.label(SHORT["zh"])

    verdict = verify(labeled.text, key=KEY)

    assert ("intact", 2 if channels == "both" else 1) == (verdict.status, verdict.evidence.seals_found)
    assert verdict.evidence.cf.seals == 1


def test_a_micro_seal_needs_an_hmac_key_and_no_signing_key() -> None:
    """
    ``seal_form="micro"`` with only (or also) an Ed25519 key is refused with the field named.
    """
    with pytest.raises(PolicyError, match="seal_form: a micro seal carries an HMAC"):
        LabelPolicy(producer=PRODUCER, signing_key=SEED, seal_form="micro")
    with pytest.raises(PolicyError, match="seal_form"):
        LabelPolicy(producer=PRODUCER, key=KEY, signing_key=SEED, seal_form="micro")


def test_labeling_an_own_micro_sealed_text_again_changes_nothing() -> None:
    """
    One implicit label per content: the same labeler returns the text and metadata it issued.
    """
    labeled = AUTO.label(SHORT["zh"])

    again = AUTO.label(labeled.text)

    assert (labeled.text, labeled.metadata) == (again.text, again.metadata)


def test_another_labeler_with_the_key_keeps_the_text_and_its_mark_id() -> None:
    """
    A labeler that did not issue the seal (another process) keeps the text as it is; its metadata is a
    first write whose ProduceID carries the text's mark id, so a resolver still finds the content.
    """
    labeled = AUTO.label(SHORT["en"])
    other = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))

    again = other.label(labeled.text)

    assert (labeled.text, labeled.mark_id, PRODUCER) == (
        again.text,
        again.mark_id,
        again.metadata.content_producer,
    )
    assert again.produce_id != labeled.produce_id


def test_a_micro_seal_is_never_taken_for_an_authentic_packet() -> None:
    """
    A micro seal has no packet MAC: checked as a packet (header, mark id, empty MAC) it fails.
    """
    seal = parse(alphabet.decode_mn(_mark_runs(AUTO.label(SHORT["zh"]).text)[0]) or b"")

    assert not isinstance(seal, str)
    assert (
        AUTO.verifying_keys().check_packet(bytes([seal.message[0] & 0xCF]) + seal.message[1:5], b"") is False
    )
