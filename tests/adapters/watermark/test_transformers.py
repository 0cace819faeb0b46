"""
The transformers logits processors on a tiny random Llama built from a config (no download),
with a word-level tokenizer made here with the ``tokenizers`` library.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from aigclabel.adapters.watermark.transformers import (
    GreenListLogitsProcessor,
    GumbelLogitsProcessor,
    watermark_logits_processor,
)
from aigclabel.exceptions import MissingDependencyError
from aigclabel.watermark import (
    VocabularyError,
    WatermarkDetector,
    WatermarkError,
    WatermarkProfile,
    derive_profile,
    hf_tokenizer,
)
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList, TopKLogitsWarper

from tests.helpers import KEY, bench_text

OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
NEW_TOKENS = 220
UNK = 0


@pytest.fixture(scope="module", name="tokenizer")
def _tokenizer() -> Tokenizer:
    """
    A word-level tokenizer over the 499 most frequent lowercase words of Alice, plus ``[UNK]``.
    """
    words = Counter(re.findall(r"[a-z]+", bench_text("en_alice").lower()))
    vocab = {"[UNK]": UNK} | {w: i + 1 for i, (w, _) in enumerate(words.most_common(499))}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    return tok


@pytest.fixture(scope="module", autouse=True, name="one_torch_thread")
def _one_torch_thread() -> Iterator[None]:
    """
    torch on one thread for this module (restored after): a model this small gains nothing from
    more, and its thread pool spins badly on a busy 2-core machine (50x slower there).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", name="model")
def _model(tokenizer: Tokenizer) -> LlamaForCausalLM:
    """
    A one-layer Llama with random weights (fixed seed) whose vocabulary is the tokenizer's.
    """
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        initializer_range=0.5,  # spread-out logits: a distribution with some peaks, not uniform
        pad_token_id=UNK,
        bos_token_id=None,
        eos_token_id=None,
    )
    return LlamaForCausalLM(config).eval()


def _profile(scheme: str, vocab: int, key: str = KEY) -> WatermarkProfile:
    return derive_profile(key, scheme=scheme, vocab_size=vocab)  # type: ignore[arg-type]


def _generate(
    model: LlamaForCausalLM,
    tokenizer: Tokenizer,
    processors: list[object],
    *,
    do_sample: bool = True,
    seed: int = 1,
) -> list[list[int]]:
    prompts = ["alice was beginning to get very tired", "the queen said to the king and the"]
    batch = torch.tensor([tokenizer.encode(p).ids[:6] for p in prompts])
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            input_ids=batch,
            attention_mask=torch.ones_like(batch),
            logits_processor=LogitsProcessorList(processors),
            do_sample=do_sample,
            top_k=None,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            suppress_tokens=[UNK],
        )
    rows: list[list[int]] = out[:, batch.shape[1] :].tolist()
    return rows


@pytest.mark.parametrize("scheme", ["green_list", "gumbel"])
def test_generated_text_is_detected_from_ids_and_from_text(
    model: LlamaForCausalLM, tokenizer: Tokenizer, scheme: str
) -> None:
    """
    Every row of a batch generated with the processor is detected, from its token ids and from
    its decoded text re-tokenised.
    """
    vocab = tokenizer.get_vocab_size()
    profile = _profile(scheme, vocab)
    processor = watermark_logits_processor(
        profile, **({"rng": np.random.default_rng(0)} if scheme == "gumbel" else {})
    )
    rows = _generate(model, tokenizer, [processor])
    detector = WatermarkDetector([profile], hf_tokenizer(tokenizer))
    for row in rows:
        assert len(row) == NEW_TOKENS
        assert detector.detect(row).significant
        assert detector.detect(tokenizer.decode(row)).significant


@pytest.mark.parametrize("scheme", ["green_list", "gumbel"])
def test_plain_and_wrong_key_generation_is_not_detected(
    model: LlamaForCausalLM, tokenizer: Tokenizer, scheme: str
) -> None:
    """
    Generation without the processor, or with another key's processor, is not significant.
    """
    vocab = tokenizer.get_vocab_size()
    detector = WatermarkDetector([_profile(scheme, vocab)], hf_tokenizer(tokenizer))
    plain = _generate(model, tokenizer, [])
    foreign = _generate(model, tokenizer, [watermark_logits_processor(_profile(scheme, vocab, OTHER_KEY))])
    for row in plain + foreign:
        evidence = detector.detect(row)
        assert not evidence.significant
        assert not evidence.too_short


def test_gumbel_choice_is_the_same_greedy_or_sampled(model: LlamaForCausalLM, tokenizer: Tokenizer) -> None:
    """
    As the last processor (after the caller's own top-k warper), the gumbel processor decides:
    greedy decoding and sampling give the same tokens.
    """
    profile = _profile("gumbel", tokenizer.get_vocab_size())

    def processors() -> list[object]:
        return [TopKLogitsWarper(top_k=50), GumbelLogitsProcessor(profile, rng=np.random.default_rng(0))]

    greedy = _generate(model, tokenizer, processors(), do_sample=False)
    sampled = _generate(model, tokenizer, processors(), do_sample=True, seed=99)
    assert greedy == sampled


def test_green_list_bias_is_delta_on_green_tokens(tokenizer: Tokenizer) -> None:
    """
    The green-list processor adds exactly δ to about γ of the vocabulary and keeps shape and dtype.
    """
    vocab = tokenizer.get_vocab_size()
    processor = GreenListLogitsProcessor(_profile("green_list", vocab))
    scores = torch.zeros((2, vocab), dtype=torch.bfloat16)
    out = processor(torch.tensor([[1, 2, 3], [4, 5, 6]]), scores)
    assert out.dtype == torch.bfloat16
    assert out.shape == scores.shape
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert 0.15 < float((out[0] > 0).float().mean()) < 0.35


def test_wrong_width_or_scheme_is_refused(tokenizer: Tokenizer) -> None:
    """
    A profile for another vocabulary width raises VocabularyError at the first call; a profile of
    the other scheme raises WatermarkError at construction.
    """
    vocab = tokenizer.get_vocab_size()
    processor = GreenListLogitsProcessor(_profile("green_list", vocab + 8))
    with pytest.raises(VocabularyError):
        processor(torch.tensor([[1, 2]]), torch.zeros((1, vocab)))
    with pytest.raises(WatermarkError):
        GumbelLogitsProcessor(_profile("green_list", vocab))


def test_missing_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without transformers, importing the adapter raises MissingDependencyError naming ``[transformers]``.
    """
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.delitem(sys.modules, "aigclabel.adapters.watermark.transformers")
    with pytest.raises(MissingDependencyError, match="transformers"):
        importlib.import_module("aigclabel.adapters.watermark.transformers")
