"""
History hygiene's quick test for bodies that cannot hold a mark never skips one that does:
own marks in assistant turns are dropped whether the JSON escapes them or not.
"""

from __future__ import annotations

import json

import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.middleware.history import HistoryHygiene

from tests.helpers import KEY, PRODUCER, visible

LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))


@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize(
    "text", ["Plain ASCII answer, long enough to carry a packet or two. " * 4, "杭州是浙江省的省会。" * 12]
)
def test_marked_turns_are_cleaned_in_both_json_forms(ascii_only: bool, text: str) -> None:
    """
    ASCII prose or CJK, escaped (`\\u034f`) or raw UTF-8: the marks go, the visible text stays.
    """
    labeled = LABELER.label(text).text
    body = json.dumps(
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": labeled}]},
        ensure_ascii=ascii_only,
    ).encode()

    cleaned = HistoryHygiene(LABELER).rewrite(body)

    assert cleaned is not None
    sent = json.loads(cleaned)["messages"][1]["content"]
    assert (visible(labeled), True) == (sent, len(sent) < len(labeled))


def test_a_body_without_marks_is_left_alone() -> None:
    """
    No escape and no 0xCD/0xE2 byte: nothing to do.
    """
    body = json.dumps({"messages": [{"role": "assistant", "content": "杭州 plain"}]}, ensure_ascii=False)

    assert HistoryHygiene(LABELER).rewrite(body.encode()) is None
