"""
The keyed pseudo-random function of both schemes: Philox-4x32-10 over (context, token), as vLLM 0.33 uses it.

Philox-4x32-10 is the counter-based generator of Salmon et al., "Parallel random numbers: as easy as
1, 2, 3" (SC 2011): a 128-bit counter ``(c0, c1, c2, c3)`` and a 64-bit key ``(k0, k1)`` give four
32-bit words after ten rounds. This module evaluates it on numpy ``uint64`` arrays holding 32-bit
values, so one call scores a whole token sequence or a whole vocabulary.

How a 64-bit key, a context and a token id become one uniform number (the rule of vLLM 0.33's
``PhiloxPRF``, version ``philox4x32-10-v1``; pinned by the vectors in ``data/vllm_vectors.json``):

1. The key splits into ``k0 = key & 0xFFFFFFFF`` and ``k1 = key >> 32``.
2. Context state. Context token ids are taken modulo 2**32 (so the start padding ``-1`` is
   ``0xFFFFFFFF``). The state starts as ``(0x574D4358, width, 0, 0)``; for each block of four
   context positions starting at ``offset`` (0, 4, 8…; missing positions of the last block read
   ``0xFFFFFFFF - i`` for the block index ``i``), the state becomes
   ``philox(state XOR block, (k0 XOR offset, k1))``.
3. Candidate word. For token id ``t`` with state ``(s0, s1, s2, s3)``:
   ``philox((t >> 2, s0, s1, s2), (k0 XOR s3, k1 XOR 0x574D544B))`` gives four words; token ``t``
   takes word ``t & 3``, so four neighbouring ids share one Philox call.
4. Uniform. The word's top 24 bits ``m`` give ``u = float32((m + 1) / (2**24 + 1))``, in (0, 1).

The context of a position is the ``context_width`` tokens generated before it, oldest first,
padded with ``-1`` before the first generated token (the prompt is never context).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .errors import WatermarkError

__all__ = [
    "CONTEXT_DOMAIN",
    "TOKEN_DOMAIN",
    "U64Array",
    "candidate_words",
    "context_state",
    "context_state_columns",
    "gumbel_token_scores",
    "log_complement",
    "philox4x32_10",
    "philox_uniform",
    "sequence_words",
    "sliding_contexts",
    "vocabulary_words",
    "words_to_uniform",
    "words_to_uniform32",
]

U64Array = npt.NDArray[np.uint64]

_MASK = 0xFFFFFFFF
_W0 = 0x9E3779B9
_W1 = 0xBB67AE85
_W0_U64 = np.uint64(_W0)
_MULTIPLIERS = np.asarray([[0xD2511F53], [0xCD9E8D57]], dtype=np.uint64)
_SHIFT = np.uint64(32)
_LOW = np.uint64(_MASK)
#: Domain word of the context state (ASCII ``WMCX``).
CONTEXT_DOMAIN = 0x574D4358
#: Domain word of the candidate key (ASCII ``WMTK``).
TOKEN_DOMAIN = 0x574D544B
_UNIFORM_DENOMINATOR = float(2**24 + 1)

_Word = U64Array | int


def _round_keys(k0: int, k1: int) -> npt.NDArray[np.uint64]:
    # the ten rounds' key pairs, shaped (10, 2, 1) to broadcast over a (2, n) pair of words
    keys = [[[(k0 + r * _W0) & _MASK], [(k1 + r * _W1) & _MASK]] for r in range(10)]
    return np.asarray(keys, dtype=np.uint64)


def _rounds_pair(a: U64Array, b: U64Array, k0: U64Array | int, k1: int, *, own_key: bool = False) -> None:
    # Ten Philox rounds in place on the counter held as two (2, n) views: a = (c0, c2) and
    # b = (c1, c3). Both multiplications, shifts and masks of a round are one numpy call each,
    # so a round costs five calls (seven with a per-row key): the per-call overhead, not the
    # arithmetic, dominates for texts of a few thousand tokens.
    product = np.empty_like(a)
    swapped = product[::-1]  # (p1, p0): the words cross over between the two halves
    if isinstance(k0, np.ndarray):
        key0 = k0 if own_key else k0.copy()
        key1 = k1
        for round_index in range(10):
            np.multiply(a, _MULTIPLIERS, out=product)  # < 2**64: both factors are below 2**32
            np.right_shift(swapped, _SHIFT, out=a)  # (hi1, hi0); b still holds the old (c1, c3)
            a ^= b
            a[0] ^= key0
            a[1] ^= np.uint64(key1)
            np.bitwise_and(swapped, _LOW, out=b)  # (lo1, lo0)
            if round_index != 9:
                key0 += _W0_U64
                key0 &= _LOW
                key1 = (key1 + _W1) & _MASK
        return
    keys = _round_keys(k0, k1)
    for round_index in range(10):
        np.multiply(a, _MULTIPLIERS, out=product)
        np.right_shift(swapped, _SHIFT, out=a)
        a ^= b
        a ^= keys[round_index]
        np.bitwise_and(swapped, _LOW, out=b)


def _rounds(
    c0: U64Array,
    c1: U64Array,
    c2: U64Array,
    c3: U64Array,
    k0: U64Array | int,
    k1: int,
) -> tuple[U64Array, U64Array, U64Array, U64Array]:
    # Ten Philox rounds on four equal-length arrays; returns four new arrays.
    a = np.stack((c0, c2))
    b = np.stack((c1, c3))
    _rounds_pair(a, b, k0, k1)
    return a[0], b[0], a[1], b[1]


def philox4x32_10(
    counter: tuple[_Word, _Word, _Word, _Word], key: tuple[_Word, _Word]
) -> tuple[U64Array, U64Array, U64Array, U64Array]:
    """
    Philox-4x32-10 on 32-bit values held in ``uint64`` arrays (or Python ints), element-wise.

    Args:
        counter: the four counter words, each an array or an int in ``[0, 2**32)``; arrays broadcast.
        key: the two key words in ``[0, 2**32)``: the first an int or an array (broadcast with the
            counter), the second an int.

    Returns:
        The four output words as ``uint64`` arrays of values in ``[0, 2**32)`` (new arrays).

    Raises:
        WatermarkError: the second key word is an array.
    """
    if isinstance(key[1], np.ndarray) and key[1].ndim:
        raise WatermarkError("the second key word must be a scalar")
    arrays = np.broadcast_arrays(
        *(np.asarray(c, dtype=np.uint64) for c in counter), np.asarray(key[0], dtype=np.uint64)
    )
    shape = arrays[0].shape
    c0, c1, c2, c3, k0 = (np.array(x, dtype=np.uint64).reshape(-1) for x in arrays)
    out = _rounds(c0, c1, c2, c3, k0, int(key[1]))
    return out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape), out[3].reshape(shape)


def sliding_contexts(token_ids: npt.NDArray[np.int64], width: int) -> U64Array:
    """
    The context of every position of *token_ids*: shape ``(n, width)``, oldest token first, ``-1`` padded.

    Values are taken modulo 2**32 (``-1`` becomes ``0xFFFFFFFF``), ready for :func:`context_state`.
    """
    n = len(token_ids)
    padded = np.empty(n + width, dtype=np.int64)
    padded[:width] = -1
    padded[width:] = token_ids
    words = padded.astype(np.uint64) & _LOW
    out = np.empty((n, width), dtype=np.uint64)
    for j in range(width):
        out[:, j] = words[j : j + n]
    return out


def context_state_columns(
    key: int, columns: Sequence[U64Array]
) -> tuple[U64Array, U64Array, U64Array, U64Array]:
    """
    The keyed 128-bit state of each context (rule 2), from the context given column-wise.

    Args:
        key: the 64-bit PRF key.
        columns: ``width`` arrays of equal length ``n``: the oldest context token of each row first,
            32-bit values (``0xFFFFFFFF`` for the start padding).

    Returns:
        Four new ``uint64`` arrays of length ``n``.
    """
    width = len(columns)
    n = len(columns[0])
    k0, k1 = key & _MASK, key >> 32
    initial = (CONTEXT_DOMAIN, width, 0, 0)
    state: tuple[U64Array, U64Array, U64Array, U64Array] | None = None
    for offset in range(0, width, 4):
        block = [columns[offset + i] if offset + i < width else np.uint64(_MASK - i) for i in range(4)]
        if state is None:  # first block: XOR with the initial state makes the four working arrays
            words = [np.bitwise_xor(np.broadcast_to(block[i], (n,)), np.uint64(initial[i])) for i in range(4)]
        else:
            words = [np.bitwise_xor(state[i], block[i], out=state[i]) for i in range(4)]
        state = _rounds(words[0], words[1], words[2], words[3], (k0 ^ offset) & _MASK, k1)
    assert state is not None  # width >= 1
    return state


def context_state(key: int, contexts: U64Array) -> tuple[U64Array, U64Array, U64Array, U64Array]:
    """
    The keyed 128-bit state of each context row (rule 2 of the module docstring).

    Args:
        key: the 64-bit PRF key.
        contexts: shape ``(n, width)``, 32-bit values (see :func:`sliding_contexts`).

    Returns:
        Four ``uint64`` arrays of length ``n``.
    """
    return context_state_columns(
        key, [np.ascontiguousarray(contexts[:, j]) for j in range(contexts.shape[1])]
    )


def sequence_words(
    key: int, columns: Sequence[U64Array], token_ids: U64Array, context_hash: U64Array | None = None
) -> U64Array:
    """
    The PRF word of each token after its context, for contexts given column-wise (the detector's inner loop).

    Rules 2 and 3 in one working block of five rows ``(t >> 2, s0, s1, s2, s3)``: the context
    state is computed in rows 1-4, then rows 0-3 are the candidate counter and row 4 the key.

    Args:
        key: the 64-bit PRF key.
        columns: ``width`` arrays of length ``n`` (oldest context token first, 32-bit values).
        token_ids: the ``n`` token ids (``uint64``).
        context_hash: if given, an ``n``-array that receives ``s0 | s1 << 32``, a 64-bit keyed hash
            of each context (equal contexts give equal hashes).

    Returns:
        The ``n`` 32-bit words (``uint64``).
    """
    width = len(columns)
    n = len(token_ids)
    k0, k1 = key & _MASK, key >> 32
    block = np.empty((5, n), dtype=np.uint64)
    initial = (CONTEXT_DOMAIN, width, 0, 0)
    for offset in range(0, width, 4):
        for i in range(4):
            word = columns[offset + i] if offset + i < width else np.uint64(_MASK - i)
            if offset == 0:
                np.bitwise_xor(word, np.uint64(initial[i]), out=block[i + 1])
            else:
                np.bitwise_xor(block[i + 1], word, out=block[i + 1])
        _rounds_pair(block[1:5:2], block[2:5:2], (k0 ^ offset) & _MASK, k1)  # (s0, s2), (s1, s3)
    if context_hash is not None:
        np.left_shift(block[2], np.uint64(32), out=context_hash)
        context_hash |= block[1]
    np.right_shift(token_ids, np.uint64(2), out=block[0])
    block[4] ^= np.uint64(k0)
    _rounds_pair(block[0:3:2], block[1:4:2], block[4], k1 ^ TOKEN_DOMAIN, own_key=True)
    lane = np.bitwise_and(token_ids.view(np.int64), 3)
    lane *= n
    lane += np.arange(n, dtype=np.int64)
    return block[:4].reshape(-1).take(lane)


def candidate_words(
    key: int, state: tuple[U64Array, U64Array, U64Array, U64Array], token_ids: U64Array
) -> U64Array:
    """
    The 32-bit PRF word of each (state, token) pair (rule 3): one Philox call per pair.

    Args:
        key: the 64-bit PRF key.
        state: the context states of :func:`context_state`, arrays broadcastable with *token_ids*.
        token_ids: token ids as ``uint64`` (``>= 0``).
    """
    k0, k1 = key & _MASK, key >> 32
    s0, s1, s2, s3 = (np.broadcast_to(s, token_ids.shape) for s in state)
    shape = token_ids.shape
    flat = token_ids.reshape(-1)
    outputs = _rounds(
        flat >> np.uint64(2),
        np.array(s0, dtype=np.uint64).reshape(-1),
        np.array(s1, dtype=np.uint64).reshape(-1),
        np.array(s2, dtype=np.uint64).reshape(-1),
        np.bitwise_xor(s3, np.uint64(k0)).reshape(-1),
        k1 ^ TOKEN_DOMAIN,
    )
    lane = (flat & np.uint64(3)).astype(np.intp)
    return np.choose(lane, outputs).reshape(shape)


def vocabulary_words(key: int, context: Sequence[int], vocab_size: int) -> U64Array:
    """
    The PRF word of every token id ``0 .. vocab_size - 1`` after one *context* (``context_width`` ids).

    One Philox call per group of four ids: the whole vocabulary in ``vocab_size / 4`` calls.
    """
    k0, k1 = key & _MASK, key >> 32
    state = _single_context_state(key, [int(t) & _MASK for t in context])
    groups = (vocab_size + 3) // 4
    a = np.empty((2, groups), dtype=np.uint64)  # counter (group, s0, s1, s2) as (c0, c2), (c1, c3)
    b = np.empty((2, groups), dtype=np.uint64)
    a[0] = np.arange(groups, dtype=np.uint64)
    a[1] = state[1]
    b[0] = state[0]
    b[1] = state[2]
    _rounds_pair(a, b, (k0 ^ state[3]) & _MASK, k1 ^ TOKEN_DOMAIN)
    words = np.empty((groups, 4), dtype=np.uint64)
    words[:, 0] = a[0]
    words[:, 1] = b[0]
    words[:, 2] = a[1]
    words[:, 3] = b[1]
    return words.reshape(-1)[:vocab_size]


def _single_context_state(key: int, context: Sequence[int]) -> tuple[int, int, int, int]:
    # rule 2 for one context, on Python ints
    columns = [np.asarray([t], dtype=np.uint64) for t in context]
    s0, s1, s2, s3 = context_state_columns(key, columns)
    return int(s0[0]), int(s1[0]), int(s2[0]), int(s3[0])


def words_to_uniform(words: U64Array) -> npt.NDArray[np.float64]:
    """
    Rule 4: ``float32((m + 1) / (2**24 + 1))`` for the top 24 bits ``m`` of each word, returned as float64.
    """
    return words_to_uniform32(words).astype(np.float64)


def words_to_uniform32(words: U64Array) -> npt.NDArray[np.float32]:
    """
    Rule 4 as float32 (the exact values vLLM computes): the division is done in float64 and rounded once.
    """
    mantissa = np.right_shift(words, np.uint64(8))
    plus_one = np.add(mantissa, 1.0, dtype=np.float64)
    out = np.empty(words.shape, dtype=np.float32)
    np.divide(plus_one, _UNIFORM_DENOMINATOR, out=out, casting="same_kind")
    return out


def gumbel_token_scores(
    words: U64Array, out: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """
    The ``gumbel`` score ``-log(1 - u)`` of each word's uniform ``u`` (Exp(1) under the null), in float64.
    """
    result = log_complement(words, out)
    return np.negative(result, out=result)


def log_complement(words: U64Array, out: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
    """
    ``log(1 - u)`` of each word's uniform ``u`` in float64 (the negated ``gumbel`` score).
    """
    complement = np.subtract(1.0, words_to_uniform32(words), dtype=np.float64)  # exact: u has 24 bits
    return np.log(complement, out=complement if out is None else out)


def philox_uniform(key: int, contexts: npt.ArrayLike, token_ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """
    The uniform number in (0, 1) of each (context, token) pair under *key*: vLLM's ``PhiloxPRF.uniform``.

    Args:
        key: the 64-bit PRF key (for ``gumbel`` profiles :attr:`WatermarkProfile.seed`, i.e. vLLM's ``key``).
        contexts: integer array of shape ``(n, width)`` (``-1`` is start padding).
        token_ids: integer array of length ``n`` (one token per context) or of shape ``(n, m)``.

    Returns:
        Float64 array shaped like *token_ids* holding float32-representable values in (0, 1).

    Raises:
        WatermarkError: *contexts* is not two-dimensional.
    """
    rows = np.asarray(contexts, dtype=np.int64)
    if rows.ndim != 2:
        raise WatermarkError(f"contexts must be a 2-D array (n, width), got shape {rows.shape}")
    tokens = np.asarray(token_ids, dtype=np.int64)
    state = context_state(key, rows.astype(np.uint64) & _LOW)
    words_in = tokens.astype(np.uint64) & _LOW
    if tokens.ndim == 2:
        state = tuple(s[:, None] for s in state)  # type: ignore[assignment]
    return words_to_uniform(candidate_words(key, state, words_in))
