"""
Linear time on hostile input: 8× the input costs < 20× the time (quadratic would be 64×).

Model output and received text are outside input: the canonical form, the placement scanner
(``label()`` and ``stream()``) and ``verify()`` all see it. Ratios of medians, never absolute times.
"""

from __future__ import annotations

import pytest
from aigclabel import Labeler, LabelPolicy, canonical_text, verify

from tests.growth import assert_linear
from tests.helpers import KEY, PRODUCER

#: Patterns that made a regex rescan the rest of a line from every start, and their relatives.
HOSTILE = [
    "](",
    "![",
    "![a](",
    "][",
    "]:",
    "[a]: <",
    "<a",
    "<!--",
    "&#",
    "```",
    "1. ",
    "-1",
    "< 1",
    "1 % ",
    "²",
    "½",
    "≠",
    "a\n",
    "> ",
]
LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
MARKDOWN = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, text_format="markdown"))


def _repeat(unit: str) -> object:
    return lambda n: unit * max(1, n // len(unit))


@pytest.mark.parametrize("unit", HOSTILE)
@pytest.mark.parametrize("profile", ["plain", "markup"])
def test_canonical_text_is_linear(unit: str, profile: str) -> None:
    """
    The canonical form (both profiles) of a repeated hostile unit grows linearly.
    """
    assert_linear(lambda s: canonical_text(s, profile=profile), _repeat(unit), base=4096)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["](", "![", "![a](", "<a", "&#"])
def test_format_1_canonical_text_is_linear(unit: str) -> None:
    """
    The canonical form of format-1 seals, which 0.1 computed in quadratic time, is linear too.
    """
    assert_linear(lambda s: canonical_text(s, version=1), _repeat(unit), base=4096)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["](", "![", "<a", "`", "~~~\n", "| a ", "<pre>", "    x\n", "a "])
def test_label_is_linear(unit: str) -> None:
    """
    ``label()`` (placement scanner, canonical form, seal) on hostile model output grows linearly.
    """
    assert_linear(LABELER.label, _repeat(unit), base=2048)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["](", "<a", "`"])
def test_markdown_label_is_linear(unit: str) -> None:
    """
    The markup profile's labeling path grows linearly too.
    """
    assert_linear(MARKDOWN.label, _repeat(unit), base=2048)  # type: ignore[arg-type]


def test_streaming_many_small_chunks_is_linear() -> None:
    """
    Feeding 1-character deltas costs time proportional to the text.
    """

    def run(text: str) -> None:
        stream = LABELER.stream()
        for ch in text:
            stream.feed(ch)
        stream.finish()

    assert_linear(run, _repeat("Hello there, world ](<a "), base=2048)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["](", "![", "<a", "\u200b" * 8 + "a", "\u034f\ufe00\ufe01" + "b"])
def test_verify_is_linear(unit: str) -> None:
    """
    ``verify()`` on hostile received text, markup or mark-like runs, grows linearly.
    """
    assert_linear(lambda s: verify(s, key=KEY), _repeat(unit), base=2048)  # type: ignore[arg-type]


def test_verify_of_a_long_labeled_text_is_linear() -> None:
    """
    Verifying labeled text (many packets, one seal) grows linearly with its length.
    """
    assert_linear(
        lambda s: verify(s, key=KEY),
        lambda n: LABELER.label("人工智能生成的回答，包含数字 2.5 mg 与链接 [a](b)。" * max(1, n // 30)).text,
        base=2048,
    )
