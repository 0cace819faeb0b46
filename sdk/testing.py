"""
Helpers for testing code that uses aigc-label.

``assert_labeled`` checks that text your application releases carries a valid label;
``chunked`` splits text the way a streaming model might, to exercise stream paths.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from .verification import Status, Verdict, verify

__all__ = ["assert_labeled", "chunked"]


def assert_labeled(
    text: str,
    *,
    key: str | bytes | None = None,
    public_key: str | bytes | None = None,
    statuses: Sequence[Status] = ("intact",),
    explicit: bool | None = None,
) -> Verdict:
    """
    Assert that *text* carries an implicit label in one of *statuses*; return the verdict.

    Args:
        text: the text your code released.
        key: the HMAC secret (or ``public_key`` for Ed25519 seals); without either the
            best possible status is ``unverified``.
        statuses: acceptable statuses.
        explicit: when set, also assert that a visible label phrase is (or is not) present.

    Raises:
        AssertionError: with the verdict's status, tier and evidence.
    """
    verdict = verify(text, key=key, public_key=public_key)
    if verdict.status not in statuses:
        raise AssertionError(
            f"expected a label with status in {tuple(statuses)}, got {verdict.status!r} "
            f"(tier {verdict.tier!r}); evidence: {verdict.evidence}"
        )
    if explicit is not None and bool(verdict.evidence.explicit) != explicit:
        raise AssertionError(
            f"expected the visible label to be {'present' if explicit else 'absent'}; "
            f"found {[m.phrase for m in verdict.evidence.explicit]}"
        )
    return verdict


def chunked(text: str, *, max_size: int = 8, seed: int | None = 0) -> Iterator[str]:
    """
    Yield *text* in random pieces of 1 to *max_size* characters (reproducible with *seed*).
    """
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    rnd = random.Random(seed)
    i = 0
    while i < len(text):
        n = rnd.randint(1, max_size)
        yield text[i : i + n]
        i += n
