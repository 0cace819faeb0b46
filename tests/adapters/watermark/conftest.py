"""
Shared fixtures for the watermark adapters: the o200k tokenizer and a toy model over real prose.
"""

from __future__ import annotations

import pytest
from aigclabel.adapters.watermark.toy_model import ToyLanguageModel
from aigclabel.tokens import get_encoding

from tests.helpers import bench_text

#: o200k_base's logits width (its ranks and special tokens).
O200K_VOCAB = 200_019


@pytest.fixture(scope="session", name="prose_ids")
def _prose_ids() -> list[list[int]]:
    """
    The English and Chinese prose of bench/texts as o200k token ids (one list per text).
    """
    enc = get_encoding("o200k_base")
    return [enc.encode_ordinary(bench_text(name)) for name in ("en_alice", "zh_luxun_nahan")]


@pytest.fixture(scope="session", name="toy_model")
def _toy_model(prose_ids: list[list[int]]) -> ToyLanguageModel:
    """
    The toy model over that prose, with a unigram weight of 0.2 (about 3.5 bits per token).
    """
    return ToyLanguageModel(prose_ids, vocab_size=O200K_VOCAB, mix=0.2)
