"""
Label data first and abort safety in the core: the interface tag is complete before the first
text is released, and a stream stopped at any point ends with a label over what was delivered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aigclabel import (
    DEFAULT_LABEL_TEXT,
    LabelContext,
    Labeler,
    LabelPolicy,
    OptOut,
    PolicyError,
    StreamStateError,
    verify,
)
from aigclabel.adapters.audit import AuditStore
from aigclabel.audit.recorder import content_sha256
from aigclabel.explicit import Placement

from tests.helpers import CHAIN_KEY, KEY, PRODUCER, bench_text, visible

ZH = DEFAULT_LABEL_TEXT["zh"]
EN = DEFAULT_LABEL_TEXT["en"]
ANSWER = bench_text("zh_luxun_nahan")[:600]
CHUNKS = [ANSWER[i : i + 7] for i in range(0, len(ANSWER), 7)]
PLACEMENTS: tuple[Placement, ...] = ("end", "start", "start+end", "middle", "none")


def _run(labeler: Labeler, stop: int, **kwargs: Any) -> tuple[str, list[str | None], str]:
    """
    Feed the first *stop* chunks and abort: (everything released, the tag text seen at each
    release that carried text, the abort tail).
    """
    stream = labeler.stream(**kwargs)
    released = []
    tags: list[str | None] = []
    for chunk in CHUNKS[:stop]:
        out = stream.feed(chunk)
        if visible(out):
            tags.append(stream.disclosure.text if stream.disclosure is not None else None)
        released.append(out)
    tail = stream.abort()
    return "".join(released) + tail, tags, tail


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_tag_is_complete_before_the_first_text_is_released(
    labeler: Labeler, placement: Placement
) -> None:
    """
    Whatever the placement, the stream's disclosure exists by the first release that carries
    text, and it is the final result's tag (same ProduceID, same wording).
    """
    stream = labeler.stream(placement=placement)
    first_tag = None
    for chunk in CHUNKS:
        out = stream.feed(chunk)
        if visible(out) and first_tag is None:
            first_tag = stream.disclosure
            assert first_tag is not None
    stream.finish()

    assert stream.result is not None
    assert (first_tag or stream.disclosure) == stream.result.ui
    assert stream.result.ui.produce_id == stream.result.produce_id
    assert (placement, placement != "none") == (
        stream.result.ui.placement,
        stream.result.ui.explicit_label_in_text,
    )
    assert (f"【{ZH}】" if placement != "none" else "") == stream.result.ui.label_text
    assert "AI" == stream.result.ui.short_text


def test_a_known_language_gives_the_tag_before_any_text(labeler: Labeler) -> None:
    """
    With the language set per request (or bound in the context), the tag exists at once.
    """
    with labeler.context(language="en"):
        stream = labeler.stream()

    assert stream.disclosure is not None
    assert (EN, "en") == (stream.disclosure.text, stream.disclosure.language)


def test_an_unknown_request_language_is_refused(labeler: Labeler) -> None:
    """
    Only zh and en labels exist: another language is a PolicyError naming the value.
    """
    with pytest.raises(PolicyError, match="'fr'"):
        labeler.label("text", language="fr")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="'de'"):
        LabelContext(language="de")  # type: ignore[arg-type]


def test_the_request_language_overrides_the_script(labeler: Labeler) -> None:
    """
    A Chinese product labels an English answer in Chinese when it says so.
    """
    result = labeler.label("The answer is forty-two.", language="zh")

    assert visible(result.text).endswith(f"【{ZH}】")
    assert "zh-CN" == result.ui.language


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_every_stop_point_leaves_a_labeled_or_empty_delivery(labeler: Labeler, placement: Placement) -> None:
    """
    Stopped after any number of chunks, what was delivered plus abort()'s tail carries the
    visible label (or, for placement none, was preceded by the tag), and verifies intact.
    """
    for stop in range(len(CHUNKS) + 1):
        delivered, tags, tail = _run(labeler, stop, placement=placement)
        seen = visible(delivered)
        if not seen:
            assert "" == tail
            continue
        assert all(tag == ZH for tag in tags), stop
        if placement == "none":
            assert ZH not in seen
        else:
            assert seen.startswith(f"【{ZH}】") or seen.endswith(f"【{ZH}】"), (placement, stop)
            assert 1 <= seen.count(ZH) <= 2
        assert "intact" == verify(delivered, key=KEY).status, (placement, stop)


def test_abort_drops_text_that_was_held_back(labeler: Labeler) -> None:
    """
    Middle placement holds the whole text: aborting delivers nothing and returns nothing.
    """
    stream = labeler.stream(placement="middle")
    for chunk in CHUNKS[:10]:
        assert "" == stream.feed(chunk)

    assert "" == stream.abort()
    assert stream.result is not None
    assert "" == stream.result.text


def test_finish_and_abort_are_final(labeler: Labeler) -> None:
    """
    After abort() neither feed(), finish() nor abort() is allowed, and abort() after finish() neither.
    """
    stream = labeler.stream()
    stream.feed(ANSWER)
    stream.abort()
    for call in (lambda: stream.feed("x"), stream.finish, stream.abort):
        with pytest.raises(StreamStateError):
            call()
    done = labeler.stream()
    done.finish()
    with pytest.raises(StreamStateError, match="abort"):
        done.abort()


def test_an_opted_out_stream_says_so_in_its_tag_and_records_what_was_delivered(tmp_path: Path) -> None:
    """
    The opted-out tag differs from a tag-only answer by opted_out alone; an aborted opted-out
    stream's completion record holds the hash of what was delivered, not of the whole answer.
    """
    url = f"sqlite:///{tmp_path / 'records.db'}"
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER, key=KEY, audit_store=url, opt_out_agreements=["v1"], audit_chain_key=CHAIN_KEY
        )
    )
    try:
        context = LabelContext(user="u-1", opt_out=OptOut(user="u-1", agreement_version="v1"))
        stream = labeler.stream(context=context, language="zh")
        tag_only = labeler.stream(placement="none", language="zh").disclosure
        assert stream.disclosure is not None
        assert tag_only is not None
        assert stream.disclosure.opted_out
        assert not tag_only.opted_out
        assert {"opted_out", "produce_id"} == {
            k for k, v in stream.disclosure.model_dump().items() if v != tag_only.model_dump()[k]
        }
        delivered = "".join(stream.feed(chunk) for chunk in CHUNKS[:20]) + stream.abort()
        labeler.complete(stream)
    finally:
        labeler.close()

    store = AuditStore.open(url)
    try:
        kinds = [(r.kind, r.content_sha256) for r in store.query()]
    finally:
        store.close()
    assert [("generated", None), ("completed", content_sha256(delivered))] == kinds
    assert ZH not in visible(delivered)


def test_describe_says_whether_the_user_opted_out(labeler: Labeler) -> None:
    """
    Output with no text (tool calls) gets a tag whose opted_out follows the request's decision.
    """
    from aigclabel.labeler import OptOutDecision

    accepted = OptOutDecision(opt_out=OptOut(user="u", agreement_version="v1"))

    assert labeler.describe(decision=accepted).ui.opted_out
    assert not labeler.describe().ui.opted_out
    assert "none" == labeler.describe().ui.placement
    assert "en" == labeler.describe(context=LabelContext(language="en")).ui.language


@pytest.mark.parametrize("placement", ["end", "start", "none", "middle"])
@pytest.mark.parametrize("language", ["zh", "en", None])
def test_label_data_equals_the_models_it_stands_for_at_every_stage(
    labeler: Labeler, placement: Placement, language: Any
) -> None:
    stream = labeler.stream(placement=placement, language=language)
    if language is None:
        assert stream.label_data() is None  # the script has not decided yet
    stream.feed("这是一个关于天气的回答，" if language != "en" else "This is an answer about the weather. ")
    data = stream.label_data()
    assert data is not None
    assert data == (stream.metadata.to_dict("wrapped"), stream.disclosure.model_dump())  # type: ignore[union-attr]
    data[0]["AIGC"]["ProduceID"] = "changed"  # fresh dicts: the next stream's are untouched
    data[1]["produce_id"] = "changed"
    other = labeler.stream(placement=placement, language=language)
    other.feed("这是第二个关于天气的回答。" if language != "en" else "A second answer about the weather. ")
    again = other.label_data()
    assert again is not None
    assert again[0]["AIGC"]["ProduceID"] == again[1]["produce_id"] == other.produce_id
    stream.finish()
    assert stream.result is not None
    assert stream.label_data() == (stream.result.metadata.to_dict("wrapped"), stream.result.ui.model_dump())
