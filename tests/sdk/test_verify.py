"""
Tests for verify(): statuses, tiers, excerpts, Ed25519 seals and hostile input.
"""

from __future__ import annotations

import random

import pytest
from aigclabel import (
    KeyMaterialError,
    LabeledText,
    Labeler,
    LabelPolicy,
    MappingResolver,
    Verdict,
    canonical_text,
    verify,
)
from aigclabel.marks import alphabet
from aigclabel.marks.keys import SigningKeys
from aigclabel.marks.packet import build_packet
from aigclabel.tokens import count_tokens
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import assume, given
from hypothesis import strategies as st

from tests import strategies
from tests.helpers import KEY, PRODUCER, bench_text

LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
OTHER_KEY = "7c1e9a3f5b2d8e604a9c1f3e5d7b9a20"
EXCERPT_TOKENS = LABELER.policy.excerpt_tokens
TEXT = "人工智能模型给出的回答：今天北京晴，最高气温 25 度。Please bring water."
REPLACEMENTS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789甲乙丙丁"
STATUSES = {"intact", "valid", "unverified", "tampered", "forged", "corrupt", "not_found"}


@pytest.fixture(name="labeled")
def _labeled() -> LabeledText:
    """
    A short labeled answer, mixed Chinese and English, under a full seal (producer and
    ProduceID in the text; the default gives a text this short a micro seal).
    """
    return LABELER.label(TEXT)


@pytest.fixture(name="long_labeled", scope="module")
def _long_labeled() -> dict[str, LabeledText]:
    """
    The two long prose samples, labeled once per module.
    """
    return {name: LABELER.label(bench_text(name)) for name in ("en_alice", "zh_luxun_nahan")}


def _packet_text(secret: bytes, mark_id: int = 0x01020304) -> str:
    packet = build_packet("1", mark_id, SigningKeys(secret=secret, private=None, slot=0))
    return "Some words " + alphabet.encode_mn(packet) + "and more words."


def test_recovers_metadata_exactly(labeled: LabeledText) -> None:
    """
    With the key, verify() is intact/confirmed and rebuilds the producer's metadata field for field.
    """
    verdict = verify(labeled.text, key=KEY)

    assert ("confirmed", "1", "intact") == (verdict.tier, verdict.label, verdict.status)
    assert labeled.metadata == verdict.metadata
    assert (labeled.mark_id, labeled.produce_id) == (verdict.mark_id, verdict.produce_id)


def test_without_key_is_unverified_but_confirmed(labeled: LabeledText) -> None:
    """
    Without a key the seal is read (producer, ProduceID) but not authenticated: unverified, tier confirmed.
    """
    verdict = verify(labeled.text)

    assert ("confirmed", "unverified") == (verdict.tier, verdict.status)
    assert verdict.metadata is not None
    assert (PRODUCER, labeled.produce_id) == (verdict.metadata.content_producer, verdict.metadata.produce_id)


def test_without_key_reserved_code1_is_empty(labeled: LabeledText) -> None:
    """
    Without a key the integrity record cannot be rebuilt and is left empty rather than invented.
    """
    metadata = verify(labeled.text).metadata

    assert metadata is not None
    assert "" == metadata.reserved_code1


def test_wrong_key_is_forged(labeled: LabeledText) -> None:
    """
    A readable mark whose MAC fails under the given key is forged, not "none".
    """
    verdict = verify(labeled.text, key=OTHER_KEY)

    assert ("forged", "suspected") == (verdict.status, verdict.tier)


def test_key_rotation_list(labeled: LabeledText) -> None:
    """
    Several keys may be given; the right one among them verifies.
    """
    assert "intact" == verify(labeled.text, key=[OTHER_KEY, KEY]).status


def test_short_verification_key_raises(labeled: LabeledText) -> None:
    """
    An unusable key is a caller error, raised as KeyMaterialError.
    """
    with pytest.raises(KeyMaterialError):
        verify(labeled.text, key="short")


def test_verify_rejects_bytes() -> None:
    """
    verify() takes str only.
    """
    with pytest.raises(TypeError, match="UTF-8"):
        verify(b"text")  # type: ignore[arg-type]


@given(strategies.prose, st.data())
def test_one_letter_edit_is_tampered(text: str, data: st.DataObject) -> None:
    """
    Replacing any bound letter or digit of the visible text with a different one makes the seal tampered.

    Letters inside markup (HTML tags, link destinations) are outside the canonical form by design.
    """
    labeled = LABELER.label(text).text
    letters = [i for i, c in enumerate(labeled) if c.isalnum()]
    i = data.draw(st.sampled_from(letters))
    new = data.draw(
        st.sampled_from(REPLACEMENTS).filter(lambda c: canonical_text(c) != canonical_text(labeled[i]))
    )
    edited = labeled[:i] + new + labeled[i + 1 :]
    assume(canonical_text(edited) != canonical_text(labeled))

    assert ("tampered", "confirmed") == (verify(edited, key=KEY).status, verify(edited, key=KEY).tier)


@pytest.mark.parametrize(
    ("old", "new"), [("北京", "上海"), ("25", "35"), ("water", "juice"), ("Please ", "Please do not ")]
)
def test_word_edit_is_tampered(labeled: LabeledText, old: str, new: str) -> None:
    """
    Replacing or inserting a word in the visible text makes the seal tampered.
    """
    assert "tampered" == verify(labeled.text.replace(old, new, 1), key=KEY).status


def test_deleting_the_explicit_label_is_tampered(labeled: LabeledText) -> None:
    """
    Removing the visible label (keeping the marks) is detected.
    """
    assert "tampered" == verify(labeled.text.replace("本内容由人工智能生成", ""), key=KEY).status


@pytest.mark.parametrize(
    ("old", "new"), [("，", ","), ("。", "."), (" ", "   "), ("\n\n", "\n"), ("：", ": ")]
)
def test_punctuation_and_spacing_edits_stay_intact(labeled: LabeledText, old: str, new: str) -> None:
    """
    Punctuation width and spacing are not bound by the seal: still intact.
    """
    assert "intact" == verify(labeled.text.replace(old, new), key=KEY).status


def test_case_change_is_tampered(labeled: LabeledText) -> None:
    """
    Letter case is bound: upper-casing a word is an edit.
    """
    assert "tampered" == verify(labeled.text.replace("water", "WATER"), key=KEY).status


@pytest.fixture(name="excerpt_sources", scope="module")
def _excerpt_sources() -> dict[tuple[str, int], LabeledText]:
    """
    The long prose samples labeled under two excerpt guarantees.
    """
    return {
        (name, tokens): Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=tokens)).label(
            bench_text(name)
        )
        for name in ("en_alice", "zh_luxun_nahan")
        for tokens in (EXCERPT_TOKENS, 200)
    }


@pytest.mark.parametrize("tokens", [EXCERPT_TOKENS, 200])
@pytest.mark.parametrize("name", ["en_alice", "zh_luxun_nahan"])
@given(data=st.data())
def test_excerpts_of_documented_length_carry_a_valid_packet(
    excerpt_sources: dict[tuple[str, int], LabeledText], name: str, tokens: int, data: st.DataObject
) -> None:
    """
    Any excerpt of at least excerpt_tokens tokens (marks included) holds a valid packet that a
    resolver maps to the ProduceID.
    """
    labeled = excerpt_sources[name, tokens]
    text = labeled.text
    body_end = text.rindex("\n\n")  # the end label and the seal follow
    start = data.draw(st.integers(0, body_end - 1))
    assume(count_tokens(text[start:body_end]) >= tokens)
    lo, hi = start + 1, body_end
    while lo < hi:  # the shortest excerpt from start with at least `tokens` tokens
        mid = (lo + hi) // 2
        if count_tokens(text[start:mid]) >= tokens:
            hi = mid
        else:
            lo = mid + 1
    excerpt = text[start:hi]
    assert count_tokens(excerpt) >= tokens

    verdict = verify(excerpt, key=KEY, resolver=MappingResolver([labeled]))

    assert ("valid", labeled.mark_id, "confirmed") == (verdict.status, verdict.mark_id, verdict.tier)
    assert (labeled.produce_id, labeled.metadata) == (verdict.produce_id, verdict.metadata)


def test_excerpt_without_resolver_has_mark_id_only(long_labeled: dict[str, LabeledText]) -> None:
    """
    Without a resolver an excerpt yields its mark id but no ProduceID or metadata.
    """
    labeled = long_labeled["en_alice"]
    verdict = verify(labeled.text[2000:8000], key=KEY)

    assert ("valid", labeled.mark_id, None, None) == (
        verdict.status,
        verdict.mark_id,
        verdict.produce_id,
        verdict.metadata,
    )


def test_resolver_mapping_is_accepted(long_labeled: dict[str, LabeledText]) -> None:
    """
    A plain mapping from mark id to metadata works as a resolver.
    """
    labeled = long_labeled["en_alice"]
    verdict = verify(labeled.text[2000:8000], key=KEY, resolver={labeled.mark_id: labeled.metadata})

    assert labeled.produce_id == verdict.produce_id


def test_resolver_record_for_another_mark_is_ignored(long_labeled: dict[str, LabeledText]) -> None:
    """
    A resolver record whose ProduceID belongs to another mark id is not trusted.
    """
    labeled = long_labeled["en_alice"]
    other = long_labeled["zh_luxun_nahan"].metadata
    verdict = verify(labeled.text[2000:8000], key=KEY, resolver={labeled.mark_id: other})

    assert (None, None) == (verdict.metadata, verdict.produce_id)


def test_excerpt_without_key_is_unverified(long_labeled: dict[str, LabeledText]) -> None:
    """
    Packets read without a key are unverified, tier confirmed.
    """
    verdict = verify(long_labeled["en_alice"].text[2000:8000])

    assert ("unverified", "confirmed") == (verdict.status, verdict.tier)


def test_mapping_resolver_rejects_foreign_produce_id() -> None:
    """
    MappingResolver only accepts ProduceIDs made by this package (they carry the mark id).
    """
    from aigclabel import AIGCMetadata

    with pytest.raises(ValueError, match="ProduceID"):
        MappingResolver([AIGCMetadata.first_write(producer=PRODUCER, produce_id="not-ours")])


@pytest.fixture(name="signer")
def _signer() -> Labeler:
    """
    A labeler that signs its seals with Ed25519 (no HMAC secret).
    """
    return Labeler(LabelPolicy(producer=PRODUCER, signing_key=SEED))


def test_ed25519_seal_verifies_with_public_key(signer: Labeler) -> None:
    """
    An Ed25519-signed label verifies intact with the labeler's public key, and ReservedCode1 says Ed25519.
    """
    labeled = signer.label(TEXT)
    verdict = verify(labeled.text, public_key=signer.public_key)

    assert ("intact", "confirmed") == (verdict.status, verdict.tier)
    assert labeled.metadata == verdict.metadata
    assert verdict.metadata is not None
    assert verdict.metadata.reserved_code1.startswith("SD2.Ed25519.0.")


def test_ed25519_public_key_as_hex(signer: Labeler) -> None:
    """
    The public key may be given as 64 hex characters.
    """
    assert signer.public_key is not None
    assert "intact" == verify(signer.label(TEXT).text, public_key=signer.public_key.hex()).status


def test_ed25519_other_public_key_is_forged(signer: Labeler) -> None:
    """
    Verifying with another public key gives forged.
    """
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    assert "forged" == verify(signer.label(TEXT).text, public_key=other).status


def test_ed25519_without_key_is_unverified(signer: Labeler) -> None:
    """
    Without the public key a signed seal is read but unverified.
    """
    assert "unverified" == verify(signer.label(TEXT).text).status


def test_ed25519_edit_is_tampered(signer: Labeler) -> None:
    """
    Editing a signed text is tampered.
    """
    edited = signer.label(TEXT).text.replace("北京", "上海")

    assert "tampered" == verify(edited, public_key=signer.public_key).status


def test_hmac_labeler_has_no_public_key(labeler: Labeler) -> None:
    """
    Without a signing key there is no public key.
    """
    assert labeler.public_key is None


@pytest.mark.parametrize(
    "text", ["", "plain text without any label", "纯文本，没有任何标识。", "❤\ufe0f 👨\u200d👩\u200d👧"]
)
def test_unmarked_text_is_none(text: str) -> None:
    """
    Text without marks or label phrases is tier none, status not_found.
    """
    verdict = verify(text, key=KEY)

    assert ("none", None, "not_found", False) == (
        verdict.tier,
        verdict.label,
        verdict.status,
        verdict.labeled,
    )


@pytest.mark.parametrize("phrase", ["本内容由人工智能生成", "AI生成", "This answer is AI-generated content."])
def test_explicit_phrase_only_is_suspected(phrase: str) -> None:
    """
    An explicit label phrase without marks is tier suspected (Art. 6 case 3), Label "3".
    """
    verdict = verify(phrase, key=KEY)

    assert ("suspected", "3", "not_found") == (verdict.tier, verdict.label, verdict.status)
    assert 1 == len(verdict.evidence.explicit)


def test_foreign_key_packet_is_forged() -> None:
    """
    A packet with a valid CRC made under another key is forged under ours.
    """
    assert "forged" == verify(_packet_text(b"a different secret key"), key=KEY).status


def test_foreign_key_packet_without_key_is_unverified() -> None:
    """
    The same packet without a key is structurally valid but unverified.
    """
    assert "unverified" == verify(_packet_text(b"a different secret key")).status


def test_own_packet_is_valid() -> None:
    """
    A packet made under our key alone (no seal) is valid with its mark id.
    """
    verdict = verify(_packet_text(KEY.encode()), key=KEY)

    assert ("valid", "01020304") == (verdict.status, verdict.mark_id)


def test_forged_packets_do_not_outvote_a_valid_one() -> None:
    """
    Forged packets next to an authentic one: the authentic mark id is reported as valid.
    """
    text = _packet_text(b"a different secret key", 0xAAAAAAAA) * 3 + _packet_text(KEY.encode(), 0x01020304)
    verdict = verify(text, key=KEY)

    assert ("valid", "01020304") == (verdict.status, verdict.mark_id)


@pytest.mark.parametrize("encode", [alphabet.encode_mn, alphabet.encode_cf])
def test_truncated_packet_is_corrupt(encode: object) -> None:
    """
    A packet cut in half is counted as a corrupt run; status corrupt, nothing raised.
    """
    packet = build_packet("1", 0x01020304, SigningKeys(secret=KEY.encode(), private=None, slot=0))
    run = encode(packet)  # type: ignore[operator]
    verdict = verify("Some words " + run[: len(run) // 2] + "more words.", key=KEY)

    assert ("corrupt", "suspected") == (verdict.status, verdict.tier)


def test_flipped_bit_is_corrupt_not_forged() -> None:
    """
    One changed character in a packet fails the CRC: corrupt, not forged.
    """
    packet = build_packet("1", 0x01020304, SigningKeys(secret=KEY.encode(), private=None, slot=0))
    run = alphabet.encode_mn(packet)
    bad = run[:5] + ("\ufe01" if run[5] != "\ufe01" else "\ufe02") + run[6:]

    assert "corrupt" == verify("Some words " + bad + "more.", key=KEY).status


def test_seal_cut_in_half_leaves_packets(long_labeled: dict[str, LabeledText]) -> None:
    """
    With the seal cut in half, the packets still give a valid verdict.
    """
    text = long_labeled["en_alice"].text
    seal_at = text.rindex(alphabet.CGJ)
    cut = text[: seal_at + (len(text) - seal_at) // 2]

    assert "valid" == verify(cut, key=KEY).status


def _assert_answer(verdict: Verdict) -> None:
    assert isinstance(verdict, Verdict)
    assert verdict.status in STATUSES


@pytest.mark.parametrize(
    ("junk", "status"),
    [
        ("\ufe00" * 1_000_000, "corrupt"),
        ("\u200b" * 1_000_000, "corrupt"),
        ("x" + "\u034f\ufe01\ufe02\ufe03\ufe04 " * 150_000, "corrupt"),
        ("\ufeff" * 500_000, "not_found"),
        ("a\u2060" * 300_000, "not_found"),
    ],
)
def test_megabytes_of_invisible_characters(junk: str, status: str) -> None:
    """
    Megabytes of selectors or zero-width characters give a precise status and never raise.
    """
    verdict = verify("开头" + junk + "结尾", key=KEY)

    _assert_answer(verdict)
    assert status == verdict.status


def test_too_many_runs_are_counted_and_noted() -> None:
    """
    Beyond the decoding cap, further runs are counted and a note says so.
    """
    verdict = verify("\u034f\ufe01\ufe02\ufe03\ufe04 " * 150_000, key=KEY)

    assert 150_000 == verdict.evidence.mn.runs
    assert any("not decoded" in note for note in verdict.evidence.notes)


def test_two_megabytes_of_adversarial_selectors_completes() -> None:
    """
    2 MB of random selectors, joiners and zero-width characters in random runs is answered.
    """
    rng = random.Random(45438)
    pool = alphabet.VS_ALPHABET + alphabet.CF_ALPHABET + alphabet.CGJ + "\ufeff a中"
    junk = "".join(rng.choices(pool, weights=[4] * 16 + [4] * 4 + [3, 1, 1, 1, 1], k=700_000))

    _assert_answer(verify(junk, key=KEY))


@given(strategies.any_text)
def test_verify_never_raises(text: str) -> None:
    """
    verify() answers for any text.
    """
    _assert_answer(verify(text, key=KEY))


def test_to_dict_is_json_ready(labeled: LabeledText) -> None:
    """
    Verdict.to_dict() serialises to JSON with the Annex E keys.
    """
    import json

    data = json.loads(json.dumps(verify(labeled.text, key=KEY).to_dict()))

    assert ("intact", PRODUCER) == (data["status"], data["metadata"]["ContentProducer"])


@pytest.mark.parametrize(
    "text",
    [
        "See the docs at <https://example.com/guide> for details.",
        "Mail <me@example.com> today.",
        "Here is a chart ![sales chart](https://x.com/a.png) for you.",
        "Read [the guide][g] now.\n\n[g]: https://example.com/guide",
    ],
)
def test_markdown_render_of_links_and_images_stays_intact(text: str) -> None:
    """
    Autolinks, images and reference links render differently from their source; the seal still holds.
    """
    from bs4 import BeautifulSoup
    from markdown_it import MarkdownIt

    labeled = Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label(
        "\n\n".join([text] * 3), text_format="markdown"
    )
    rendered = BeautifulSoup(MarkdownIt().render(labeled.text), "html.parser").get_text()

    assert "intact" == verify(rendered, key=KEY).status


def test_lone_surrogate_is_labeled_not_an_error() -> None:
    """
    A lone surrogate (legal in a JSON string) is labeled and verifies.
    """
    labeled = Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label("half \ud83d of an emoji")

    assert "intact" == verify(labeled.text, key=KEY).status
