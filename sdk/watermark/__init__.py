"""
Statistical token watermarks: keyed generation-time schemes and a calibrated detector (numpy only).

A statistical watermark lives in the choice of tokens, not in characters, so it survives copying,
retyping and light edits; it needs control of sampling, i.e. a self-hosted model.

- Profiles: :func:`derive_profile` derives a :class:`WatermarkProfile` from the provider's key
  material by key slot (HMAC subkeys; the raw key is never kept); :func:`vllm_profile` wraps an
  existing vLLM integer key; :func:`vllm_watermark_config` is the ``vllm serve --watermark-config``
  JSON of a ``gumbel`` profile.
- Generation (one call per token, numpy): :func:`green_list_bias` (``green_list``: δ added to a
  keyed green fraction γ of the vocabulary) and :func:`gumbel_choice` (``gumbel``: distortion-free
  Gumbel-max over vLLM 0.33's Philox PRF, bit-compatible), with :func:`green_mask`,
  :func:`gumbel_uniforms`, :func:`generation_context` and :func:`context_repeated` for adapters
  that sample themselves.
- Detection: :class:`WatermarkDetector` with a :class:`Tokenizer` (:func:`tiktoken_tokenizer`,
  :func:`hf_tokenizer`) returns :class:`WatermarkEvidence` with an exact p-value
  (:func:`gamma_survival`, :func:`binomial_tail`).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

try:
    import numpy as _numpy  # noqa: F401  (the one optional dependency of the package)
except ImportError as _exc:  # pragma: no cover - exercised where numpy is absent
    from ..exceptions import MissingDependencyError

    raise MissingDependencyError("numpy", "watermark") from _exc

from .detector import (
    DEFAULT_MIN_TOKENS,
    DEFAULT_THRESHOLD,
    TokenScore,
    WatermarkDetector,
    WatermarkEvidence,
    score_tokens,
    scored_positions,
)
from .errors import VocabularyError, WatermarkError, WatermarkTypeError
from .prf import philox4x32_10, philox_uniform
from .profile import (
    DEFAULT_CONTEXT_WIDTH,
    Scheme,
    WatermarkProfile,
    derive_profile,
    vllm_profile,
    vllm_watermark_config,
)
from .schemes import (
    context_repeated,
    generation_context,
    green_list_bias,
    green_mask,
    green_threshold,
    gumbel_choice,
    gumbel_uniforms,
)
from .stats import binomial_tail, binomial_z, gamma_survival, log_binomial_tail, log_gamma_survival
from .tokenizers import (
    HFTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    hf_tokenizer,
    load_tiktoken_ranks,
    tiktoken_tokenizer,
)

__all__ = [
    "DEFAULT_CONTEXT_WIDTH",
    "DEFAULT_MIN_TOKENS",
    "DEFAULT_THRESHOLD",
    "HFTokenizer",
    "Scheme",
    "TiktokenTokenizer",
    "TokenScore",
    "Tokenizer",
    "VocabularyError",
    "WatermarkDetector",
    "WatermarkError",
    "WatermarkEvidence",
    "WatermarkProfile",
    "WatermarkTypeError",
    "binomial_tail",
    "binomial_z",
    "context_repeated",
    "derive_profile",
    "gamma_survival",
    "generation_context",
    "green_list_bias",
    "green_mask",
    "green_threshold",
    "gumbel_choice",
    "gumbel_uniforms",
    "hf_tokenizer",
    "load_tiktoken_ranks",
    "log_binomial_tail",
    "log_gamma_survival",
    "philox4x32_10",
    "philox_uniform",
    "score_tokens",
    "scored_positions",
    "tiktoken_tokenizer",
    "vllm_profile",
    "vllm_watermark_config",
]
