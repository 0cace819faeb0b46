"""
A toy language model with a controlled entropy, for testing and calibrating watermarks.

A watermark's detection rate depends on how much choice the model has at each step (its
entropy, in bits per token): a model that always knows the next token cannot carry a mark.
To measure that honestly without a neural model, :class:`ToyLanguageModel` is an n-gram model
over token ids (built from real text, e.g. the public-domain prose under ``bench/texts``),
interpolated with the corpus's unigram distribution::

    p(x | context) = (1 - mix) * p_ngram(x | context) + mix * p_unigram(x)

``p_ngram`` is the longest-matching of the trigram and bigram estimates (maximum likelihood, no
smoothing); where no n-gram matches, ``p`` is the unigram. ``mix`` sets the entropy: 0 copies
the corpus (often about 0.5 bits per token), 1 draws words at random (about 9–10 bits per token
on English and Chinese prose under o200k). :meth:`ToyLanguageModel.with_entropy` finds the
``mix`` that gives a target entropy on the corpus's own contexts, and every sample reports the
entropy it was actually drawn from (:attr:`ToySample.entropy_bits`).

Generation calls a logits processor the way llama-cpp-python does, ``processor(input_ids,
logits) -> logits`` with the prompt and the tokens generated so far as ``input_ids``, then
samples at temperature 1; so the processors of :mod:`aigclabel.adapters.watermark.llama_cpp`
apply unchanged. numpy only.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

try:  # checked here so the error names the extra
    import numpy as np
    import numpy.typing as npt
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError(exc.name or "numpy", "watermark") from exc


__all__ = ["LogitsProcessor", "ToyLanguageModel", "ToySample"]

#: ``(input_ids, logits) -> logits``: llama-cpp-python's logits processor signature.
LogitsProcessor = Callable[[npt.NDArray[np.intc], npt.NDArray[np.float32]], npt.NDArray[np.float32]]

_LOG2 = float(np.log(2.0))


@dataclass(frozen=True, slots=True)
class ToySample:
    """
    One generated sequence.

    Attributes:
        tokens: the generated token ids (the prompt is not included).
        entropy_bits: the mean Shannon entropy, in bits, of the model's distribution at each
            generated step, before any logits processor.
    """

    tokens: tuple[int, ...]
    entropy_bits: float


@dataclass(frozen=True, slots=True)
class _Tables:
    """
    The n-gram tables, shared by every model with another ``mix`` (indices into the support).
    """

    vocab_size: int
    support: npt.NDArray[np.int64]  # token ids with a unigram count, ascending
    index: npt.NDArray[np.int64]  # token id -> position in support, -1 outside
    unigram: npt.NDArray[np.float64]  # over the support
    bigram: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]
    trigram: dict[tuple[int, int], tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]
    contexts: tuple[tuple[int, int], ...]  # every trigram context of the corpus, in order


def _table(
    counter: Counter[int], index: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    ids = np.fromiter(counter.keys(), dtype=np.int64, count=len(counter))
    counts = np.fromiter(counter.values(), dtype=np.float64, count=len(counter))
    return index[ids], counts / counts.sum()


def _build(documents: Iterable[Sequence[int]], vocab_size: int) -> _Tables:
    unigram: Counter[int] = Counter()
    bigram: defaultdict[int, Counter[int]] = defaultdict(Counter)
    trigram: defaultdict[tuple[int, int], Counter[int]] = defaultdict(Counter)
    contexts: list[tuple[int, int]] = []
    for doc in documents:
        ids = [int(t) for t in doc]
        for t in ids:
            if not 0 <= t < vocab_size:
                raise ValueError(f"token id {t} outside the vocabulary (size {vocab_size})")
        unigram.update(ids)
        for a, b in itertools.pairwise(ids):
            bigram[a][b] += 1
        for a, b, c in zip(ids, ids[1:], ids[2:], strict=False):
            trigram[(a, b)][c] += 1
            contexts.append((a, b))
    if not unigram:
        raise ValueError("the corpus holds no tokens")
    support = np.array(sorted(unigram), dtype=np.int64)
    index = np.full(vocab_size, -1, dtype=np.int64)
    index[support] = np.arange(len(support))
    counts = np.array([unigram[int(t)] for t in support], dtype=np.float64)
    return _Tables(
        vocab_size=vocab_size,
        support=support,
        index=index,
        unigram=counts / counts.sum(),
        bigram={a: _table(c, index) for a, c in bigram.items()},
        trigram={ab: _table(c, index) for ab, c in trigram.items()},
        contexts=tuple(contexts),
    )


class ToyLanguageModel:
    """
    An interpolated trigram/bigram/unigram model over token ids (see the module docstring).

    Args:
        documents: token-id sequences of the training text (one per document; n-grams do not
            cross documents).
        vocab_size: the width of the logits (e.g. 200,019 for o200k); every id must be below it.
        mix: the unigram weight, in [0, 1]; higher is more random.

    Raises:
        ValueError: an empty corpus, an id outside the vocabulary, or ``mix`` outside [0, 1].
    """

    __slots__ = ("_mix", "_tables")

    def __init__(self, documents: Iterable[Sequence[int]], *, vocab_size: int, mix: float = 0.1) -> None:
        self._tables = _build(documents, vocab_size)
        self._mix = _check_mix(mix)

    @classmethod
    def _with_tables(cls, tables: _Tables, mix: float) -> ToyLanguageModel:
        model = cls.__new__(cls)
        model._tables = tables
        model._mix = _check_mix(mix)
        return model

    @property
    def vocab_size(self) -> int:
        """
        The width of the logits this model produces.
        """
        return self._tables.vocab_size

    @property
    def mix(self) -> float:
        """
        The unigram weight.
        """
        return self._mix

    @property
    def support_size(self) -> int:
        """
        How many token ids can ever be drawn (those seen in the corpus).
        """
        return len(self._tables.support)

    def with_mix(self, mix: float) -> ToyLanguageModel:
        """
        The same model with another unigram weight (the tables are shared, not copied).
        """
        return self._with_tables(self._tables, mix)

    def with_entropy(self, bits: float, *, contexts: int = 2000, seed: int = 0) -> ToyLanguageModel:
        """
        The same model with the ``mix`` whose mean entropy over *contexts* corpus contexts
        (drawn with *seed*) is *bits* bits per token, found by bisection (30 steps).

        Raises:
            ValueError: *bits* outside what ``mix`` 0 and 1 give on those contexts.
        """
        rng = np.random.default_rng(seed)
        pool = self._tables.contexts
        picks = [pool[int(i)] for i in rng.integers(0, len(pool), size=min(contexts, len(pool)))]

        def mean_entropy(mix: float) -> float:
            model = self.with_mix(mix)
            return float(np.mean([model.entropy_bits(c) for c in picks]))

        lo, hi = 0.0, 1.0
        low, high = mean_entropy(lo), mean_entropy(hi)
        if not low <= bits <= high:
            raise ValueError(f"{bits} bits per token is outside this corpus's range [{low:.2f}, {high:.2f}]")
        for _ in range(30):
            mid = (lo + hi) / 2
            if mean_entropy(mid) < bits:
                lo = mid
            else:
                hi = mid
        return self.with_mix((lo + hi) / 2)

    def _support_probs(self, context: Sequence[int]) -> npt.NDArray[np.float64]:
        t = self._tables
        probs = t.unigram * self._mix if self._mix < 1.0 else t.unigram.copy()
        if self._mix >= 1.0:
            return probs
        hit = None
        if len(context) >= 2:
            hit = t.trigram.get((int(context[-2]), int(context[-1])))
        if hit is None and len(context) >= 1:
            hit = t.bigram.get(int(context[-1]))
        if hit is None:
            return t.unigram.copy()
        where, p = hit
        probs[where] += (1.0 - self._mix) * p  # ids are unique within one table
        return probs

    def probabilities(self, context: Sequence[int]) -> npt.NDArray[np.float64]:
        """
        The next-token distribution after *context*, over the whole vocabulary (sums to 1).
        """
        out = np.zeros(self._tables.vocab_size, dtype=np.float64)
        out[self._tables.support] = self._support_probs(context)
        return out

    def logits(self, context: Sequence[int]) -> npt.NDArray[np.float32]:
        """
        Natural-log probabilities after *context* as float32 logits, ``-inf`` where a token
        cannot follow (outside the corpus's tokens, or with probability 0).
        """
        out = np.full(self._tables.vocab_size, -np.inf, dtype=np.float32)
        probs = self._support_probs(context)
        with np.errstate(divide="ignore"):
            out[self._tables.support] = np.log(probs)
        return out

    def entropy_bits(self, context: Sequence[int]) -> float:
        """
        The Shannon entropy of the next-token distribution after *context*, in bits.
        """
        p = self._support_probs(context)
        p = p[p > 0]
        return float(-(p * np.log(p)).sum() / _LOG2)

    def generate(
        self,
        n_tokens: int,
        *,
        rng: np.random.Generator,
        prompt: Sequence[int] = (),
        logits_processor: LogitsProcessor | None = None,
    ) -> ToySample:
        """
        Sample *n_tokens* tokens after *prompt* at temperature 1.

        At each step the processor (if any) gets ``(input_ids, logits)`` as llama-cpp-python
        passes them (``input_ids``: ``np.intc``, the prompt and the tokens so far; ``logits``:
        float32 of width :attr:`vocab_size`) and returns the logits to sample from.

        Raises:
            ValueError: *n_tokens* negative, or a processor left no finite logit.
        """
        if n_tokens < 0:
            raise ValueError("n_tokens must be >= 0")
        ids = [int(t) for t in prompt]
        start = len(ids)
        entropy = 0.0
        support = self._tables.support
        for _ in range(n_tokens):
            probs = self._support_probs(ids)
            nz = probs[probs > 0]
            entropy += float(-(nz * np.log(nz)).sum() / _LOG2)
            if logits_processor is None:
                token = int(support[rng.choice(len(support), p=probs / probs.sum())])
            else:
                logits = np.full(self._tables.vocab_size, -np.inf, dtype=np.float32)
                with np.errstate(divide="ignore"):
                    logits[support] = np.log(probs)
                logits = logits_processor(np.asarray(ids, dtype=np.intc), logits)
                token = _sample(logits, rng)
            ids.append(token)
        return ToySample(tokens=tuple(ids[start:]), entropy_bits=entropy / n_tokens if n_tokens else 0.0)


def _sample(logits: npt.NDArray[np.float32], rng: np.random.Generator) -> int:
    finite = np.flatnonzero(np.isfinite(logits))
    if len(finite) == 0:
        raise ValueError("the logits processor left no finite logit")
    z = logits[finite].astype(np.float64)
    w = np.exp(z - z.max())
    return int(finite[rng.choice(len(finite), p=w / w.sum())])


def _check_mix(mix: float) -> float:
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be in [0, 1], not {mix}")
    return float(mix)
