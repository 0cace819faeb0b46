"""
End to end at o200k's width: toy-model text generated through the llama.cpp processor is detected at
the documented threshold, human prose is not, and the p-values on human prose are uniform.
"""

from __future__ import annotations

import numpy as np
import pytest
from aigclabel.adapters.watermark.llama_cpp import WatermarkLogitsProcessor
from aigclabel.adapters.watermark.toy_model import ToyLanguageModel
from aigclabel.tokens import get_encoding
from aigclabel.watermark import DEFAULT_THRESHOLD, WatermarkDetector, derive_profile, tiktoken_tokenizer
from scipy import stats

from tests.adapters.watermark.conftest import O200K_VOCAB
from tests.helpers import KEY

OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SCHEMES = ("green_list", "gumbel")


def _detector(scheme: str, key: str = KEY) -> WatermarkDetector:
    profile = derive_profile(key, scheme=scheme, vocab_size=O200K_VOCAB)  # type: ignore[arg-type]
    return WatermarkDetector([profile], tiktoken_tokenizer("o200k_base"))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_toy_model_text_is_detected_after_decoding(toy_model: ToyLanguageModel, scheme: str) -> None:
    """
    200 tokens sampled at temperature 1 through the processor, decoded to text and tokenised
    again, are significant at the default threshold; the same key in another scheme's detector
    or another key finds nothing.
    """
    profile = derive_profile(KEY, scheme=scheme, vocab_size=O200K_VOCAB)  # type: ignore[arg-type]
    enc = get_encoding("o200k_base")
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        sample = toy_model.generate(200, rng=rng, logits_processor=WatermarkLogitsProcessor(profile, rng=rng))
        text = enc.decode(list(sample.tokens))
        found = _detector(scheme).detect(text)
        assert found.significant
        assert found.threshold == DEFAULT_THRESHOLD
        assert not _detector(scheme, OTHER_KEY).detect(text).significant


def test_human_prose_is_not_detected_and_its_p_values_are_uniform(prose_ids: list[list[int]]) -> None:
    """
    No disjoint 100-token window of the English and Chinese prose is significant under either
    scheme, and the windows' gumbel p-values pass a Kolmogorov–Smirnov test against U(0, 1).
    """
    windows = [doc[i : i + 100] for doc in prose_ids for i in range(0, len(doc) - 100, 100)]
    gumbel_p = []
    for scheme in SCHEMES:
        detector = _detector(scheme)
        found = [detector.detect(w) for w in windows]
        assert not any(e.significant for e in found)
        if scheme == "gumbel":
            gumbel_p = [e.p_value for e in found]
    assert len(gumbel_p) > 200
    assert stats.kstest(gumbel_p, "uniform").pvalue > 0.01
