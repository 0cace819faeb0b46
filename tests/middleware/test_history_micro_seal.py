"""
Request-side hygiene and the micro seal: a micro seal has no packet MAC, so it is this labeler's
only when its MAC verifies over the turn it ends.
"""

from __future__ import annotations

from aigclabel import Labeler, LabelPolicy
from aigclabel.middleware.history import HistoryHygiene

from tests.helpers import KEY, PRODUCER, visible

OTHER_KEY = "7c1e9a3f5b2d8e604a9c1f3e5d7b9a20"
OURS = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
HYGIENE = HistoryHygiene(OURS)


def test_an_own_micro_seal_is_kept_out_of_the_model_request() -> None:
    """
    The turn this labeler sealed goes upstream without its micro seal (≈ 55 tokens saved).
    """
    labeled = OURS.label("好的。").text

    assert visible(labeled) == HYGIENE.model_text(labeled)


def test_another_producers_micro_seal_goes_upstream_unchanged() -> None:
    """
    A micro seal made under another key is not ours, whatever its header says.
    """
    theirs = Labeler(LabelPolicy(producer=PRODUCER, key=OTHER_KEY)).label("好的。").text

    assert theirs == HYGIENE.model_text(theirs)


def test_an_own_micro_seal_moved_onto_other_words_is_not_taken_for_ours() -> None:
    """
    Ours only over the text it seals: the same seal under an edited turn stays, before and after
    the genuine turn was seen (the answer is never cached by the seal alone).
    """
    labeled = OURS.label("剂量为 2.5 mg。").text
    moved = labeled.replace("2.5", "25")

    assert (moved, visible(labeled), moved) == (
        HYGIENE.model_text(moved),
        HYGIENE.model_text(labeled),
        HYGIENE.model_text(moved),
    )
