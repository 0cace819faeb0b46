"""
Properties of the numpy processor's pieces, for any logits and sampling settings.
"""

from __future__ import annotations

import numpy as np
from aigclabel.adapters.watermark.llama_cpp import WatermarkLogitsProcessor, warped_probabilities
from aigclabel.adapters.watermark.vllm import watermark_opt_out_fields
from aigclabel.watermark import derive_profile
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.helpers import KEY

VOCAB = 64
LOGITS = hnp.arrays(np.float32, VOCAB, elements=st.floats(-30, 30, width=32))
SETTINGS = st.tuples(st.floats(0.05, 5.0), st.integers(0, VOCAB + 5), st.floats(0.01, 1.0))
GUMBEL = derive_profile(KEY, scheme="gumbel", vocab_size=VOCAB)
GREEN = derive_profile(KEY, scheme="green_list", vocab_size=VOCAB)


def _tiny_apart(at: int) -> np.ndarray:
    # one logit the smallest normal float32 above the others: equal probabilities after exp
    logits = np.zeros(VOCAB, dtype=np.float32)
    logits[at] = np.finfo(np.float32).tiny
    return logits


@given(LOGITS, SETTINGS)
@example(_tiny_apart(32), (1.0, 0, 0.5))
@example(_tiny_apart(0), (1.0, 1, 1.0))
def test_warped_probabilities_are_a_distribution_that_keeps_the_top_token(
    logits: np.ndarray, settings: tuple[float, int, float]
) -> None:
    """
    Non-negative, summing to 1, at most top-k tokens kept, and the most likely token always kept.

    Ties are those of the probabilities, not of the logits: logits a subnormal apart (1e-38 and 0)
    have the same probability, and either may be the one kept.
    """
    temperature, top_k, top_p = settings
    probs = warped_probabilities(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    z = logits.astype(np.float64) / temperature
    unwarped = np.exp(z - z.max())
    assert probs.min() >= 0.0
    assert abs(float(probs.sum()) - 1.0) < 1e-9
    if 0 < top_k < VOCAB:
        cut = np.sort(unwarped)[-top_k]
        assert int((probs > 0).sum()) <= int((unwarped >= cut).sum())
    assert probs[unwarped == unwarped.max()].max() > 0


@given(LOGITS, SETTINGS, st.lists(st.integers(0, VOCAB - 1), max_size=12))
def test_gumbel_processor_leaves_one_finite_logit_among_the_kept_tokens(
    logits: np.ndarray, settings: tuple[float, int, float], history: list[int]
) -> None:
    """
    Whatever the logits, settings and history, exactly one logit stays finite, and it is a token
    the sampling settings keep.
    """
    temperature, top_k, top_p = settings
    processor = WatermarkLogitsProcessor(
        GUMBEL, temperature=temperature, top_k=top_k, top_p=top_p, rng=np.random.default_rng(0)
    )
    out = processor(np.asarray([1, *history], dtype=np.intc), logits)
    finite = np.flatnonzero(np.isfinite(out))
    assert len(finite) == 1
    kept = warped_probabilities(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    assert kept[finite[0]] > 0


@given(LOGITS, st.lists(st.integers(0, VOCAB - 1), max_size=12))
def test_green_list_processor_only_adds_delta(logits: np.ndarray, history: list[int]) -> None:
    """
    The green-list output minus the input is 0 or δ everywhere.
    """
    out = WatermarkLogitsProcessor(GREEN)(np.asarray([1, *history], dtype=np.intc), logits)
    diff = out.astype(np.float64) - logits.astype(np.float64)
    assert np.all(np.isclose(diff, 0.0, atol=1e-5) | np.isclose(diff, GREEN.delta, atol=1e-5))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(["watermarking", "sampling_params", "model", "x"]), JSON, max_size=4))
def test_opt_out_fields_are_exactly_the_present_non_true_switches(body: dict[str, object]) -> None:
    """
    A path is named if and only if it exists and its value is not ``True``.
    """
    expected = []
    if "watermarking" in body and body["watermarking"] is not True:
        expected.append("watermarking")
    params = body.get("sampling_params")
    if isinstance(params, dict) and "watermarking" in params and params["watermarking"] is not True:
        expected.append("sampling_params.watermarking")
    assert watermark_opt_out_fields(body) == expected
