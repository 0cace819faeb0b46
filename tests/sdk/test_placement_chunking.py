"""
The packet inserter gives the same output for any chunking, at any spacing.

Feeding one character at a time takes the per-character path; a whole text takes the
bulk paths (runs between markup characters, whole lines, the budget spent in one search):
the two must agree byte for byte, with packets dense enough to land everywhere.
"""

from __future__ import annotations

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
