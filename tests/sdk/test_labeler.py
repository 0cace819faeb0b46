"""
Tests for Labeler.label(): the result object, context, options and the text it returns.
"""

from __future__ import annotations

import re

import pytest
from aigclabel import (
    AIGCMetadata,
    LabelContext,
    LabeledText,
    Labeler,
    LabelPolicy,
    OptOut,
    OptOutError,
    is_compliant_label_text,
    verify,
)
from aigclabel.ids import parse_produce_id
from aigclabel.marks import alphabet
from hypothesis import given

from tests import strategies
from tests.helpers import CHAIN_KEY, KEY, PRODUCER, bench_text, visible

LABELER = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full"))
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(name="result")
def _result(labeler: Labeler) -> LabeledText:
    """
    One labeled Chinese answer.
    """
    return labeler.label("大模型生成的回答，内容很长。")


def test_result_ids_are_consistent(result: LabeledText) -> None:
    """
    The ProduceID is a UUIDv7 whose carried mark id is the result's mark_id, and metadata repeats it.
    """
    parts = parse_produce_id(result.produce_id)

    assert UUID7.fullmatch(result.produce_id)
    assert parts is not None
    assert f"{parts.mark_id:08x}" == result.mark_id
    assert (result.produce_id, result.produce_id) == (result.metadata.produce_id, result.ui.produce_id)


def test_metadata_is_a_first_write(result: LabeledText) -> None:
    """
    The metadata is the producer's first write with an HS256 integrity record.
    """
    meta = result.metadata

    assert ("1", PRODUCER, PRODUCER, result.produce_id) == (
        meta.label,
        meta.content_producer,
        meta.content_propagator,
        meta.propagate_id,
    )
    assert meta.reserved_code1.startswith("SD2.HS256.0.")
    assert meta == AIGCMetadata.from_json(meta.to_json())


def test_each_call_gets_a_fresh_produce_id(labeler: Labeler) -> None:
    """
    Two labels of the same text have different ProduceIDs.
    """
    assert labeler.label("同一段文字").produce_id != labeler.label("同一段文字").produce_id


def test_str_is_the_text(result: LabeledText) -> None:
    """
    str(result) is the labeled text.
    """
    assert result.text == str(result)


def test_ui_tag(result: LabeledText) -> None:
    """
    The interface tag is persistent, compliant, in the content's language and says the text is labeled.
    """
    ui = result.ui

    assert (True, "zh-CN", True, "near_content") == (
        ui.persistent,
        ui.language,
        ui.explicit_label_in_text,
        ui.position,
    )
    assert is_compliant_label_text(ui.text)


def test_ui_tag_language_english(labeler: Labeler) -> None:
    """
    English content gets an English-tagged interface prompt.
    """
    assert "en" == labeler.label("Hello there.").ui.language


def test_ui_tag_without_explicit_label(labeler: Labeler) -> None:
    """
    With placement none the interface tag says the text carries no visible label.
    """
    assert not labeler.label("你好", placement="none").ui.explicit_label_in_text


def test_label_rejects_bytes(labeler: Labeler) -> None:
    """
    label() takes str only.
    """
    with pytest.raises(TypeError, match="bytes"):
        labeler.label(b"bytes")  # type: ignore[arg-type]


def test_opt_out_without_record_store_is_labeled_with_a_notice() -> None:
    """
    An Art. 9 opt-out cannot be honoured without a record store: the text is labeled as usual
    and the result says why.
    """
    labeler = Labeler(
        LabelPolicy(producer=PRODUCER, key=KEY, opt_out_agreements=["v1"], audit_chain_key=CHAIN_KEY)
    )
    out = labeler.label(
        "text", context=LabelContext(user="u1", opt_out=OptOut(user="u1", agreement_version="v1"))
    )

    assert (True, False) == (out.explicit, out.opted_out)
    assert out.notice is not None
    assert "record store" in out.notice


def test_opt_out_refusal_raises_when_the_policy_says_so() -> None:
    """
    With opt_out_on_error = "raise", a refused opt-out raises OptOutError and nothing is returned.
    """
    strict = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            opt_out_on_error="raise",
            opt_out_agreements=["v1"],
            audit_chain_key=CHAIN_KEY,
        )
    )

    with pytest.raises(OptOutError, match="record store"):
        strict.label(
            "text", context=LabelContext(user="u1", opt_out=OptOut(user="u1", agreement_version="v1"))
        )


def test_context_manager_binds_and_resets() -> None:
    """
    labeler.context() binds the context for calls inside it only.
    """
    strict = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, opt_out_on_error="raise"))

    with (
        strict.context(user="u1", opt_out=OptOut(user="u1", agreement_version="v1")),
        pytest.raises(OptOutError),
    ):
        strict.label("text")

    assert strict.label("text").explicit


def test_marks_off_leaves_no_invisible_characters() -> None:
    """
    With marks = false the text holds no mark character and verify() finds only the explicit phrase.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, marks=False))
    result = labeler.label("大模型的回答。" * 200)

    assert None is alphabet.ANY_MARK_CHAR.search(result.text)
    assert ("suspected", "not_found") == (
        verify(result.text, key=KEY).tier,
        verify(result.text, key=KEY).status,
    )


def test_json_format_returns_text_unchanged(labeler: Labeler) -> None:
    """
    Structured output (text_format json) is returned unchanged; its label is the metadata.
    """
    data = '{"answer": "大模型的回答", "n": 1}'
    result = labeler.label(data, text_format="json")  # type: ignore[arg-type]

    assert (data, False) == (result.text, result.explicit)
    assert result.produce_id == result.metadata.produce_id


@pytest.mark.parametrize(("channels", "cf", "mn"), [("mn", 0, 1), ("cf", 1, 0), ("both", 1, 1)])
def test_seal_channels(channels: str, cf: int, mn: int) -> None:
    """
    seal_channels chooses which invisible channel(s) carry the seal.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_channels=channels))
    evidence = verify(labeler.label("大模型的回答。").text, key=KEY).evidence

    assert (cf, mn) == (evidence.cf.seals, evidence.mn.seals)


def test_packet_count_matches_text(labeler: Labeler) -> None:
    """
    result.packets counts the packets in the text (verify sees the same number).
    """
    result = labeler.label(bench_text("en_alice"))
    evidence = verify(result.text, key=KEY).evidence

    assert result.packets > 10
    assert result.packets == evidence.cf.packets + evidence.mn.packets


def test_packets_alternate_channels(labeler: Labeler) -> None:
    """
    Packets go on both channels, so a filter for either category leaves some.
    """
    evidence = verify(labeler.label(bench_text("zh_luxun_nahan")[:20_000]).text, key=KEY).evidence

    assert evidence.cf.valid > 0
    assert evidence.mn.valid > 0
    assert abs(evidence.cf.valid - evidence.mn.valid) <= 1


def test_denser_excerpt_setting_gives_more_packets() -> None:
    """
    A smaller excerpt_tokens guarantee puts packets closer together.
    """
    text = bench_text("en_alice")
    sparse = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=800)).label(text).packets
    dense = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=200)).label(text).packets

    assert dense > sparse


@given(strategies.any_text)
def test_visible_text_is_preserved(text: str) -> None:
    """
    With placement none, removing the mark characters gives back the input (minus its own mark characters).
    """
    assert visible(text) == visible(LABELER.label(text, placement="none").text)


@given(strategies.any_text)
def test_label_then_verify_is_intact(text: str) -> None:
    """
    For any text, verify(label(text)) with the key is intact and confirmed, with the same metadata.
    """
    result = LABELER.label(text)
    verdict = verify(result.text, key=KEY)

    assert ("confirmed", "intact") == (verdict.tier, verdict.status)
    assert result.metadata == verdict.metadata


def test_no_mark_inside_code_fence_or_inline_code() -> None:
    """
    Packets never go inside fenced code, inline code or table rows (code must still run).
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, excerpt_tokens=64))
    fence = "```python\n" + "value = compute(alpha, beta) + other_value\n" * 30 + "```"
    inline = "`" + "word " * 40 + "`"
    table = "| " + " | ".join(["cell value"] * 30) + " |"
    text = (
        "Intro words here and there. " * 5
        + "\n\n"
        + fence
        + "\n\n"
        + inline
        + "\n\n"
        + table
        + "\n\nThe end."
    )
    out = labeler.label(text).text

    for block in (fence, inline, table):
        start = visible(out).index(block)
        assert block == visible(out)[start : start + len(block)]
        assert block in out
