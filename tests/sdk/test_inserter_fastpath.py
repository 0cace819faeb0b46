"""
The inserter's shortcut for an ordinary small delta (more text on a line, no markup, the next
packet not due inside it: only the budget moves) places packets exactly where the
character-by-character walk does, and a stream fed in such deltas gives the one-shot label.

Each test aims at a boundary of the shortcut: a delta that reaches or straddles the point
where a packet falls due, one that is exactly the budget left, markup characters, CR and
CRLF line ends, astral characters and lone surrogates, mark characters in the model's own
text, and empty deltas.
"""

from __future__ import annotations

import itertools

import pytest
from aigclabel import Labeler, LabelPolicy, StreamStateError
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from aigclabel.marks import alphabet
from aigclabel.marks.placement import Inserter, text_weight
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.helpers import KEY, PRODUCER

UNITS = ("<A>", "<B>")
#: Packets as dense as the policy allows, so that short texts carry several.
LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=64))
DEFAULT_LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))

#: Small pieces of what models send, with every character class the shortcut must refuse.
atoms = st.sampled_from(
    [
        "Hello ",
        "world. ",
        "a",
        " ",
        "你好，",
        "世界。",
        "字",
        "\n",
        "\r\n",
        "\r",
        "\n\n",
        "    ",
        "\t",
        "`",
        "``",
        "```",
        "~~~",
        "<",
        ">",
        "<pre>",
        "</pre>",
        "<b>",
        "|",
        "😀",
        "𠀀",
        "\ud800",
        "é",
        "《书》",
        alphabet.CF_ALPHABET[0],
        alphabet.CGJ + alphabet.VS_ALPHABET[3],
        alphabet.CF_ALPHABET * 3,
    ]
)


def walk(text: str, spacing: int) -> str:
    """
    The reference: every character through the per-character state machine.
    """
    return Inserter(UNITS, spacing)._feed_slow(text)


def fed(deltas: list[str], spacing: int) -> str:
    inserter = Inserter(UNITS, spacing)
    return "".join(inserter.feed(delta) for delta in deltas)


def split(text: str, sizes: list[int]) -> list[str]:
    """
    *text* cut into pieces of the given sizes in turn (a size of 0 gives an empty delta).
    """
    out, pos = [], 0
    for size in itertools.cycle(sizes):
        if pos >= len(text):
            break
        out.append(text[pos : pos + size])
        pos += size
    return out


@given(
    st.lists(atoms, min_size=1, max_size=60).map("".join),
    st.integers(min_value=1, max_value=120),
    st.lists(st.integers(0, 9), min_size=1, max_size=6).filter(any),
)
@example("Hello world. " * 20, 20, [3])
@example("你好，世界。" * 20, 41, [2, 0, 1])
@example("a b\r\nc d\re f " * 12, 9, [2])
@example("😀 𠀀 \ud800 é " * 10, 13, [1, 3])
@settings(max_examples=600)
def test_small_deltas_place_packets_where_the_character_walk_does(
    text: str, spacing: int, sizes: list[int]
) -> None:
    assert fed(split(text, sizes), spacing) == walk(text, spacing)


@pytest.mark.parametrize("extra", range(-3, 4))
def test_a_delta_that_ends_at_or_around_the_due_point_gets_the_packet_where_the_walk_puts_it(
    extra: int,
) -> None:
    """
    The first delta leaves some budget; the second weighs that budget plus or minus a few
    units (exactly the budget at 0): the packet goes at the next safe place either way.
    """
    spacing = 40
    head = "one two three "  # 14 ASCII characters: 28 units, 12 left
    left = spacing - text_weight(head)
    second = "x" * ((left + extra) // 2) + " y"
    rest = "zz after the point, and some more words "
    deltas = [head, second, rest, rest]

    assert fed(deltas, spacing) == walk("".join(deltas), spacing)
    assert "<A>" in fed(deltas, spacing)


def test_a_delta_that_is_exactly_the_budget_spends_it_and_the_packet_waits_for_a_safe_place() -> None:
    """
    Weight equal to the budget: the delta is released as it is (a packet is due, but the
    next safe place is at the start of the next word), and the packet opens that word.
    """
    inserter = Inserter(UNITS, 20)
    assert inserter.feed("abcd efgh ") == "abcd efgh "  # 10 ASCII characters: 20 units, all of it
    assert inserter.feed("ij") == "<A>ij"


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize(
    "text",
    [
        "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。" * 6,
        "words and more words, then `code here` and more words " * 4,
        "a <b>bold</b> word, <pre>raw text here</pre> and more words " * 4,
        "| a | b |\n| c | d |\nthen words and words and words\n" * 3,
        "line one\r\nline two\r\n    indented code here\r\nback to text\r\n" * 3,
        "emoji 😀 and 𠀀 ideographs and \ud800 lone halves, words " * 4,
        "model text with its own " + alphabet.CF_ALPHABET * 4 + " mark characters, and words " * 4,
        "~~~\nfenced code with words\n~~~\nand words after the fence " * 3,
    ],
    ids=["cjk", "code-span", "html", "table", "crlf", "astral", "mark-chars", "fence"],
)
def test_each_kind_of_text_in_small_deltas_matches_the_walk(text: str, size: int) -> None:
    for spacing in (3, 17, 64):
        assert fed(split(text, [size]), spacing) == walk(text, spacing)


def test_empty_deltas_give_nothing_and_change_nothing() -> None:
    text = "Hello world, this is text. " * 8
    with_empty = [piece for delta in split(text, [4]) for piece in ("", delta, "")]
    inserter = Inserter(UNITS, 30)

    assert inserter.feed("") == ""
    assert fed(with_empty, 30) == walk(text, 30)


def test_a_packet_is_due_only_once_the_budget_is_spent() -> None:
    """
    Deltas lighter than the budget left come back unchanged; the packet goes at the first safe
    place once the budget is spent.
    """
    inserter = Inserter(UNITS, 30)
    out = [inserter.feed(delta) for delta in ["one ", "two ", "six ", "ten "]]  # 32 units
    assert out == ["one ", "two ", "six ", "ten "]
    assert inserter.feed("next") == "<A>next"
    assert inserter.count == 1


# -- through the stream labeler ---------------------------------------------------------------

FIXED = ProduceIdParts(1_700_000_000_000, 0x123, 0x89ABCDEF)


def _fixed_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("aigclabel.labeler.new_produce_id", lambda: (produce_id_from_parts(FIXED), FIXED))


@pytest.mark.parametrize("placement", ["start", "end", "middle", "start+end", "none"])
@pytest.mark.parametrize("sizes", [[1], [2, 0], [7], [3, 11, 1]])
def test_a_stream_fed_in_small_deltas_gives_the_one_shot_label(
    placement: str, sizes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fixed_id(monkeypatch)
    text = (
        "杭州是浙江省的省会，以西湖闻名。\r\n春秋两季气候宜人 😀。\n\n"
        "Hangzhou is an hour from Shanghai; `code` and <b>tags</b> too. "
        + alphabet.CF_ALPHABET
        + " and more words. "
    ) * 4
    whole = LABELER.label(text, placement=placement).text  # type: ignore[arg-type]
    stream = LABELER.stream(placement=placement)  # type: ignore[arg-type]

    out = [stream.feed(delta) for delta in split(text, sizes)]
    out.append(stream.finish())

    assert "".join(out) == whole


def test_empty_deltas_to_a_stream_return_nothing_before_and_after_its_first_text() -> None:
    stream = DEFAULT_LABELER.stream(language="en")

    assert stream.feed("") == ""
    first = stream.feed("Hello there. ")
    assert stream.feed("") == ""
    assert stream.feed("More text. ") == "More text. "
    assert first.endswith("Hello there. ")


def test_feeding_a_finished_stream_raises_even_after_ordinary_deltas() -> None:
    stream = LABELER.stream(language="en")
    stream.feed("Hello there. ")
    stream.feed("More text. ")
    stream.finish()

    with pytest.raises(StreamStateError):
        stream.feed("late text")
    with pytest.raises(StreamStateError):
        stream.feed("")
