"""
Generation-time functions: the green list is a keyed γ fraction that gets exactly δ; Gumbel-max
choices are distributed as the model's probabilities over keys (distortion-free) and skip the
watermark at a repeated context.
"""

from __future__ import annotations

import numpy as np
import pytest
from aigclabel.watermark import (
    VocabularyError,
    WatermarkError,
    WatermarkTypeError,
    context_repeated,
    derive_profile,
    generation_context,
    green_list_bias,
    green_mask,
    gumbel_choice,
    gumbel_uniforms,
    vllm_profile,
)
from scipy import stats

from tests.helpers import KEY

GREEN = derive_profile(KEY, scheme="green_list", vocab_size=50_000)
GUMBEL = derive_profile(KEY, scheme="gumbel", vocab_size=50_000)


def test_green_fraction_is_gamma() -> None:
    """About γ of the vocabulary is green after any context."""
    fractions = [float(green_mask(GREEN, [t]).mean()) for t in (0, 1, 49_999)]
    assert np.allclose(fractions, 0.25, atol=0.01)


def test_green_list_depends_on_the_previous_token() -> None:
    """Another previous token gives another green list."""
    assert not np.array_equal(green_mask(GREEN, [5]), green_mask(GREEN, [6]))


def test_bias_adds_delta_to_green_tokens_only() -> None:
    """green_list_bias returns a new array: logits + δ on the green ids, unchanged elsewhere."""
    logits = np.random.default_rng(1).normal(size=GREEN.vocab_size).astype(np.float32)
    before = logits.copy()
    biased = green_list_bias(GREEN, [17, 42], logits)
    mask = green_mask(GREEN, [17, 42])
    assert np.array_equal(before, logits)
    assert biased.dtype == logits.dtype
    assert np.allclose(biased[mask], logits[mask] + 2.0)
    assert np.array_equal(biased[~mask], logits[~mask])


def test_context_is_the_last_generated_tokens_padded() -> None:
    """The context holds the last context_width generated ids, -1 before the first one."""
    assert (-1, -1, -1, -1) == generation_context(GUMBEL, [])
    assert (-1, -1, 7, 8) == generation_context(GUMBEL, [7, 8])
    assert (2, 3, 4, 5) == generation_context(GUMBEL, [1, 2, 3, 4, 5])


def test_gumbel_choice_is_distortion_free_over_keys() -> None:
    """Over 3000 keys the chosen tokens follow the model's distribution (chi-square, fixed keys)."""
    probs = np.array([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.02, 0.0])
    counts = np.zeros(len(probs))
    for key in range(3000):
        profile = vllm_profile(key * 0x9E3779B97F4A7C15 % 2**64, vocab_size=len(probs))
        counts[gumbel_choice(profile, [3, 1, 4], probs)] += 1
    assert 0 == counts[-1]  # a zero probability is never chosen
    _, p_value = stats.chisquare(counts[:-1], probs[:-1] * 3000)
    assert p_value > 1e-3


def test_gumbel_choice_is_the_argmax_of_r_to_the_power_one_over_p() -> None:
    """The choice maximises r_i ** (1 / p_i) for the keyed uniforms r."""
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.full(GUMBEL.vocab_size, 0.1))
    r = gumbel_uniforms(GUMBEL, [9, 9, 1])
    with np.errstate(divide="ignore"):
        expected = int(np.argmax(np.log(r) / probs))
    assert expected == gumbel_choice(GUMBEL, [9, 9, 1], probs)


def test_repeated_context_draws_without_the_watermark() -> None:
    """At a context already seen in this response the token comes from the caller's generator."""
    generated = [5, 6, 7, 8, 1, 5, 6, 7, 8]  # the context (5, 6, 7, 8) preceded the token 1
    assert context_repeated(GUMBEL, generated)
    assert not context_repeated(GUMBEL, generated[:5])
    probs = np.zeros(GUMBEL.vocab_size)
    probs[[10, 11]] = 0.5
    draws = {gumbel_choice(GUMBEL, generated, probs, rng=np.random.default_rng(s)) for s in range(40)}
    assert {10, 11} == draws  # keyed choice would be one fixed token


def test_bad_scores_raise_clear_errors() -> None:
    """Wrong width, type, scheme or probabilities raise WatermarkError subclasses."""
    with pytest.raises(VocabularyError):
        green_list_bias(GREEN, [], np.zeros(10))
    with pytest.raises(WatermarkTypeError):
        green_list_bias(GREEN, [], [0.0] * GREEN.vocab_size)  # type: ignore[arg-type]
    with pytest.raises(WatermarkError, match="green_list"):
        green_list_bias(GUMBEL, [], np.zeros(GUMBEL.vocab_size))
    with pytest.raises(WatermarkError, match="not all zero"):
        gumbel_choice(GUMBEL, [], np.zeros(GUMBEL.vocab_size))
    with pytest.raises(VocabularyError):
        gumbel_choice(GUMBEL, [GUMBEL.vocab_size], np.ones(GUMBEL.vocab_size))
