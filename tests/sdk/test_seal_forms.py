"""
The compact seal: mark id and a MAC over the full text digest, identity from a resolver.
"""

from __future__ import annotations

import pytest
from aigclabel import Labeler, LabelPolicy, PolicyError, verify
from aigclabel.marks import alphabet
from aigclabel.tokens import count_tokens

from tests.helpers import KEY, PRODUCER

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
SHORT = "好的。"
COMPACT = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="compact"))
FULL = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))


def _mark_tokens(text: str) -> int:
    return count_tokens(text, "o200k_base") - count_tokens(alphabet.ANY_MARK_CHAR.sub("", text), "o200k_base")


def test_a_compact_seal_verifies_intact_without_identity() -> None:
    """
    A compact seal vouches for the text (``intact``) but carries no producer or ProduceID.
    """
    labeled = COMPACT.label(SHORT)

    verdict = verify(labeled.text, key=KEY)

    assert ("intact", "confirmed", None) == (verdict.status, verdict.tier, verdict.metadata)
    assert verdict.evidence.seal is not None
    assert ("compact", labeled.mark_id) == (verdict.evidence.seal.form, verdict.mark_id)


def test_a_resolver_supplies_the_identity_of_a_compact_seal() -> None:
    """
    The response's own result (or a record store) resolves the mark id to the full metadata.
    """
    labeled = COMPACT.label(SHORT)

    verdict = verify(labeled.text, key=KEY, resolver=labeled)

    assert (labeled.metadata, labeled.produce_id) == (verdict.metadata, verdict.produce_id)


def test_an_edit_under_a_compact_seal_is_tampered() -> None:
    """
    The compact seal's MAC covers the full text digest like the full seal's.
    """
    labeled = COMPACT.label("剂量为 2.5 mg。")

    assert "tampered" == verify(labeled.text.replace("2.5", "25"), key=KEY).status


def test_a_compact_seal_costs_about_half_the_tokens() -> None:
    """
    On a two-token reply the marks cost 81 + 36 o200k tokens compact against 152 + 36 full (median sizes).
    """
    compact, full = _mark_tokens(COMPACT.label(SHORT).text), _mark_tokens(FULL.label(SHORT).text)

    assert compact < full - 50


def test_a_compact_seal_needs_an_hmac_key_and_no_signing_key() -> None:
    """
    A compact seal carries an HMAC: with only (or also) an Ed25519 key the policy is refused.
    """
    with pytest.raises(PolicyError, match="seal_form"):
        LabelPolicy(producer=PRODUCER, signing_key=SEED, seal_form="compact")
    with pytest.raises(PolicyError, match="seal_form"):
        LabelPolicy(producer=PRODUCER, key=KEY, signing_key=SEED, seal_form="compact")
