"""
The keyed PRF: Philox-4x32-10 against Random123's known answers, and the properties every
uniform must have (range, float32 grid, determinism, batch = one by one, key sensitivity).
"""

from __future__ import annotations

import numpy as np
import pytest
from aigclabel.watermark import philox4x32_10, philox_uniform
from aigclabel.watermark.prf import candidate_words, context_state, sliding_contexts, vocabulary_words
from hypothesis import given
from hypothesis import strategies as st

U32 = st.integers(min_value=0, max_value=2**32 - 1)
KEYS = st.integers(min_value=0, max_value=2**64 - 1)
TOKEN = st.integers(min_value=0, max_value=2**31 - 1)
CONTEXT_TOKEN = st.integers(min_value=-1, max_value=2**31 - 1)

# Random123 (Salmon et al., SC 2011) kat_vectors for philox4x32_10: counter, key, expected output.
RANDOM123_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), RANDOM123_KAT)
def test_philox_matches_random123_known_answers(
    counter: tuple[int, int, int, int], key: tuple[int, int], expected: tuple[int, int, int, int]
) -> None:
    """Philox-4x32-10 gives Random123's published outputs."""
    assert expected == tuple(int(w) for w in philox4x32_10(counter, key))


@given(st.lists(st.tuples(U32, U32, U32, U32), min_size=1, max_size=20), U32, U32)
def test_philox_vectorised_equals_element_by_element(
    counters: list[tuple[int, int, int, int]], k0: int, k1: int
) -> None:
    """A batch of counters gives the same words as each counter alone."""
    columns = tuple(np.asarray([c[i] for c in counters], dtype=np.uint64) for i in range(4))
    batch = philox4x32_10((columns[0], columns[1], columns[2], columns[3]), (k0, k1))
    for row, counter in enumerate(counters):
        assert [int(w) for w in philox4x32_10(counter, (k0, k1))] == [int(w[row]) for w in batch]


CONTEXTS = st.lists(CONTEXT_TOKEN, min_size=4, max_size=4)


@given(KEYS, st.lists(st.tuples(CONTEXTS, TOKEN), min_size=1, max_size=30))
def test_uniforms_lie_in_the_open_unit_interval_on_the_float32_grid(
    key: int, pairs: list[tuple[list[int], int]]
) -> None:
    """Every uniform is in (0, 1), representable in float32, and the same on a second call."""
    contexts = [c for c, _ in pairs]
    tokens = [t for _, t in pairs]
    u = philox_uniform(key, contexts, tokens)
    assert bool(np.all((u > 0) & (u < 1)))
    assert u.tolist() == u.astype(np.float32).astype(np.float64).tolist()
    assert u.tolist() == philox_uniform(key, contexts, tokens).tolist()


@given(KEYS, st.lists(CONTEXT_TOKEN, min_size=3, max_size=3), st.integers(min_value=1, max_value=300))
def test_vocabulary_row_equals_per_token_words(key: int, context: list[int], vocab_size: int) -> None:
    """The whole-vocabulary evaluation (4 ids per Philox call) equals the per-token evaluation."""
    row = vocabulary_words(key, context, vocab_size)
    tokens = np.arange(vocab_size, dtype=np.uint64)
    state = context_state(key, np.asarray([[t & 0xFFFFFFFF for t in context]], dtype=np.uint64))
    per_token = candidate_words(key, state, tokens)
    assert row.tolist() == per_token.tolist()


@given(st.lists(TOKEN, min_size=1, max_size=12), st.integers(min_value=1, max_value=9))
def test_sliding_contexts_hold_the_previous_tokens_with_start_padding(tokens: list[int], width: int) -> None:
    """The context of position i is the `width` tokens before it, oldest first, -1 (2**32 - 1) padded."""
    ids = np.asarray(tokens, dtype=np.int64)
    contexts = sliding_contexts(ids, width)
    padded = [-1] * width + tokens
    for i in range(len(tokens)):
        assert [t & 0xFFFFFFFF for t in padded[i : i + width]] == contexts[i].tolist()


@given(KEYS, st.lists(TOKEN, min_size=4, max_size=4), TOKEN)
def test_another_key_gives_other_uniforms(key: int, context: list[int], token: int) -> None:
    """Changing one key bit changes the uniform (keys are not ignored)."""
    other = key ^ (1 << (token % 64))
    first = philox_uniform(key, [context], [token])[0]
    second = philox_uniform(other, [context], [token])[0]
    # 2**-24 per pair that they collide by chance; the same (context, token) under
    # a neighbouring key must still differ in the other neighbouring tokens
    row_a = philox_uniform(key, [context] * 8, [token ^ i for i in range(8)])
    row_b = philox_uniform(other, [context] * 8, [token ^ i for i in range(8)])
    assert first != second or row_a.tolist() != row_b.tolist()


def test_uniforms_are_uniform_over_many_pairs() -> None:
    """Over 200 000 pairs the uniforms' mean and deciles are those of U(0, 1)."""
    rng = np.random.default_rng(13)
    contexts = rng.integers(0, 200_000, size=(200_000, 4))
    tokens = rng.integers(0, 200_000, size=200_000)
    u = philox_uniform(0x5EED, contexts, tokens)
    assert 0.5 == pytest.approx(float(u.mean()), abs=0.003)
    deciles = np.histogram(u, bins=10, range=(0, 1))[0] / len(u)
    assert np.allclose(deciles, 0.1, atol=0.004)
