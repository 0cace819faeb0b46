"""
verify()'s third channel: the statistical watermark, next to the character marks.
"""

from __future__ import annotations

import pytest
from aigclabel import Labeler, LabelPolicy, PolicyError, verify
from aigclabel.watermark import WatermarkDetector

from tests.helpers import PRODUCER
from tests.watermarking import generate, tokenizer

KEY = "c6f1e0a94b7d2358e1f0a9b8c7d6e5f4"
OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def labeler() -> Labeler:
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY, watermark="gumbel"))


@pytest.fixture(scope="module")
def watermarked(labeler: Labeler) -> str:
    return generate(labeler, 200, seed=1)


def test_a_watermark_alone_gives_tier_suspected_with_its_evidence(labeler: Labeler, watermarked: str) -> None:
    verdict = verify(watermarked, key=KEY, watermark=labeler.watermark_detector(tokenizer()))

    assert (verdict.tier, verdict.label, verdict.status) == ("suspected", "3", "not_found")
    ev = verdict.evidence.watermark
    assert ev is not None
    assert ev.significant
    assert ev.scheme == "gumbel"
    assert ev.key_id == labeler.watermark_profile(tokenizer().vocab_size).key_id
    assert ev.p_value <= ev.threshold
    assert ev.tokens_scored >= 150
    assert any("statistical watermark (gumbel" in n for n in verdict.evidence.notes)
    assert verdict.to_dict()["evidence"]["watermark"]["significant"] is True


def test_the_watermark_is_evidence_next_to_intact_marks(labeler: Labeler, watermarked: str) -> None:
    labeled = labeler.label(watermarked).text
    verdict = verify(labeled, key=KEY, watermark=labeler.watermark_detector(tokenizer()))

    assert (verdict.tier, verdict.status) == ("confirmed", "intact")
    assert verdict.evidence.watermark is not None
    assert verdict.evidence.watermark.significant


def test_a_wrong_key_does_not_detect_the_watermark(watermarked: str) -> None:
    stranger = Labeler(LabelPolicy(producer=PRODUCER, key=OTHER_KEY, watermark="gumbel"))
    verdict = verify(watermarked, watermark=stranger.watermark_detector(tokenizer()))

    assert verdict.tier == "none"
    assert verdict.evidence.watermark is not None
    assert not verdict.evidence.watermark.significant


def test_unwatermarked_text_of_the_same_distribution_is_not_flagged(labeler: Labeler) -> None:
    verdict = verify(generate(None, 200, seed=2), watermark=labeler.watermark_detector(tokenizer()))

    assert verdict.tier == "none"
    assert verdict.evidence.watermark is not None
    assert not verdict.evidence.watermark.significant


def test_a_short_text_is_too_short_to_tell_never_unwatermarked(labeler: Labeler) -> None:
    short = generate(labeler, 12, seed=3)
    verdict = verify(short, watermark=labeler.watermark_detector(tokenizer()))

    ev = verdict.evidence.watermark
    assert ev is not None
    assert ev.too_short
    assert not ev.significant
    assert verdict.tier == "none"
    assert any(n.startswith("too short to tell") for n in verdict.evidence.notes)


def test_text_with_nothing_visible_is_not_scored(labeler: Labeler) -> None:
    verdict = verify("  \n", watermark=labeler.watermark_detector(tokenizer()))

    assert verdict.evidence.watermark is None
    assert "no visible text to score for a statistical watermark" in verdict.evidence.notes


def test_a_policy_without_a_watermark_has_no_profile() -> None:
    with pytest.raises(PolicyError, match="watermark"):
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).watermark_profile(1000)


def test_a_signing_only_labeler_derives_its_watermark_from_the_signing_key() -> None:
    seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    one = Labeler(LabelPolicy(producer=PRODUCER, signing_key=seed, watermark="green_list"))
    two = Labeler(LabelPolicy(producer=PRODUCER, signing_key=seed, watermark="green_list", key_id=1))

    assert one.watermark_profile(5000).key_id != two.watermark_profile(5000).key_id
    assert one.watermark_profile(5000) == one.watermark_profile(5000)


def test_verify_refuses_something_that_is_not_a_detector() -> None:
    with pytest.raises(TypeError, match="WatermarkDetector"):
        verify("text", watermark=object())  # type: ignore[arg-type]


def test_detectors_can_be_built_directly_from_profiles(labeler: Labeler, watermarked: str) -> None:
    detector = WatermarkDetector([labeler.watermark_profile(tokenizer().vocab_size)], tokenizer())

    assert verify(watermarked, watermark=detector).tier == "suspected"
