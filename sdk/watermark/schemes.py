"""
Generation-time functions of the two schemes: numpy only, one call per generated token.

An adapter (transformers, llama.cpp, a hand-written sampler) calls, at each step, with the
tokens generated so far in this response (never the prompt: the watermark context starts at the
first generated token, as in vLLM) and the step's next-token scores:

- ``green_list``: :func:`green_list_bias` returns the logits with δ added to the green tokens;
  sample from them as usual (any temperature, top-k, top-p). The green list of a step is
  ``{t : word(context, t) < γ · 2**32}`` for the keyed Philox word of :mod:`.prf`, so the
  candidate token itself is hashed with the ``context_width`` tokens before it (self-hash family)
  and each token is green with probability γ independently of the others.
- ``gumbel``: :func:`gumbel_choice` *chooses* the token: ``argmax_i r_i ** (1 / p_i)``, i.e.
  ``argmin_i -log(r_i) / p_i`` or vLLM's ``argmax_i log p_i - log(-log r_i)``, with ``r`` the
  keyed uniforms of the step (:func:`gumbel_uniforms`). Over the key this is an exact sample of
  ``p`` (distortion-free); pass the probabilities *after* temperature, top-k and top-p, as vLLM
  does. When the step's context already occurred earlier in the response and the profile
  de-duplicates, the token is sampled from ``p`` without the watermark (vLLM's rule, which
  avoids repetition loops).

All functions take the profile's ``vocab_size`` as the width of the scores.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .errors import VocabularyError, WatermarkError, WatermarkTypeError
from .prf import vocabulary_words, words_to_uniform, words_to_uniform32
from .profile import WatermarkProfile

__all__ = [
    "context_repeated",
    "generation_context",
    "green_list_bias",
    "green_mask",
    "green_threshold",
    "gumbel_choice",
    "gumbel_uniforms",
]


def green_threshold(gamma: float) -> int:
    """
    The 32-bit threshold below which a PRF word is green: ``round(gamma * 2**32)``.

    The exact green probability of a token is ``green_threshold(gamma) / 2**32``; the detector uses it.
    """
    return min(max(round(gamma * 2**32), 1), 2**32 - 1)


def _check_profile(profile: object, scheme: str) -> WatermarkProfile:
    if not isinstance(profile, WatermarkProfile):
        raise WatermarkTypeError(f"expected a WatermarkProfile, got {type(profile).__name__}")
    if profile.scheme != scheme:
        raise WatermarkError(f"this function needs a {scheme} profile, got a {profile.scheme} profile")
    return profile


def generation_context(profile: WatermarkProfile, generated: Sequence[int]) -> tuple[int, ...]:
    """
    The PRF context of the next token: the last ``context_width`` generated ids, ``-1`` padded at the start.

    Raises:
        VocabularyError: an id is outside ``[0, vocab_size)``.
    """
    width = profile.context_width
    tail = [int(t) for t in generated[-width:]] if len(generated) else []
    for t in tail:
        if not 0 <= t < profile.vocab_size:
            raise VocabularyError(
                f"token id {t} is outside the vocabulary [0, {profile.vocab_size})",
                vocab_size=profile.vocab_size,
            )
    return (-1,) * (width - len(tail)) + tuple(tail)


def green_mask(profile: WatermarkProfile, generated: Sequence[int]) -> npt.NDArray[np.bool_]:
    """
    Which token ids are green for the next token of a ``green_list`` profile: a bool array of ``vocab_size``.
    """
    profile = _check_profile(profile, "green_list")
    words = vocabulary_words(profile.seed, generation_context(profile, generated), profile.vocab_size)
    return words < np.uint64(green_threshold(profile.gamma))


def _check_scores(profile: WatermarkProfile, scores: object, what: str) -> npt.NDArray[np.float64]:
    if not isinstance(scores, np.ndarray):
        raise WatermarkTypeError(f"{what} must be a numpy array, got {type(scores).__name__}")
    if scores.ndim != 1:
        raise WatermarkError(
            f"{what} must be one row of shape ({profile.vocab_size},), got shape {scores.shape}"
        )
    if scores.shape[0] != profile.vocab_size:
        raise VocabularyError(
            f"{what} has {scores.shape[0]} entries but the profile's vocabulary has {profile.vocab_size}",
            vocab_size=profile.vocab_size,
        )
    return scores


def green_list_bias(
    profile: WatermarkProfile, generated: Sequence[int], logits: npt.NDArray[np.floating]
) -> npt.NDArray[np.floating]:
    """
    The next-token *logits* with ``profile.delta`` added to the green tokens (a new array, same dtype).

    Args:
        profile: a ``green_list`` profile.
        generated: the tokens generated so far in this response (the last ``context_width`` are used).
        logits: shape ``(vocab_size,)``, natural-log units.

    Raises:
        WatermarkError: wrong scheme or shape; VocabularyError: a width or id mismatch.
    """
    profile = _check_profile(profile, "green_list")
    _check_scores(profile, logits, "logits")
    biased = np.array(logits, copy=True)
    np.add(biased, profile.delta, out=biased, where=green_mask(profile, generated), casting="unsafe")
    return biased


def gumbel_uniforms(profile: WatermarkProfile, generated: Sequence[int]) -> npt.NDArray[np.float64]:
    """
    The keyed uniforms ``r`` in (0, 1) of every token id for the next token of a ``gumbel`` profile.
    """
    profile = _check_profile(profile, "gumbel")
    words = vocabulary_words(profile.seed, generation_context(profile, generated), profile.vocab_size)
    return words_to_uniform(words)


def context_repeated(profile: WatermarkProfile, generated: Sequence[int]) -> bool:
    """
    Whether the next token's context already preceded an earlier token of *generated* (then it is not scored).
    """
    width = profile.context_width
    n = len(generated)
    if n == 0:
        return False
    padded = np.full(n + width, -1, dtype=np.int64)
    padded[width:] = np.asarray(generated, dtype=np.int64)
    current = padded[n : n + width]
    earlier = np.lib.stride_tricks.sliding_window_view(padded[: n + width - 1], width)
    return bool(np.any(np.all(earlier == current, axis=1)))


def gumbel_choice(
    profile: WatermarkProfile,
    generated: Sequence[int],
    probs: npt.NDArray[np.floating],
    *,
    rng: np.random.Generator | None = None,
) -> int:
    """
    The next token of a ``gumbel`` profile: ``argmax_i r_i ** (1 / p_i)`` (distortion-free).

    Args:
        profile: a ``gumbel`` profile.
        generated: every token generated so far in this response (for the context and the de-duplication).
        probs: next-token probabilities after temperature, top-k and top-p, shape ``(vocab_size,)``;
            they need not sum to 1 (only their ratios matter), zeros are never chosen.
        rng: the generator for an unwatermarked draw at a repeated context (``None``: a fresh one).

    Returns:
        The chosen token id.

    Raises:
        WatermarkError: wrong scheme, shape, negative or all-zero probabilities.
    """
    profile = _check_profile(profile, "gumbel")
    p = _check_scores(profile, probs, "probs").astype(np.float64, copy=False)
    total = float(p.sum()) if p.size else 0.0
    if not np.isfinite(total) or total <= 0 or bool(np.any(p < 0)):
        raise WatermarkError("probs must be finite, non-negative and not all zero")
    if profile.deduplicate and context_repeated(profile, generated):
        generator = rng if rng is not None else np.random.default_rng()
        return int(generator.choice(profile.vocab_size, p=p / total))
    words = vocabulary_words(profile.seed, generation_context(profile, generated), profile.vocab_size)
    # argmax r ** (1 / p) = argmin -log(r) / p: one logarithm per token; p = 0 gives +inf
    exponential = np.log(words_to_uniform32(words), dtype=np.float64)
    np.negative(exponential, out=exponential)
    with np.errstate(divide="ignore", over="ignore"):
        np.divide(exponential, p, out=exponential)
    return int(np.argmin(exponential))
