"""
The detector: watermarked sequences are detected at the default threshold by 200 tokens, text
under another key and unwatermarked text are not, p-values are uniform under the null (KS),
short input says "too short to tell", bad input raises clear errors, and time grows linearly.

Watermarked sequences come from the core itself with a synthetic model: at each step the
next-token distribution over 1000 ids is a Dirichlet(0.01) draw squared and renormalised (mean
entropy about 1.9 nats per token), sampled through :func:`gumbel_choice` or through
:func:`green_list_bias` then ordinary sampling at temperature 1. Seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from aigclabel import AIGCLabelError
from aigclabel.watermark import (
    DEFAULT_MIN_TOKENS,
    DEFAULT_THRESHOLD,
    VocabularyError,
    WatermarkDetector,
    WatermarkError,
    WatermarkProfile,
    WatermarkTypeError,
    binomial_tail,
    derive_profile,
    green_list_bias,
    green_threshold,
    gumbel_choice,
    hf_tokenizer,
    tiktoken_tokenizer,
)
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from tests.growth import assert_linear
from tests.helpers import KEY

VOCAB = 1000
OTHER_KEY = "9f1c3e5a7b2d4f6081a3c5e7f9b1d3e5"


class IdTokenizer:
    """Text of space-separated decimal ids (for tests that score ids through the text path)."""

    vocab_size = VOCAB

    def encode(self, text: str) -> list[int]:
        return [int(t) for t in text.split()]


def profile_for(scheme: str, secret: str = KEY) -> WatermarkProfile:
    return derive_profile(secret, scheme=scheme, vocab_size=VOCAB)  # type: ignore[arg-type]


def next_token_probs(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    p = rng.dirichlet(np.full(VOCAB, 0.01)) ** 2
    return p / p.sum()


def generate(profile: WatermarkProfile, n: int, seed: int) -> list[int]:
    """n tokens of the synthetic model, watermarked with *profile*."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for _ in range(n):
        probs = next_token_probs(rng)
        if profile.scheme == "gumbel":
            out.append(gumbel_choice(profile, out, probs, rng=rng))
        else:
            with np.errstate(divide="ignore"):
                logits = green_list_bias(profile, out, np.log(probs))
            q = np.exp(logits - logits.max())
            out.append(int(rng.choice(VOCAB, p=q / q.sum())))
    return out


def unwatermarked(n: int, seed: int) -> list[int]:
    """n tokens of the same synthetic model without a watermark."""
    rng = np.random.default_rng(seed)
    return [int(rng.choice(VOCAB, p=next_token_probs(rng))) for _ in range(n)]


@pytest.fixture(name="gumbel_texts", scope="module")
def _gumbel_texts() -> list[list[int]]:
    return [generate(profile_for("gumbel"), 200, seed) for seed in range(8)]


@pytest.fixture(name="green_texts", scope="module")
def _green_texts() -> list[list[int]]:
    return [generate(profile_for("green_list"), 200, seed) for seed in range(8)]


@pytest.mark.parametrize("scheme", ["gumbel", "green_list"])
def test_watermarked_sequences_are_detected_by_200_tokens(
    scheme: str, gumbel_texts: list[list[int]], green_texts: list[list[int]]
) -> None:
    """Eight 200-token sequences per scheme are all significant at the default threshold 1e-5."""
    detector = WatermarkDetector([profile_for(scheme)], IdTokenizer())
    for tokens in gumbel_texts if scheme == "gumbel" else green_texts:
        evidence = detector.detect(tokens)
        assert evidence.significant, evidence
        assert (scheme, DEFAULT_THRESHOLD, 200) == (
            evidence.scheme,
            evidence.threshold,
            evidence.tokens_scored,
        )


def test_text_path_scores_the_tokenised_text(gumbel_texts: list[list[int]]) -> None:
    """detect(text) tokenises with the detector's tokenizer and scores the same ids."""
    detector = WatermarkDetector([profile_for("gumbel")], IdTokenizer())
    tokens = gumbel_texts[0]
    assert detector.detect(tokens) == detector.detect(" ".join(map(str, tokens)))


@pytest.mark.parametrize("scheme", ["gumbel", "green_list"])
def test_another_key_does_not_detect(
    scheme: str, gumbel_texts: list[list[int]], green_texts: list[list[int]]
) -> None:
    """The same sequences under another provider's key are not significant."""
    detector = WatermarkDetector([profile_for(scheme, OTHER_KEY)], IdTokenizer())
    for tokens in gumbel_texts if scheme == "gumbel" else green_texts:
        assert not detector.detect(tokens).significant


@pytest.mark.parametrize("scheme", ["gumbel", "green_list"])
def test_unwatermarked_model_output_is_not_detected(scheme: str) -> None:
    """Output of the same model sampled without the watermark is not significant."""
    detector = WatermarkDetector([profile_for(scheme)], IdTokenizer())
    for seed in range(5):
        assert not detector.detect(unwatermarked(200, 100 + seed)).significant


def null_profiles(scheme: str) -> list[WatermarkProfile]:
    """400 keys (slots): under the null hypothesis the key, not the text, is what is random."""
    return [derive_profile(KEY, scheme=scheme, vocab_size=VOCAB, slot=i) for i in range(400)]  # type: ignore[arg-type]


def test_gumbel_p_values_are_uniform_under_the_null() -> None:
    """On 400 random 100-token sequences, each under its own key (fixed seed), the p-values pass KS."""
    rng = np.random.default_rng(2026)
    p_values = [
        WatermarkDetector([profile], IdTokenizer()).detect(rng.integers(0, VOCAB, 100)).p_value
        for profile in null_profiles("gumbel")
    ]
    result = stats.kstest(p_values, "uniform")
    assert result.pvalue > 0.01, result


def test_green_list_p_values_are_valid_under_the_null() -> None:
    """
    On 400 random 1000-token sequences, each under its own key, the green-list p-value is never
    too small: P(p <= a) <= a (up to sampling error), and its randomised form, uniform for a
    discrete statistic, passes KS.
    """
    rng = np.random.default_rng(2026)
    p_values, randomised = [], []
    for profile in null_profiles("green_list"):
        evidence = WatermarkDetector([profile], IdTokenizer()).detect(rng.integers(0, VOCAB, 1000))
        k, n = int(evidence.score), evidence.tokens_scored
        q = green_threshold(profile.gamma) / 2**32
        above, at_or_above = binomial_tail(k + 1, n, q), binomial_tail(k, n, q)
        assert evidence.p_value == pytest.approx(at_or_above, rel=1e-12)
        p_values.append(evidence.p_value)
        randomised.append(above + rng.random() * (at_or_above - above))
    for alpha in (0.01, 0.05, 0.1, 0.25, 0.5):
        assert np.mean(np.asarray(p_values) <= alpha) <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / 400)
    result = stats.kstest(randomised, "uniform")
    assert result.pvalue > 0.01, result


def test_too_short_is_never_significant(gumbel_texts: list[list[int]]) -> None:
    """Below min_tokens the evidence says too_short, however small the p-value."""
    detector = WatermarkDetector([profile_for("gumbel")], IdTokenizer())
    evidence = detector.detect(gumbel_texts[0][:20])
    assert evidence.too_short
    assert not evidence.significant
    assert evidence.p_value < 1e-2  # the watermark is there, the text is just short
    assert DEFAULT_MIN_TOKENS == evidence.min_tokens
    assert not detector.detect(gumbel_texts[0][:DEFAULT_MIN_TOKENS]).too_short


def test_bonferroni_multiplies_by_the_profiles_tried(gumbel_texts: list[list[int]]) -> None:
    """With three profiles the best one is reported and its p-value is multiplied by 3."""
    profiles = [profile_for("green_list"), profile_for("gumbel", OTHER_KEY), profile_for("gumbel")]
    evidence = WatermarkDetector(profiles, IdTokenizer()).detect(gumbel_texts[1][:60])
    assert (3, "gumbel", profile_for("gumbel").key_id) == (
        evidence.profiles_tried,
        evidence.scheme,
        evidence.key_id,
    )
    assert evidence.p_value == pytest.approx(min(1.0, 3 * evidence.p_raw), rel=1e-12)
    assert evidence.log10_p == pytest.approx(math.log10(evidence.p_value), rel=1e-9)
    assert evidence.z is None


def test_green_list_evidence_has_a_z_score(green_texts: list[list[int]]) -> None:
    """green_list evidence reports the green count as score and its z-score."""
    evidence = WatermarkDetector([profile_for("green_list")], IdTokenizer()).detect(green_texts[0])
    assert evidence.z is not None
    assert evidence.z == pytest.approx((evidence.score - 50) / math.sqrt(37.5), rel=1e-3)


def test_repeated_contexts_are_scored_once() -> None:
    """A text that repeats itself is scored on its first occurrence only; the rest is dropped."""
    detector = WatermarkDetector([profile_for("gumbel")], IdTokenizer())
    looped = [1, 2, 3, 4, 5, 6, 7, 8] * 10
    evidence = detector.detect(looped)
    assert (12, 68) == (evidence.tokens_scored, evidence.tokens_dropped)  # 4 start contexts + 8 in the loop


def test_p_value_underflow_keeps_log10_p() -> None:
    """A long watermarked sequence has p = 0.0 in float but a finite log10_p."""
    tokens = generate(profile_for("gumbel"), 2000, 7)
    evidence = WatermarkDetector([profile_for("gumbel")], IdTokenizer()).detect(tokens)
    assert evidence.significant
    assert math.isfinite(evidence.log10_p)
    assert evidence.log10_p < -50


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", WatermarkError),
        ([], WatermarkError),
        (b"12 13", WatermarkTypeError),
        ([1.5, 2.0], WatermarkTypeError),
        ([[1, 2], [3, 4]], WatermarkTypeError),
        (12, WatermarkTypeError),
        ([-1, 3], VocabularyError),
        ([VOCAB], VocabularyError),
        (np.array([2**63], dtype=np.uint64), VocabularyError),
    ],
)
def test_bad_input_raises_a_clear_error(value: object, error: type[Exception]) -> None:
    """Empty, mistyped or out-of-vocabulary input raises an AIGCLabelError subclass."""
    detector = WatermarkDetector([profile_for("gumbel")], IdTokenizer())
    with pytest.raises(error) as raised:
        detector.detect(value)  # type: ignore[arg-type]
    assert isinstance(raised.value, AIGCLabelError)


def test_tokenizer_larger_than_the_vocabulary_is_refused() -> None:
    """A tokenizer with more ids than the profile's vocabulary is not the model's: VocabularyError."""

    class Big(IdTokenizer):
        vocab_size = VOCAB + 1

    with pytest.raises(VocabularyError, match="not the model's tokenizer"):
        WatermarkDetector([profile_for("gumbel")], Big())


@pytest.mark.parametrize(
    ("profiles", "tokenizer", "options", "error"),
    [
        ([], IdTokenizer(), {}, WatermarkError),
        (["not a profile"], IdTokenizer(), {}, WatermarkTypeError),
        (None, IdTokenizer(), {}, WatermarkTypeError),
        ([profile_for("gumbel")], object(), {}, WatermarkTypeError),
        ([profile_for("gumbel")], IdTokenizer(), {"threshold": 0.0}, WatermarkError),
        ([profile_for("gumbel")], IdTokenizer(), {"min_tokens": 0}, WatermarkError),
    ],
)
def test_bad_detector_settings_raise(
    profiles: object, tokenizer: object, options: dict[str, float], error: type
) -> None:
    """No profile, a non-profile, a non-tokenizer, a bad threshold or minimum raise clear errors."""
    with pytest.raises(error):
        WatermarkDetector(profiles, tokenizer, **options)  # type: ignore[arg-type]


def test_a_single_profile_is_accepted() -> None:
    """A profile not wrapped in a list is one profile."""
    assert 1 == len(WatermarkDetector(profile_for("gumbel"), IdTokenizer()).profiles)


def test_hf_tokenizer_drives_detection_of_text(gumbel_texts: list[list[int]]) -> None:
    """With a Hugging Face WordLevel tokenizer, a watermarked text (not ids) is detected."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    words = [f"w{i}" for i in range(VOCAB)]
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="w0"))
    tok.pre_tokenizer = WhitespaceSplit()
    text = " ".join(words[t] for t in gumbel_texts[2])
    evidence = WatermarkDetector([profile_for("gumbel")], hf_tokenizer(tok)).detect(text)
    assert evidence.significant


@pytest.mark.parametrize("scheme", ["gumbel", "green_list"])
def test_detection_time_grows_linearly(scheme: str) -> None:
    """8x the tokens cost < 20x the time (ratio of medians, not a wall-clock bound)."""
    detector = WatermarkDetector([profile_for(scheme)], IdTokenizer())
    rng = np.random.default_rng(3)
    pool = rng.integers(0, VOCAB, 1 << 21)
    assert_linear(detector.detect, lambda n: pool[:n], base=4096)


O200K = tiktoken_tokenizer("o200k_base")
O200K_DETECTOR = WatermarkDetector(
    [derive_profile(KEY, scheme=s, vocab_size=O200K.vocab_size) for s in ("gumbel", "green_list")], O200K
)


@given(st.text(min_size=1, max_size=300))
def test_any_text_gets_a_valid_answer(text: str) -> None:
    """Any non-empty text gives a p-value in [0, 1] and accounts for every token, scored or dropped."""
    evidence = O200K_DETECTOR.detect(text)
    assert 0.0 <= evidence.p_raw <= evidence.p_value <= 1.0
    assert len(O200K.encode(text)) == evidence.tokens_scored + evidence.tokens_dropped
    assert evidence.too_short == (evidence.tokens_scored < DEFAULT_MIN_TOKENS)
