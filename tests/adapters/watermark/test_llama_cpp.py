"""
The llama-cpp-python logits processor, driven by a stand-in for ``llama_cpp.Llama`` that calls
it the way llama-cpp-python 0.3 does: a custom sampler at the head of the sampler chain, over a
record array of ``(id, logit, p)`` candidates, with ``recarray.logit[:] = processor(input_ids,
recarray.logit)``; then its own top-k, temperature and draw (or greedy at temperature 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from aigclabel.adapters.watermark.llama_cpp import WatermarkLogitsProcessor, warped_probabilities
from aigclabel.watermark import (
    VocabularyError,
    WatermarkDetector,
    WatermarkError,
    WatermarkProfile,
    derive_profile,
    gumbel_choice,
)

from tests.helpers import KEY

VOCAB = 1024
OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

Processor = Callable[[npt.NDArray[np.intc], npt.NDArray[np.single]], npt.NDArray[np.single]]


class LogitsProcessorList(list[Processor]):
    """
    llama-cpp-python's ``LogitsProcessorList``: a list that applies its processors in order.
    """

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


class FakeLlama:
    """
    A ``Llama`` stand-in: next-token logits from a fixed random bigram table, sampling as llama.cpp does.
    """

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self._table = (rng.standard_normal((VOCAB, VOCAB)) * 2.0).astype(np.single)
        self._input_ids: npt.NDArray[np.intc] = np.zeros(0, dtype=np.intc)
        self._rng = np.random.default_rng(seed + 1)

    def n_vocab(self) -> int:
        return VOCAB

    def generate_tokens(
        self,
        prompt: Sequence[int],
        max_tokens: int,
        *,
        temperature: float = 0.8,
        top_k: int = 40,
        logits_processor: LogitsProcessorList | None = None,
    ) -> list[int]:
        self._input_ids = np.asarray(prompt, dtype=np.intc)
        out: list[int] = []
        for _ in range(max_tokens):
            candidates = np.recarray(
                (VOCAB,),
                dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True),
            )
            candidates.id[:] = np.arange(VOCAB)
            candidates.logit[:] = self._table[int(self._input_ids[-1])]
            if logits_processor is not None:
                for processor in logits_processor:
                    candidates.logit[:] = processor(self._input_ids, candidates.logit)
            token = self._sample(np.asarray(candidates.logit, dtype=np.float64), temperature, top_k)
            out.append(token)
            self._input_ids = np.append(self._input_ids, np.intc(token))
        return out

    def _sample(self, logits: npt.NDArray[np.float64], temperature: float, top_k: int) -> int:
        if temperature <= 0:
            return int(np.argmax(logits))
        kth = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= kth, logits / temperature, -np.inf)
        w = np.exp(logits - logits.max())
        return int(self._rng.choice(VOCAB, p=w / w.sum()))


class IdsOnly:
    """
    The detector's tokenizer protocol for a model whose text is never re-tokenised here.
    """

    vocab_size = VOCAB

    def encode(self, text: str) -> list[int]:
        raise AssertionError("only token ids are scored in these tests")


def _profile(scheme: str, key: str = KEY) -> WatermarkProfile:
    return derive_profile(key, scheme=scheme, vocab_size=VOCAB)  # type: ignore[arg-type]


def _detector(scheme: str) -> WatermarkDetector:
    return WatermarkDetector([_profile(scheme)], IdsOnly())


PROMPT = [5, 17, 99, 3]


@pytest.mark.parametrize("scheme", ["green_list", "gumbel"])
def test_generated_text_is_detected(scheme: str) -> None:
    """
    200 tokens generated through the processor carry the watermark at the default threshold.
    """
    llm = FakeLlama()
    processor = WatermarkLogitsProcessor(
        _profile(scheme), temperature=0.8, top_k=40, rng=np.random.default_rng(1)
    )
    tokens = llm.generate_tokens(PROMPT, 200, logits_processor=LogitsProcessorList([processor]))
    evidence = _detector(scheme).detect(tokens)
    assert evidence.significant
    assert evidence.key_id == _profile(scheme).key_id


@pytest.mark.parametrize("scheme", ["green_list", "gumbel"])
def test_unwatermarked_and_wrong_key_text_is_not_detected(scheme: str) -> None:
    """
    Text generated without the processor, or with another key, is not significant.
    """
    llm = FakeLlama()
    plain = llm.generate_tokens(PROMPT, 200)
    other = WatermarkLogitsProcessor(_profile(scheme, OTHER_KEY), rng=np.random.default_rng(2))
    foreign = llm.generate_tokens(PROMPT, 200, logits_processor=LogitsProcessorList([other]))
    detector = _detector(scheme)
    assert not detector.detect(plain).significant
    assert not detector.detect(foreign).significant


def test_gumbel_leaves_one_finite_logit_that_greedy_and_sampling_both_pick() -> None:
    """
    The gumbel processor returns ``-inf`` everywhere but its choice, so llama.cpp's own sampler
    picks that token whether it samples or decodes greedily.
    """
    profile = _profile("gumbel")
    greedy = FakeLlama().generate_tokens(
        PROMPT, 60, temperature=0.0, logits_processor=LogitsProcessorList([WatermarkLogitsProcessor(profile)])
    )
    sampled = FakeLlama(seed=0).generate_tokens(
        PROMPT,
        60,
        temperature=1.3,
        top_k=5,
        logits_processor=LogitsProcessorList([WatermarkLogitsProcessor(profile)]),
    )
    assert greedy == sampled  # the processor's choice, not llama.cpp's draw, decides


def test_prompt_is_not_watermark_context() -> None:
    """
    The first token's choice depends on the generated tokens only: two prompts that end
    differently give the gumbel processor the same (empty) context, hence the same uniforms.
    """
    profile = _profile("gumbel")
    logits = np.linspace(-1.0, 1.0, VOCAB, dtype=np.single)
    a = WatermarkLogitsProcessor(profile)(np.asarray([1, 2, 3], dtype=np.intc), logits)
    b = WatermarkLogitsProcessor(profile)(np.asarray([9, 8, 7, 6, 5], dtype=np.intc), logits)
    expected = gumbel_choice(profile, [], warped_probabilities(logits))
    assert int(np.argmax(a)) == int(np.argmax(b)) == expected


def test_processor_follows_a_new_response_after_reuse() -> None:
    """
    One processor used for two calls in a row starts a new response at the second prompt, so
    both responses are detected (the second's context does not include the first response).
    """
    llm = FakeLlama()
    processor = WatermarkLogitsProcessor(_profile("green_list"))
    first = llm.generate_tokens(PROMPT, 150, logits_processor=LogitsProcessorList([processor]))
    second = llm.generate_tokens([42, 43], 150, logits_processor=LogitsProcessorList([processor]))
    detector = _detector("green_list")
    assert detector.detect(first).significant
    assert detector.detect(second).significant


def test_green_list_adds_delta_to_green_tokens_only_and_keeps_the_input() -> None:
    """
    ``green_list`` returns a new float32 array: the logits plus δ on the green tokens; the
    (strided) array llama.cpp passed in is left as it was.
    """
    profile = _profile("green_list")
    candidates = np.zeros(
        VOCAB, dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
    )
    candidates["logit"] = np.arange(VOCAB, dtype=np.single)
    before = candidates["logit"].copy()
    out = WatermarkLogitsProcessor(profile)(np.asarray(PROMPT, dtype=np.intc), candidates["logit"])
    diff = out - before
    assert out.dtype == np.single
    assert np.array_equal(candidates["logit"], before)
    assert set(np.round(np.unique(diff), 5)) == {0.0, profile.delta}
    assert 0.15 < float(np.mean(diff > 0)) < 0.35  # about γ = 0.25 of the vocabulary


def test_wrong_logits_width_is_a_vocabulary_error() -> None:
    """
    Logits wider or narrower than the profile's vocabulary raise VocabularyError.
    """
    processor = WatermarkLogitsProcessor(_profile("green_list"))
    with pytest.raises(VocabularyError):
        processor(np.asarray(PROMPT, dtype=np.intc), np.zeros(VOCAB + 1, dtype=np.single))


def test_sampling_settings_are_checked_at_construction() -> None:
    """
    A non-positive temperature, a negative top-k or a top-p outside (0, 1] raise WatermarkError.
    """
    profile = _profile("gumbel")
    for bad in ({"temperature": 0.0}, {"top_k": -1}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(WatermarkError):
            WatermarkLogitsProcessor(profile, **bad)  # type: ignore[arg-type]


def test_warped_probabilities_apply_temperature_top_k_and_top_p() -> None:
    """
    Temperature sharpens, top-k keeps the k most likely, top-p the smallest set reaching p.
    """
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    np.testing.assert_allclose(warped_probabilities(logits), [0.5, 0.3, 0.15, 0.05])
    np.testing.assert_allclose(warped_probabilities(logits, top_k=2), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(warped_probabilities(logits, top_p=0.7), [0.625, 0.375, 0, 0])
    sharp = warped_probabilities(logits, temperature=0.5)
    assert sharp[0] > 0.5
    assert sharp.sum() == pytest.approx(1.0)


def test_missing_numpy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without numpy, importing the adapter raises MissingDependencyError naming ``[watermark]``.
    """
    import importlib
    import sys

    from aigclabel.exceptions import MissingDependencyError

    monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.delitem(sys.modules, "aigclabel.adapters.watermark.llama_cpp")
    with pytest.raises(MissingDependencyError, match="watermark"):
        importlib.import_module("aigclabel.adapters.watermark.llama_cpp")
