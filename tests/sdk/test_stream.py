"""
Tests for StreamLabeler: any chunking of a text gives the one-shot output; state errors.
"""

from __future__ import annotations

import itertools

import pytest
from aigclabel import DEFAULT_LABEL_TEXT, ExplicitLabel, Labeler, LabelPolicy, StreamStateError, verify
from aigclabel.ids import ProduceIdParts, produce_id_from_parts
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.helpers import KEY, PRODUCER, bench_text, mark_layout, visible

#: Packets as dense as the policy allows, so that short texts carry several.
LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=64))
DEFAULT_LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
placements = st.sampled_from(["start", "end", "middle", "start+end", "none"])
formats = st.sampled_from(["plain", "markdown", "html"])
FIXED_PARTS = ProduceIdParts(1_700_000_000_000, 0x123, 0x89ABCDEF)


@st.composite
def chunkings(draw: st.DrawFn) -> list[str]:
    """
    A text from the shared strategies, split at points Hypothesis chooses.
    """
    text = draw(strategies.any_text)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _stream(labeler: Labeler, chunks: list[str], **kwargs: str) -> str:
    stream = labeler.stream(**kwargs)  # type: ignore[arg-type]
    out = [stream.feed(chunk) for chunk in chunks]
    out.append(stream.finish())
    return "".join(out)


def _fixed_id(*, now_ms: int | None = None) -> tuple[str, ProduceIdParts]:
    return produce_id_from_parts(FIXED_PARTS), FIXED_PARTS


@given(chunkings(), placements, formats)
def test_stream_verifies_intact(chunks: list[str], placement: str, text_format: str) -> None:
    """
    For any text and any chunking the streamed output verifies intact with the key.
    """
    out = _stream(LABELER, chunks, placement=placement, text_format=text_format)

    assert "intact" == verify(out, key=KEY).status


@given(chunkings(), placements, formats)
def test_stream_has_the_one_shot_layout(chunks: list[str], placement: str, text_format: str) -> None:
    """
    For any chunking the streamed output has the one-shot visible text and marks at the same places.
    """
    one_shot = LABELER.label("".join(chunks), placement=placement, text_format=text_format)  # type: ignore[arg-type]
    streamed = _stream(LABELER, chunks, placement=placement, text_format=text_format)

    assert visible(one_shot.text) == visible(streamed)
    assert mark_layout(one_shot.text) == mark_layout(streamed)


@given(chunkings(), placements)
def test_stream_equals_one_shot_with_same_produce_id(chunks: list[str], placement: str) -> None:
    """
    With the ProduceID held fixed, the streamed output equals label() character for character.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aigclabel.labeler.new_produce_id", _fixed_id)
        one_shot = LABELER.label("".join(chunks), placement=placement)  # type: ignore[arg-type]
        streamed = _stream(LABELER, chunks, placement=placement)

    assert one_shot.text == streamed


def test_concatenated_returns_equal_result_text(labeler: Labeler) -> None:
    """
    What feed() and finish() return, joined, is result.text.
    """
    stream = labeler.stream()
    out = stream.feed("大模型") + stream.feed("的回答。") + stream.finish()

    assert stream.result is not None
    assert out == stream.result.text


def test_result_is_none_until_finish(labeler: Labeler) -> None:
    """
    result is only set by finish().
    """
    stream = labeler.stream()
    stream.feed("text")

    assert stream.result is None


def test_stream_ids_match_result(labeler: Labeler) -> None:
    """
    The stream's produce_id and mark_id are known up front and match the result.
    """
    stream = labeler.stream()
    stream.feed("hello")
    stream.finish()

    assert stream.result is not None
    assert (stream.produce_id, stream.mark_id) == (stream.result.produce_id, stream.result.mark_id)


def test_feed_after_finish_raises(labeler: Labeler) -> None:
    """
    feed() after finish() raises StreamStateError.
    """
    stream = labeler.stream()
    stream.feed("text")
    stream.finish()

    with pytest.raises(StreamStateError, match="after finish"):
        stream.feed("more")


def test_empty_feed_after_finish_raises(labeler: Labeler) -> None:
    """
    Even an empty feed() after finish() raises.
    """
    stream = labeler.stream()
    stream.finish()

    with pytest.raises(StreamStateError):
        stream.feed("")


def test_finish_twice_raises(labeler: Labeler) -> None:
    """
    A second finish() raises StreamStateError.
    """
    stream = labeler.stream()
    stream.feed("text")
    stream.finish()

    with pytest.raises(StreamStateError, match="after finish"):
        stream.finish()


def test_stream_state_error_is_a_runtime_error() -> None:
    """
    StreamStateError is a RuntimeError.
    """
    assert issubclass(StreamStateError, RuntimeError)


def test_end_placement_releases_text_early(labeler: Labeler) -> None:
    """
    With end placement, text is released as soon as its language is known (nothing held to the end).
    """
    stream = labeler.stream()

    assert "" == stream.feed("大模型的回")  # five characters do not yet decide the language
    assert "大模型的回答是这样" == visible(stream.feed("答是这样"))


def test_known_language_releases_the_first_character() -> None:
    """
    With the language set per request, nothing is held back: the first character goes out at once.
    """
    stream = Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).stream(language="zh")

    assert ("大", "模") == (visible(stream.feed("大")), visible(stream.feed("模")))


def test_start_placement_holds_only_while_undecided(labeler: Labeler) -> None:
    """
    With start placement, text that could be our own label is held; other text is released at once.
    """
    stream = labeler.stream(placement="start", language="zh")

    assert ("", "") == (stream.feed("  "), stream.feed("【本内"))
    assert ExplicitLabel(DEFAULT_LABEL_TEXT["zh"]).prefix() + "  【本内X" == visible(stream.feed("X"))


@settings(max_examples=10)
@given(st.sampled_from(["en_alice", "zh_luxun_nahan"]), st.data())
def test_long_prose_stream_equals_one_shot(name: str, data: st.DataObject) -> None:
    """
    Streaming a long real text in token-sized deltas gives the one-shot output (ProduceID held fixed).
    """
    text = bench_text(name)[:12_000]
    sizes = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=50))
    chunks, i = [], 0
    while i < len(text):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(text[i : i + size])
        i += size
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aigclabel.labeler.new_produce_id", _fixed_id)
        one_shot = DEFAULT_LABELER.label(text)
        streamed = _stream(DEFAULT_LABELER, chunks)

    assert one_shot.text == streamed
