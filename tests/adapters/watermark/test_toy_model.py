"""
The controlled-entropy toy language model used to test and calibrate watermarks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from aigclabel.adapters.watermark.toy_model import ToyLanguageModel

from tests.adapters.watermark.conftest import O200K_VOCAB


def test_distribution_is_normalised_and_zero_outside_the_corpus(
    toy_model: ToyLanguageModel, prose_ids: list[list[int]]
) -> None:
    """
    The next-token probabilities sum to 1 and are 0 for ids the corpus never used.
    """
    probs = toy_model.probabilities(prose_ids[0][:5])
    seen = {t for doc in prose_ids for t in doc}
    unseen = np.array(sorted(set(range(O200K_VOCAB)) - seen)[:1000])
    assert probs.sum() == pytest.approx(1.0)
    assert float(probs[unseen].max()) == 0.0
    assert toy_model.support_size == len(seen)


def test_logits_are_log_probabilities_with_minus_inf_off_support(
    toy_model: ToyLanguageModel, prose_ids: list[list[int]]
) -> None:
    """
    ``logits`` is float32 ``log(probabilities)``; impossible tokens are ``-inf``.
    """
    context = prose_ids[1][:9]
    logits = toy_model.logits(context)
    probs = toy_model.probabilities(context)
    finite = np.isfinite(logits)
    assert logits.dtype == np.float32
    assert np.array_equal(finite, probs > 0)
    np.testing.assert_allclose(np.exp(logits[finite]), probs[finite], rtol=1e-5)


def test_entropy_grows_with_the_unigram_weight(
    toy_model: ToyLanguageModel, prose_ids: list[list[int]]
) -> None:
    """
    More unigram weight, more entropy: ``mix`` is the entropy knob.
    """
    contexts = [prose_ids[0][i : i + 2] for i in range(0, 2000, 50)]
    means = [np.mean([toy_model.with_mix(m).entropy_bits(c) for c in contexts]) for m in (0.0, 0.1, 0.5, 1.0)]
    assert means == sorted(means)
    assert means[-1] > 8.0


def test_with_entropy_reaches_the_requested_bits(
    toy_model: ToyLanguageModel, prose_ids: list[list[int]]
) -> None:
    """
    ``with_entropy(b)`` picks the unigram weight whose mean entropy on corpus contexts is *b*;
    a target outside what the corpus can give raises ValueError.
    """
    model = toy_model.with_entropy(3.0, contexts=300)
    contexts = [doc[i : i + 2] for doc in prose_ids for i in range(0, len(doc) - 2, 37)]
    assert float(np.mean([model.entropy_bits(c) for c in contexts])) == pytest.approx(3.0, abs=0.3)
    assert 0.0 < model.mix < 1.0
    with pytest.raises(ValueError, match="outside"):
        toy_model.with_entropy(30.0, contexts=50)


def test_generation_is_reproducible_and_excludes_the_prompt(toy_model: ToyLanguageModel) -> None:
    """
    The same seed gives the same tokens; the sample holds only generated tokens.
    """
    prompt = [1, 2, 3]
    a = toy_model.generate(50, rng=np.random.default_rng(3), prompt=prompt)
    b = toy_model.generate(50, rng=np.random.default_rng(3), prompt=prompt)
    assert a == b
    assert len(a.tokens) == 50
    assert a.entropy_bits > 0


def test_processor_sees_llama_cpp_arguments_and_steers_sampling(toy_model: ToyLanguageModel) -> None:
    """
    The processor gets ``np.intc`` ids (prompt + tokens so far) and float32 logits of the full
    width, and what it returns is what gets sampled.
    """
    calls: list[tuple[int, str, str, int]] = []

    def only_token_42(ids: npt.NDArray[np.intc], logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        calls.append((len(ids), str(ids.dtype), str(logits.dtype), logits.shape[0]))
        out = np.full_like(logits, -np.inf)
        out[42] = 0.0
        return out

    sample = toy_model.generate(
        5, rng=np.random.default_rng(0), prompt=[7, 8], logits_processor=only_token_42
    )
    assert sample.tokens == (42,) * 5
    assert calls == [(n, "int32", "float32", O200K_VOCAB) for n in range(2, 7)]


def test_bad_corpus_and_settings_are_refused() -> None:
    """
    An empty corpus, an id outside the vocabulary and a weight outside [0, 1] raise ValueError.
    """
    with pytest.raises(ValueError, match="no tokens"):
        ToyLanguageModel([[]], vocab_size=10)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ToyLanguageModel([[1, 2, 10]], vocab_size=10)
    with pytest.raises(ValueError, match="mix"):
        ToyLanguageModel([[1, 2, 3]], vocab_size=10, mix=1.5)
