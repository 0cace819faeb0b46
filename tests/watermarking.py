"""
Watermarked and plain text for the tests of the statistical channel: words drawn from a random
next-word distribution (about 4 bits of entropy a word), through a labeler's ``gumbel`` scheme.
"""

from __future__ import annotations

import functools

import numpy as np
from aigclabel import Labeler
from aigclabel.tokens import get_encoding
from aigclabel.watermark import Tokenizer, gumbel_choice, tiktoken_tokenizer

WORDS = (  # noqa: SIM905 (one string reads better than a hundred literals)
    "time year people way day man thing woman life child world school state family student group "
    "country problem hand part place case week company system program question work government "
    "number night point home water room mother area money story fact month lot right study book "
    "eye job word business issue side kind head house service friend father power hour game line "
    "end member law car city community name president team minute idea kid body information back "
    "parent face others level office door health person art war history party result change "
    "morning reason research girl guy moment air teacher force education foot boy age policy music"
).split()


@functools.cache
def tokenizer() -> Tokenizer:
    return tiktoken_tokenizer("o200k_base")


@functools.cache
def word_ids() -> np.ndarray:
    ids = [tokenizer().encode(" " + w) for w in WORDS]
    return np.array(sorted({i[0] for i in ids if len(i) == 1}), dtype=np.int64)


def generate(labeler: Labeler | None, n: int, seed: int) -> str:
    """
    *n* words from a random next-word distribution (entropy about 4 bits), sampled through
    the labeler's gumbel scheme (or plainly, without a labeler).
    """
    tok = tokenizer()
    rng = np.random.default_rng(seed)
    profile = labeler.watermark_profile(tok.vocab_size) if labeler is not None else None
    ids = word_ids()
    generated: list[int] = []
    for _ in range(n):
        probs = np.zeros(tok.vocab_size)
        probs[ids] = rng.dirichlet(np.full(len(ids), 0.3))
        if profile is None:
            generated.append(int(rng.choice(tok.vocab_size, p=probs)))
        else:
            generated.append(gumbel_choice(profile, generated, probs, rng=rng))
    return get_encoding("o200k_base").decode(generated).strip()  # type: ignore[attr-defined,no-any-return]
