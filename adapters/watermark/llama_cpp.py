"""
A statistical watermark for llama-cpp-python: a ``logits_processor`` over :mod:`aigclabel.watermark`.

llama-cpp-python calls each processor of a ``LogitsProcessorList`` once per generated token as
``processor(input_ids, logits)``: ``input_ids`` is the ``np.intc`` array of every token so far
(the prompt, then the tokens generated), ``logits`` the float32 scores of the next token (in
0.3.x a strided view into its candidate array), and it samples from what the processor returns::

    from llama_cpp import Llama, LogitsProcessorList
    from aigclabel.watermark import derive_profile
    from aigclabel.adapters.watermark.llama_cpp import WatermarkLogitsProcessor

    llm = Llama(model_path="model.gguf")
    profile = derive_profile(secret, scheme="green_list", vocab_size=llm.n_vocab())
    out = llm("Q: …", max_tokens=300,
              logits_processor=LogitsProcessorList([WatermarkLogitsProcessor(profile)]))

The watermark context is the generated tokens only, never the prompt (as in vLLM): the processor
takes the length of ``input_ids`` at its first call as the prompt length, and starts a new
response whenever the history does not grow by exactly one token between calls (or after
:meth:`WatermarkLogitsProcessor.reset`). Use one processor per concurrent generation.

**green_list** adds δ to the step's green tokens; llama.cpp then applies its penalties,
temperature, top-k and top-p as usual.

**gumbel** chooses the token itself (:func:`aigclabel.watermark.gumbel_choice`) and returns logits
that are ``-inf`` everywhere but the chosen token, so whatever llama.cpp does next (greedy or
sampling, penalties, top-k) picks it. llama.cpp runs logits processors *first* in its sampler
chain, before its own temperature, top-k and top-p, so those settings of the call no longer matter:
give them to the processor (``temperature``, ``top_k``, ``top_p``), which applies them before the
choice, like vLLM, where the Gumbel draw comes after temperature and truncation. numpy only.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

try:  # checked here so the error names the extra
    import numpy as np
    import numpy.typing as npt
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError(exc.name or "numpy", "watermark") from exc

from aigclabel.watermark import WatermarkError, WatermarkProfile, green_list_bias, gumbel_choice

__all__ = ["WatermarkLogitsProcessor", "warped_probabilities"]


def warped_probabilities(
    logits: npt.NDArray[np.floating], *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> npt.NDArray[np.float64]:
    """
    ``softmax(logits / temperature)`` restricted to the top-k tokens and then to the smallest set
    whose mass reaches top-p (the usual nucleus rule), renormalised; float64, same width.

    Args:
        logits: one row of scores, natural-log units; ``-inf`` entries get probability 0.
        temperature: > 0.
        top_k: keep the k most likely tokens; 0 keeps all.
        top_p: in (0, 1]; 1 keeps all.

    Raises:
        WatermarkError: a setting out of range, or no finite logit.
    """
    _check_sampling(temperature, top_k, top_p)
    z = np.asarray(logits, dtype=np.float64) / temperature
    finite = np.isfinite(z)
    if not finite.any():
        raise WatermarkError("the logits have no finite entry")
    probs = np.zeros_like(z)
    probs[finite] = np.exp(z[finite] - z[finite].max())
    if 0 < top_k < int(finite.sum()):
        cut = np.partition(probs, -top_k)[-top_k]
        probs[probs < cut] = 0.0
    probs /= probs.sum()
    if top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        keep = int(np.searchsorted(cumulative, top_p)) + 1  # the token that crosses top_p stays
        probs[order[keep:]] = 0.0
        probs /= probs.sum()
    return probs


def _check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    if not temperature > 0:
        raise WatermarkError(f"temperature must be > 0, got {temperature}")
    if top_k < 0:
        raise WatermarkError(f"top_k must be >= 0, got {top_k}")
    if not 0 < top_p <= 1:
        raise WatermarkError(f"top_p must be in (0, 1], got {top_p}")


class WatermarkLogitsProcessor:
    """
    A llama-cpp-python logits processor that watermarks with *profile*'s scheme.

    Args:
        profile: the watermark profile; ``profile.vocab_size`` must equal ``llm.n_vocab()``.
        temperature: ``gumbel`` only: the sampling temperature applied before the choice.
        top_k: ``gumbel`` only: top-k applied before the choice (0: off).
        top_p: ``gumbel`` only: top-p applied before the choice (1: off).
        rng: ``gumbel`` only: the generator for the unwatermarked draw at a repeated context
            (``None``: a fresh, unseeded one).

    Raises:
        WatermarkError: a sampling setting out of range (at construction), or at a call a
            logits width other than ``profile.vocab_size``
            (:class:`~aigclabel.watermark.VocabularyError`).
    """

    __slots__ = ("_last_len", "_prompt_len", "_rng", "profile", "temperature", "top_k", "top_p")

    def __init__(
        self,
        profile: WatermarkProfile,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(profile, WatermarkProfile):
            raise WatermarkError(f"expected a WatermarkProfile, got {type(profile).__name__}")
        _check_sampling(temperature, top_k, top_p)
        self.profile = profile
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self._rng = rng if rng is not None else np.random.default_rng()
        self._prompt_len = 0
        self._last_len = -1

    def reset(self) -> None:
        """
        Forget the current response: the next call starts a new one (its ``input_ids`` are the prompt).
        """
        self._last_len = -1

    def generated(self, input_ids: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
        """
        The generated part of *input_ids* (what follows the prompt), updating the response tracking.
        """
        n = len(input_ids)
        if n != self._last_len + 1:  # not the next step of the same response: a new one
            self._prompt_len = n
        self._last_len = n
        return input_ids[self._prompt_len :]

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        """
        The watermarked logits for the next token (a new float32 array; *scores* is not modified).
        """
        generated = self.generated(input_ids).tolist()
        if self.profile.scheme == "green_list":
            biased: npt.NDArray[np.single] = green_list_bias(self.profile, generated, scores)
            return biased
        probs = warped_probabilities(scores, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)
        token = gumbel_choice(self.profile, generated, probs, rng=self._rng)
        out = np.full(len(scores), -np.inf, dtype=np.float32)
        out[token] = 0.0
        return out
