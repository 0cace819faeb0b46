"""
De-duplication: a repeated context (``gumbel``, vLLM's rule) or a repeated (context, token) pair
(``green_list``) is scored once, exactly as a plain set of tuples would decide, on any input.
"""

from __future__ import annotations

import numpy as np
import pytest
from aigclabel.watermark import WatermarkDetector, WatermarkError, derive_profile, score_tokens
from aigclabel.watermark.detector import first_occurrences, scored_positions
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import KEY

GUMBEL = derive_profile(KEY, scheme="gumbel", vocab_size=64)
GREEN = derive_profile(KEY, scheme="green_list", vocab_size=64)


def scored_by_a_set(tokens: list[int], width: int, with_token: bool) -> int:
    """The number of positions whose context (and token) was not seen before: vLLM's loop."""
    seen: set[tuple[int, ...]] = set()
    prefix = [-1] * width
    scored = 0
    for token in tokens:
        item = tuple(prefix[-width:]) + ((token,) if with_token else ())
        if item not in seen:
            seen.add(item)
            scored += 1
        prefix.append(token)
    return scored


# few distinct ids, so that repeats are frequent
REPETITIVE = st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=400)


@given(REPETITIVE)
def test_gumbel_scores_each_context_once(tokens: list[int]) -> None:
    """tokens_scored equals the count of first-seen contexts (width 4, start padding included)."""
    result = score_tokens(GUMBEL, np.asarray(tokens, dtype=np.int64))
    assert scored_by_a_set(tokens, 4, with_token=False) == result.tokens_scored
    assert len(tokens) == result.tokens_scored + result.tokens_dropped


@given(REPETITIVE)
def test_green_list_scores_each_context_token_pair_once(tokens: list[int]) -> None:
    """tokens_scored equals the count of first-seen (previous token, token) pairs."""
    result = score_tokens(GREEN, np.asarray(tokens, dtype=np.int64))
    assert scored_by_a_set(tokens, 1, with_token=True) == result.tokens_scored


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300), st.data())
def test_first_occurrences_equal_a_set_scan(values: list[int], data: st.DataObject) -> None:
    """first_occurrences marks exactly the first index of every distinct key, duplicates anywhere."""
    if values:
        values += data.draw(st.lists(st.sampled_from(values), max_size=300))
        values = data.draw(st.permutations(values))
    keys = np.asarray(values, dtype=np.uint64)
    seen: set[int] = set()
    expected = []
    for v in values:
        expected.append(v not in seen)
        seen.add(v)
    assert expected == first_occurrences(keys).tolist()


def test_first_occurrences_settle_shared_hash_slots() -> None:
    """Keys that share their low bits (the hash slot) but differ are each kept once."""
    rng = np.random.default_rng(4)
    distinct = rng.integers(0, 2**40, 5000, dtype=np.uint64) << np.uint64(24)  # low 24 bits all zero
    keys = np.concatenate([distinct, distinct[::-1]])
    keep = first_occurrences(keys)
    assert keep[:5000].all()
    assert not keep[5000:].any()


@given(REPETITIVE)
def test_positions_scored_do_not_depend_on_the_key(tokens: list[int]) -> None:
    """Two keys of one scheme score the same positions, so a detector shares the mask between them."""
    ids = np.asarray(tokens, dtype=np.int64)
    other = derive_profile(KEY, scheme="gumbel", vocab_size=64, slot=1)
    mask = scored_positions(GUMBEL, ids)
    assert mask.tolist() == scored_positions(other, ids).tolist()
    assert score_tokens(other, ids) == score_tokens(other, ids, scored_mask=mask)


def test_detector_with_several_profiles_scores_each_as_alone() -> None:
    """With four profiles the best one's score equals its score alone (shared masks change nothing)."""
    rng = np.random.default_rng(9)
    ids = rng.integers(0, 4, 500)
    profiles = [
        derive_profile(KEY, scheme=s, vocab_size=64, slot=k) for s in ("green_list", "gumbel") for k in (0, 1)
    ]
    evidence = WatermarkDetector(profiles, IdsOnly()).detect(ids)
    best = next(p for p in profiles if p.key_id == evidence.key_id)
    alone = score_tokens(best, ids)
    assert (alone.score, alone.tokens_scored) == (evidence.score, evidence.tokens_scored)


def test_mask_of_the_wrong_length_is_refused() -> None:
    """A scored_mask that does not fit the tokens raises WatermarkError."""
    with pytest.raises(WatermarkError, match="scored_mask"):
        score_tokens(GUMBEL, np.arange(5), scored_mask=np.ones(4, dtype=bool))


class IdsOnly:
    """A tokenizer stand-in for detectors fed token ids."""

    vocab_size = 64

    def encode(self, text: str) -> list[int]:
        raise AssertionError("ids only")
