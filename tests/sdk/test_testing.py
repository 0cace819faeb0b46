"""
The test kit shipped to users: assert_labeled and chunked.
"""

from __future__ import annotations

import pytest
from aigclabel import Labeler
from aigclabel.testing import assert_labeled, chunked

from tests.helpers import KEY


def test_assert_labeled_returns_the_verdict(labeler: Labeler) -> None:
    """
    A labeled text passes and the verdict comes back.
    """
    verdict = assert_labeled(labeler.label("你好，世界。").text, key=KEY, explicit=True)

    assert "intact" == verdict.status


def test_assert_labeled_fails_on_plain_text() -> None:
    """
    Unlabeled text fails with the status in the message.
    """
    with pytest.raises(AssertionError, match="not_found"):
        assert_labeled("plain text", key=KEY)


def test_assert_labeled_checks_the_visible_label(labeler: Labeler) -> None:
    """
    explicit=True fails when only invisible marks are present.
    """
    text = labeler.label("你好，世界。", placement="none").text

    with pytest.raises(AssertionError, match="present"):
        assert_labeled(text, key=KEY, explicit=True)


def test_chunked_covers_the_text_in_order() -> None:
    """
    The chunks join back to the text and none is longer than max_size.
    """
    text = "大模型生成的回答" * 50

    chunks = list(chunked(text, max_size=5, seed=3))

    assert text == "".join(chunks)
    assert all(1 <= len(c) <= 5 for c in chunks)


def test_chunked_streams_label_like_one_shot(labeler: Labeler) -> None:
    """
    Driving a stream with chunked() yields an intact label.
    """
    stream = labeler.stream()
    out = "".join(stream.feed(c) for c in chunked("大模型生成的回答，" * 80)) + stream.finish()

    assert "intact" == assert_labeled(out, key=KEY).status
