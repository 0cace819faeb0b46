"""
The packet inserter gives the same output for any chunking, at any spacing.

Feeding one character at a time takes the per-character path; a whole text takes the
bulk paths (runs between markup characters, whole lines, the budget spent in one search):
the two must agree byte for byte, with packets dense enough to land everywhere. Where the C
extension is built, its scan of text with line ends must agree with the Python loop too.
"""

from __future__ import annotations

import pytest
from aigclabel import canonical
from aigclabel.marks.placement import Inserter
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests import strategies

UNITS = ("<A>", "<B>")

pieces = st.sampled_from(
    [
        "Hello world. ",
        "你好，世界。",
        "\n",
        "\n\n",
        "    indented code\n",
        "\tTabbed\n",
        "```py\nx = 1\n```\n",
        "~~~\ncode\n~~~~\n",
        "`inline` ",
        "<pre>raw text</pre> ",
        "<b>bold</b> ",
        "| a | b |\n",
        "- item one\n",
        "https://example.com/a?b=c ",
        "😀 ",
        "é ",
        "《书名》、",
        "  ",
        "Ünïcödé wörds ",
        "a" * 40,
        "字" * 30,
    ]
)
texts = st.one_of(
    st.lists(pieces, min_size=1, max_size=30).map("".join),
    strategies.any_text,
)


def feed_all(text: str, spacing: int, sizes: list[int]) -> str:
    ins = Inserter(UNITS, spacing)
    out, pos, k = [], 0, 0
    while pos < len(text):
        size = sizes[k % len(sizes)] if sizes else len(text)
        out.append(ins.feed(text[pos : pos + size]))
        pos += size
        k += 1
    return "".join(out)


@given(texts, st.integers(min_value=1, max_value=400), st.lists(st.integers(1, 50), max_size=8))
@example("你好，世界。\n" * 40, 37, [])
@example("Hello world. \n" * 40 + "字" * 200, 3, [7])
@settings(max_examples=500)
def test_any_chunking_places_packets_where_one_character_at_a_time_does(
    text: str, spacing: int, sizes: list[int]
) -> None:
    assert feed_all(text, spacing, sizes) == feed_all(text, spacing, [1])


line_texts = st.lists(
    st.sampled_from(
        [
            "你好，世界。",
            "Hello world. ",
            "\n",
            "\n\n",
            "    indented\n",
            "\t\tx\n",
            "  two spaces ",
            "“引号”",
            "😀 ",
            "\ud800 ",  # a lone surrogate weighs as its surrogatepass encoding
            "字" * 30,
            "a" * 40,
            "Ａ１ ",
        ]
    ),
    min_size=1,
    max_size=40,
).map("".join)


@given(
    st.one_of(line_texts, texts),
    st.integers(min_value=1, max_value=400),
    st.lists(st.integers(1, 50), max_size=8),
)
@example("你好，世界。\n" * 40, 37, [])
@example("  a b\n    c d\n\te f\n 字，字\n", 1, [])
@settings(max_examples=300)
def test_the_c_scan_places_packets_where_the_python_loop_does(
    text: str, spacing: int, sizes: list[int]
) -> None:
    if canonical.SPEEDUPS is None:
        pytest.skip("the C extension is not built or switched off")
    with_c = feed_all(text, spacing, sizes)
    saved, canonical.SPEEDUPS = canonical.SPEEDUPS, None
    try:
        assert feed_all(text, spacing, sizes) == with_c
    finally:
        canonical.SPEEDUPS = saved
