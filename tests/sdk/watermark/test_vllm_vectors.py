"""
The ``gumbel`` scheme reproduces vLLM 0.33's native watermark: the vectors in
``aigclabel/watermark/data/vllm_vectors.json`` were produced once from vLLM's own modules (its
Philox PRF, its CPU Gumbel-max sampler and its ``GumbelWatermarkDetector``; the file's metadata
says how). Every vector must match.
"""

from __future__ import annotations

import dataclasses
import json
import math
from importlib import resources
from typing import Any

import numpy as np
import pytest
from aigclabel.watermark import gumbel_choice, philox_uniform, score_tokens, vllm_profile
from aigclabel.watermark.prf import vocabulary_words, words_to_uniform, words_to_uniform32

VECTORS: dict[str, Any] = json.loads(
    resources.files("aigclabel.watermark").joinpath("data/vllm_vectors.json").read_text("utf-8")
)


def test_vectors_say_where_they_come_from() -> None:
    """The metadata names the vLLM version, the modules run and the procedure."""
    meta = VECTORS["metadata"]
    assert "0.33.0" == meta["vllm_version"]
    assert meta["procedure"]
    assert any("GumbelWatermarkDetector" in m for m in meta["produced_with"])


@pytest.mark.parametrize("case", VECTORS["philox_uniform"], ids=lambda c: f"key{c['key'][:6]}")
def test_uniforms_equal_vllm_bit_for_bit(case: dict[str, Any]) -> None:
    """The keyed uniform of each (context, token) pair equals vLLM's float32 value exactly."""
    got = philox_uniform(int(case["key"]), case["contexts"], case["token_ids"])
    assert case["uniforms"] == got.tolist()


@pytest.mark.parametrize("case", VECTORS["vocabulary_uniforms"])
def test_vocabulary_row_equals_vllm(case: dict[str, Any]) -> None:
    """The uniforms of a whole vocabulary after one context (one Philox call per 4 ids) equal vLLM's."""
    got = words_to_uniform(vocabulary_words(int(case["key"]), case["context"], case["vocab_size"]))
    assert case["uniforms"] == got.tolist()


@pytest.mark.parametrize("case", VECTORS["gumbel_sample"], ids=lambda c: f"v{len(c['logits'])}")
def test_gumbel_choice_equals_vllm_sampler(case: dict[str, Any]) -> None:
    """Given vLLM's logits at a step, gumbel_choice picks the token vLLM's Gumbel-max sampler picked."""
    logits = np.asarray(case["logits"], dtype=np.float64)
    profile = vllm_profile(int(case["key"]), vocab_size=len(logits), context_width=case["context_width"])
    probs = np.exp(logits - logits.max())
    assert case["token_id"] == gumbel_choice(profile, case["generated"], probs)


@pytest.mark.parametrize("case", VECTORS["detector"], ids=lambda c: f"n{len(c['token_ids'])}")
def test_detector_equals_vllm_detector(case: dict[str, Any]) -> None:
    """Score, scored-token count and p-value equal GumbelWatermarkDetector's for the same tokens and key."""
    profile = vllm_profile(int(case["key"]), vocab_size=2**20, context_width=case["context_width"])
    profile = dataclasses.replace(profile, deduplicate=case["deduplicate"])
    result = score_tokens(profile, np.asarray(case["token_ids"], dtype=np.int64))
    assert case["num_scored_tokens"] == result.tokens_scored
    assert len(case["token_ids"]) - case["num_scored_tokens"] == result.tokens_dropped
    assert case["score"] == pytest.approx(result.score, rel=1e-12, abs=1e-12)
    assert case["p_value"] == pytest.approx(math.exp(result.log_p), rel=1e-9, abs=1e-300)


def test_vectors_cover_both_outcomes() -> None:
    """The detector vectors hold watermarked text (tiny p) and text under a wrong key (large p)."""
    p_values = [c["p_value"] for c in VECTORS["detector"]]
    assert min(p_values) < 1e-50
    assert max(p_values) > 0.1


def test_uniforms_equal_the_gpu_kernel_rule_for_every_mantissa() -> None:
    """
    vLLM's CUDA sampler makes uniforms as float32 ``(m + 1) * 2**-24`` less one ulp; for all 2**24
    mantissas that is our (and vLLM's CPU) ``float32((m + 1) / (2**24 + 1))``, so text generated
    on GPU is scored with the same numbers.
    """
    for start in range(0, 2**24, 2**22):
        words = np.arange(start, start + 2**22, dtype=np.uint64) << np.uint64(8)
        ours = words_to_uniform32(words)
        scaled = (np.arange(start, start + 2**22, dtype=np.float32) + np.float32(1)) * np.float32(2**-24)
        gpu = (scaled.view(np.uint32) - np.uint32(1)).view(np.float32)
        assert np.array_equal(gpu, ours)
