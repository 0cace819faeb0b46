"""
Statistical watermarks for Hugging Face transformers: ``LogitsProcessor`` classes over the core.

::

    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper
    from aigclabel.watermark import derive_profile
    from aigclabel.adapters.watermark.transformers import GumbelLogitsProcessor

    profile = derive_profile(secret, scheme="gumbel", vocab_size=model.config.vocab_size)
    processors = LogitsProcessorList(
        [TemperatureLogitsWarper(0.7), TopPLogitsWarper(0.9), GumbelLogitsProcessor(profile)]
    )
    out = model.generate(**inputs, logits_processor=processors, do_sample=False, max_new_tokens=300)

- :class:`GreenListLogitsProcessor` adds δ to the green tokens of each step (``green_list``);
  generate as usual (sampling or greedy).
- :class:`GumbelLogitsProcessor` *chooses* each token with the distortion-free Gumbel-max rule
  (``gumbel``) and leaves only that token finite, so greedy decoding and sampling both pick it.
  It must see the final distribution, so it must be the **last** processor, after temperature,
  top-k and top-p, as in vLLM. transformers puts a ``logits_processor=`` list *before* the warpers
  it builds from ``temperature``/``top_k``/``top_p``: put your warpers in the list before this
  processor and generate with ``do_sample=False`` (or with ``do_sample=True`` and no warper
  settings; what transformers applies after it cannot change a single finite token).

``profile.vocab_size`` must be the width of the model's logits (``model.config.vocab_size``,
which may exceed the tokenizer's size). Both processors are batch-aware (one context per row)
and use only the tokens generated in this call as watermark context, never the prompt: the
sequence length at the first call is taken as the prompt length, and a new call of ``generate``
is noticed when the length does not grow by exactly one (or after ``reset()``). Use one processor
object per concurrent ``generate`` call. Each row's context is read from its own ids, so the green
list also works under beam search; the gumbel processor picks one token per row, so use it with greedy
decoding or sampling. Assisted (speculative) decoding adds several tokens per call, which neither
follows. Needs the ``transformers`` extra and a torch build.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import Any, cast

try:  # checked here so the error names the extra
    import torch
    from transformers import LogitsProcessor
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError(exc.name or "transformers", "transformers") from exc

import numpy as np
from aigclabel.watermark import VocabularyError, WatermarkError, WatermarkProfile, green_mask, gumbel_choice

__all__ = ["GreenListLogitsProcessor", "GumbelLogitsProcessor", "watermark_logits_processor"]


class _ResponseTracker(LogitsProcessor):
    """
    The prompt length of the current ``generate`` call, shared by both processors.
    """

    scheme: str

    def __init__(self, profile: WatermarkProfile) -> None:
        if not isinstance(profile, WatermarkProfile):
            raise WatermarkError(f"expected a WatermarkProfile, got {type(profile).__name__}")
        if profile.scheme != self.scheme:
            raise WatermarkError(
                f"{type(self).__name__} needs a {self.scheme} profile, got {profile.scheme!r}"
            )
        self.profile = profile
        self._prompt_len = 0
        self._last_shape: tuple[int, int] = (-1, -1)

    def reset(self) -> None:
        """
        Forget the current ``generate`` call: the next call's ``input_ids`` are the prompt.
        """
        self._last_shape = (-1, -1)

    def _generated(self, input_ids: torch.Tensor) -> list[list[int]]:
        batch, length = int(input_ids.shape[0]), int(input_ids.shape[1])
        if (batch, length - 1) != self._last_shape:  # not the next step of the same call
            self._prompt_len = length
        self._last_shape = (batch, length)
        rows: list[list[int]] = input_ids[:, self._prompt_len :].tolist()
        return rows


class GreenListLogitsProcessor(_ResponseTracker):
    """
    Adds ``profile.delta`` to the keyed green fraction ``profile.gamma`` of each step's logits.

    Args:
        profile: a ``green_list`` profile whose ``vocab_size`` is the model's logits width.

    Raises:
        WatermarkError: not a ``green_list`` profile; at a call, a logits width other than
            ``profile.vocab_size`` (:class:`~aigclabel.watermark.VocabularyError`).
    """

    scheme = "green_list"

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """
        The biased scores (a new tensor of the same shape, dtype and device).
        """
        rows = self._generated(input_ids)
        _check_width(self.profile, scores)
        masks = np.stack([green_mask(self.profile, generated) for generated in rows])
        bias = torch.from_numpy(masks).to(scores.device, dtype=scores.dtype) * self.profile.delta
        return cast("torch.FloatTensor", scores + bias)


class GumbelLogitsProcessor(_ResponseTracker):
    """
    Chooses each row's next token by the ``gumbel`` rule and leaves only it finite (must be last).

    Args:
        profile: a ``gumbel`` profile whose ``vocab_size`` is the model's logits width.
        rng: the generator for the unwatermarked draw at a repeated context (vLLM's rule);
            ``None``: a fresh, unseeded one.

    Raises:
        WatermarkError: not a ``gumbel`` profile; at a call, a logits width other than
            ``profile.vocab_size`` (:class:`~aigclabel.watermark.VocabularyError`).
    """

    scheme = "gumbel"

    def __init__(self, profile: WatermarkProfile, *, rng: np.random.Generator | None = None) -> None:
        super().__init__(profile)
        self._rng = rng if rng is not None else np.random.default_rng()

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """
        Scores that are ``-inf`` everywhere but the chosen token of each row (0 there).
        """
        rows = self._generated(input_ids)
        _check_width(self.profile, scores)
        probs = torch.softmax(scores.detach().to(device="cpu", dtype=torch.float64), dim=-1).numpy()
        chosen = [
            gumbel_choice(self.profile, generated, probs[i], rng=self._rng)
            for i, generated in enumerate(rows)
        ]
        out = torch.full_like(scores, float("-inf"))
        index = torch.tensor(chosen, device=scores.device).unsqueeze(-1)
        out.scatter_(-1, index, 0.0)
        return cast("torch.FloatTensor", out)


def watermark_logits_processor(profile: WatermarkProfile, **kwargs: Any) -> LogitsProcessor:
    """
    The processor of *profile*'s scheme: :class:`GreenListLogitsProcessor` or :class:`GumbelLogitsProcessor`.

    Args:
        profile: the watermark profile.
        **kwargs: passed to the processor (``rng=`` for ``gumbel``).
    """
    if not isinstance(profile, WatermarkProfile):
        raise WatermarkError(f"expected a WatermarkProfile, got {type(profile).__name__}")
    if profile.scheme == "green_list":
        return GreenListLogitsProcessor(profile, **kwargs)
    return GumbelLogitsProcessor(profile, **kwargs)


def _check_width(profile: WatermarkProfile, scores: torch.Tensor) -> None:
    if scores.ndim != 2 or int(scores.shape[-1]) != profile.vocab_size:
        raise VocabularyError(
            f"the scores have shape {tuple(scores.shape)} but the profile's vocabulary has "
            f"{profile.vocab_size} entries: derive the profile with vocab_size=model.config.vocab_size",
            vocab_size=profile.vocab_size,
        )
