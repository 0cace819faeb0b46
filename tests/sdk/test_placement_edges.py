"""
Where packets may not go: regression cases for code, HTML, tables and words.
"""

from __future__ import annotations

import pytest
from aigclabel import Labeler, LabelPolicy

from tests.helpers import KEY, PRODUCER, mark_layout, visible

# Packets every ~30 tokens so that any allowed position in these short texts gets one.
DENSE = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=64, placement="none"))
FILLER = "word " * 40


def packet_offsets(text: str, fmt: str = "markdown") -> list[int]:
    labeled = DENSE.label(text, text_format=fmt).text  # type: ignore[arg-type]
    assert visible(labeled) == text
    return [offset for offset, _ in mark_layout(labeled)][:-1]  # the last run is the seal


@pytest.mark.parametrize(
    ("name", "inside"),
    [
        ("tilde fence", "~~~\n{}\n~~~"),
        ("fence closed only by a fence as long", "````md\n```python\n{}\n```\n{}\n````"),
        ("double-backtick code span", "`` a ` {} ``"),
        ("code span over two lines", "`a\n{}`"),
        ("HTML tag over two lines", '<img\n src="x" alt="{}">'),
        ("pre element", "<pre>{}</pre>"),
        ("code element", "<code>{}</code>"),
        ("indented code", "    {}"),
        ("table row without a leading pipe", "a | {}"),
    ],
)
def test_no_packet_inside(name: str, inside: str) -> None:
    """
    No packet lands inside fenced, indented or inline code, HTML tags, raw elements or table rows.
    """
    text = inside.replace("{}", FILLER.strip())
    start = text.index("word")
    end = text.rindex("word") + 4

    assert [] == [o for o in packet_offsets(text) if start < o < end], name


def test_fence_with_indented_closer_stays_open() -> None:
    """
    A fence-like line indented four spaces is code, not a closing fence.
    """
    text = "```\nx\n    ```\n" + FILLER + "\n```"

    assert [] == packet_offsets(text)


@pytest.mark.parametrize("text", ["col·lecció " * 30, "价格为１２．５元，" * 30])
def test_no_packet_inside_words_or_numbers(text: str) -> None:
    """
    A middle dot inside a Catalan word and a full-width decimal point are not safe positions.
    """
    for offset in packet_offsets(text, "plain"):
        assert text[offset - 1] not in "·．"


def test_packets_still_go_into_ordinary_prose() -> None:
    """
    The restrictions leave ordinary prose, after code, with packets (guards a vacuous pass).
    """
    assert packet_offsets("```\ncode\n```\n\n" + FILLER)
