"""
The Art. 6 tiers and the one verdict table every entry point applies.

``verify()`` (text), ``verify_bytes()`` / ``verify_file()`` (files), the batch and the
command line all classify with :func:`decide_tier` and report with :func:`exit_code`, so the
same input gets the same tier, status and exit code whichever way it arrives.

Tier (highest that applies):

=====================================================================  ===========
implicit label read from file metadata, or an in-text seal / packets    its Label:
(status intact, valid, unverified or tampered)                          1 confirmed,
                                                                        2 possible,
                                                                        3 suspected
the uploader declared the content AI-generated (Art. 6(4))              possible
other traces: an explicit label phrase, a significant statistical      suspected
watermark, forged or corrupt marks, an implicit-label carrier that
cannot be read
nothing of the above                                                    none
=====================================================================  ===========

When channels disagree, the highest tier wins and the disagreement is reported as a
conflict: a disagreement never lowers a tier.

Exit code: 3 the input could not be read; 2 a conflict, or marks tampered, forged or
corrupt; 1 no label (tier ``none``); 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_LABELED",
    "EXIT_NOT_FOUND",
    "EXIT_TAMPERED",
    "LABEL_OF_TIER",
    "TIER_OF_LABEL",
    "Tier",
    "decide_tier",
    "exit_code",
    "highest",
]

Tier = Literal["confirmed", "possible", "suspected", "none"]
TIER_OF_LABEL: dict[str, Tier] = {"1": "confirmed", "2": "possible", "3": "suspected"}
LABEL_OF_TIER: dict[Tier, Literal["1", "2", "3"]] = {"confirmed": "1", "possible": "2", "suspected": "3"}
_RANK: dict[Tier, int] = {"none": 0, "suspected": 1, "possible": 2, "confirmed": 3}
#: In-text statuses whose Label counts as an implicit label.
LABEL_STATUSES = frozenset({"intact", "valid", "unverified", "tampered"})
#: In-text statuses that are traces of a label but carry no trustworthy Label.
TRACE_STATUSES = frozenset({"forged", "corrupt"})
_DAMAGED = frozenset({"tampered", "forged", "corrupt"})

EXIT_LABELED = 0
EXIT_NOT_FOUND = 1
EXIT_TAMPERED = 2
EXIT_BAD_INPUT = 3


def highest(tiers: Iterable[Tier]) -> Tier:
    """The highest of *tiers* (``none`` for none)."""
    return max(tiers, key=_RANK.__getitem__, default="none")


def decide_tier(
    *,
    labels: Iterable[str] = (),
    status: str = "not_found",
    mark_label: str | None = None,
    declared: bool = False,
    traces: bool = False,
) -> Tier:
    """
    The tier of one input (see the module table).

    Args:
        labels: the ``Label`` of each implicit label read from the file's metadata.
        status: the in-text status from ``verify()``.
        mark_label: the ``Label`` the in-text seal or packets carry.
        declared: the uploader declared the content AI-generated.
        traces: an explicit label phrase, a significant statistical watermark or an
            unreadable label carrier was found.
    """
    found = [TIER_OF_LABEL[label] for label in labels if label in TIER_OF_LABEL]
    if status in LABEL_STATUSES and mark_label in TIER_OF_LABEL:
        found.append(TIER_OF_LABEL[mark_label])
    if declared:
        found.append("possible")
    if traces or status in TRACE_STATUSES:
        found.append("suspected")
    return highest(found)


def exit_code(tier: Tier, status: str, *, conflict: bool = False, error: bool = False) -> int:
    """The command-line exit code of a verdict (see the module docstring)."""
    if error:
        return EXIT_BAD_INPUT
    if conflict or status in _DAMAGED:
        return EXIT_TAMPERED
    return EXIT_NOT_FOUND if tier == "none" else EXIT_LABELED
