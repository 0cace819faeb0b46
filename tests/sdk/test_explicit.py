"""
Tests for explicit (visible) labels: wording rule, rendering, placement, language, idempotency.
"""

from __future__ import annotations

import itertools
import re

import pytest
from aigclabel import DEFAULT_LABEL_TEXT, ExplicitLabel, Labeler, is_compliant_label_text
from aigclabel.explicit import (
    LANGUAGE_SCAN_LIMIT,
    LanguageGuess,
    detect_language,
    find_label_phrases,
    middle_boundary,
)
from hypothesis import given
from hypothesis import strategies as st

from tests import strategies
from tests.helpers import visible

ZH = DEFAULT_LABEL_TEXT["zh"]
EN = DEFAULT_LABEL_TEXT["en"]
ZH_TEXT = "第一段：大模型给出的回答。这里有更多的内容。\n\n第二段：继续解释细节，并给出结论。"
EN_TEXT = "First paragraph of the answer. It has two sentences.\n\nSecond paragraph with the conclusion."
FENCE_RE = re.compile(r"^[ \t]{0,3}(?:```|~~~)", re.MULTILINE)


ZH_LABEL = ExplicitLabel(ZH).render()
EN_LABEL = ExplicitLabel(EN).render()


def _rendered(labeler: Labeler, text: str) -> str:
    return ExplicitLabel(labeler.policy.label_text_for(detect_language(text))).render()


@pytest.mark.parametrize("text", ["本内容由人工智能生成", "AI生成", "由AI生成", "人工智能合成", "ai生成", EN])
def test_compliant_wordings(text: str) -> None:
    """
    Wordings with an AI element and a generation element comply with §5.1.
    """
    assert is_compliant_label_text(text)


@pytest.mark.parametrize("text", ["XX生成", "XXAI", "人工智能", "生成", "AI-generated", ""])
def test_non_compliant_wordings(text: str) -> None:
    """
    Wordings missing either element do not comply.
    """
    assert not is_compliant_label_text(text)


def test_render_plain_brackets_the_text() -> None:
    """
    Plain text gets the label in 【】 (Chinese wording) or [] brackets, unless it is already bracketed.
    """
    assert ("【本内容由人工智能生成】", "[AI-generated (AI生成)]", "（AI生成）") == (
        ExplicitLabel("本内容由人工智能生成").render(),
        ExplicitLabel("AI-generated (AI生成)").render(),
        ExplicitLabel("（AI生成）").render(),
    )


def test_render_markdown_emphasis() -> None:
    """
    Markdown gets the label in emphasis.
    """
    assert "*AI生成*" == ExplicitLabel("AI生成", format="markdown").render()


def test_render_html_escapes() -> None:
    """
    HTML gets a marked paragraph with the wording escaped.
    """
    assert (
        '<p class="aigc-label" data-aigc-label="explicit">AI生成 &lt;b&gt;</p>'
        == ExplicitLabel("AI生成 <b>", format="html").render()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("大模型", "zh"),
        ("123 中文", "zh"),
        ("Hello 中文", "en"),
        ("", None),
        ("한국어", "zh"),
        ("<p>大模型</p>", "zh"),
        ("```python\n代码", "zh"),
        ("123 …", None),
        ("Python 是一种编程语言", "zh"),
        ("```python\nprint(1)\n```\n这段代码打印一个数字", "zh"),
        ("`len()` 返回长度", "zh"),
        ("Use 人工智能 for this task", "en"),
        ("Sure, the 代码 is below.", "en"),
        ("<p class='x'>大模型的回答</p>", "zh"),
    ],
)
def test_detect_language_follows_the_script_of_the_prose(text: str, expected: str | None) -> None:
    """
    The language is the script of the opening prose (code blocks, inline code and tags
    skipped; code only when there is no prose): Han, kana or Hangul mean zh; no letter, None.
    """
    assert expected == detect_language(text)


@given(text=st.text(alphabet="ab 中文`<>\n.", max_size=80), cuts=st.lists(st.integers(0, 80), max_size=6))
def test_language_guess_is_the_same_for_every_chunking(text: str, cuts: list[int]) -> None:
    """
    Fed in any pieces, LanguageGuess decides exactly as detect_language on the whole text,
    and text after the deciding character never changes the decision.
    """
    guess = LanguageGuess()
    bounds = [0, *sorted(c for c in cuts if c <= len(text)), len(text)]
    early = None
    for a, b in itertools.pairwise(bounds):
        early = early or guess.feed(text[a:b])
    assert detect_language(text) == (early or guess.finish())
    if early is not None:
        assert early == detect_language(text + " more words here 更多的中文内容")


def test_language_guess_stops_reading_at_the_scan_limit() -> None:
    """
    An opening with no prose (a long code block) is decided after LANGUAGE_SCAN_LIMIT characters.
    """
    guess = LanguageGuess()
    code = "```\n" + "x = 1\n" * LANGUAGE_SCAN_LIMIT

    assert "en" == guess.feed(code)


def test_start_placement(labeler: Labeler) -> None:
    """
    start: the visible text begins with the label, then a blank line, then the content.
    """
    out = visible(labeler.label(ZH_TEXT, placement="start").text)

    assert f"{ZH_LABEL}\n\n{ZH_TEXT}" == out


def test_end_placement(labeler: Labeler) -> None:
    """
    end (the default): the content, a blank line, then the label.
    """
    out = visible(labeler.label(ZH_TEXT).text)

    assert f"{ZH_TEXT}\n\n【{ZH}】" == out


def test_start_end_placement(labeler: Labeler) -> None:
    """
    start+end: the label on both sides.
    """
    out = visible(labeler.label(ZH_TEXT, placement="start+end").text)

    assert f"{ZH_LABEL}\n\n{ZH_TEXT}\n\n【{ZH}】" == out


def test_none_placement(labeler: Labeler) -> None:
    """
    none: the visible text is the content unchanged, and the result says no label is in it.
    """
    result = labeler.label(ZH_TEXT, placement="none")

    assert (ZH_TEXT, False) == (visible(result.text), result.explicit)


def test_middle_placement_at_paragraph_boundary(labeler: Labeler) -> None:
    """
    middle: the label goes between the paragraphs, as its own paragraph.
    """
    first, second = ZH_TEXT.split("\n\n")

    out = visible(labeler.label(ZH_TEXT, placement="middle").text)

    assert f"{first}\n\n【{ZH}】\n\n{second}" == out


def test_middle_placement_falls_back_to_sentence_end() -> None:
    """
    Without a paragraph break the label goes after the sentence end nearest the middle.
    """
    text = "One two three. Four five six. Seven eight nine."

    assert ("One two three. Four five six.", "sentence") == (text[: middle_boundary(text)[0]], "sentence")


def test_middle_prefers_paragraph_over_nearer_sentence() -> None:
    """
    A paragraph boundary wins even when a sentence end is nearer the middle.
    """
    text = "Short.\n\n" + "Word one. Word two. Word three. Word four. Word five. Word six."

    assert (8, "paragraph") == middle_boundary(text)


def test_middle_not_inside_code_fence() -> None:
    """
    Blank lines inside a fenced code block are not paragraph boundaries.
    """
    text = "Intro text here.\n\n```python\na = 1\n\n\n\nb = 2\n```\n\nOutro text."
    at, kind = middle_boundary(text)

    assert ("paragraph", 0) == (kind, len(FENCE_RE.findall(text[:at])) % 2)


def test_middle_not_inside_table() -> None:
    """
    Sentence ends inside table rows are not boundaries.
    """
    text = "Intro words. More\n| a. b | c. d |\n| e. f | g. h |\nend of it"
    at, _ = middle_boundary(text)

    assert "Intro words." == text[:at]


def test_middle_not_inside_url() -> None:
    """
    Dots inside a URL are not sentence ends.
    """
    text = "See the page at https://example.com/a. b/c.html now. Then more words follow here."
    at, kind = middle_boundary(text)

    assert ("sentence", "See the page at https://example.com/a. b/c.html now.") == (kind, text[:at])


def test_middle_without_boundary_goes_to_end() -> None:
    """
    A text with no paragraph or sentence boundary gets the label at the end.
    """
    assert (11, "end") == middle_boundary("no boundary")


@given(strategies.markdown)
def test_middle_never_inside_word_or_fence(text: str) -> None:
    """
    For any Markdown, the middle position is never inside a word or a fenced code block.
    """
    at, _ = middle_boundary(text)

    assert 0 < at <= len(text) or text == ""
    assert not (0 < at < len(text) and text[at - 1].isalnum() and text[at].isalnum())
    assert 0 == len(FENCE_RE.findall(text[:at])) % 2


def test_middle_placement_through_labeler_avoids_fence(labeler: Labeler) -> None:
    """
    Labeling with placement middle keeps the label out of a fence that spans the middle.
    """
    text = "开头的说明。\n\n```\nx = 1\n\ny = 2\n\nz = 3\n```\n\n结尾的总结。"

    out = visible(labeler.label(text, placement="middle").text)
    before = out[: out.index(f"{ZH_LABEL}")]

    assert 0 == len(FENCE_RE.findall(before)) % 2


def test_markdown_format_through_labeler(labeler: Labeler) -> None:
    """
    text_format markdown renders the label in emphasis.
    """
    out = visible(labeler.label(ZH_TEXT, text_format="markdown").text)

    assert f"{ZH_TEXT}\n\n*{ZH}*" == out


def test_html_format_through_labeler(labeler: Labeler) -> None:
    """
    text_format html appends a marked paragraph on its own line.
    """
    out = visible(labeler.label("<p>大模型的回答</p>", text_format="html").text)

    assert f'<p>大模型的回答</p>\n<p class="aigc-label" data-aigc-label="explicit">{ZH}</p>' == out


def test_chinese_text_gets_chinese_label(labeler: Labeler) -> None:
    """
    Chinese content gets 本内容由人工智能生成.
    """
    assert visible(labeler.label("你好，世界").text).endswith("\n\n【本内容由人工智能生成】")


def test_english_text_gets_bilingual_compliant_label(labeler: Labeler) -> None:
    """
    English content gets the bilingual default, which still has both §5.1 elements.
    """
    out = visible(labeler.label("Hello, world.").text)

    assert out.endswith(EN_LABEL)
    assert is_compliant_label_text(EN)


@pytest.mark.parametrize("placement", ["start", "end", "start+end", "middle"])
@pytest.mark.parametrize("text", [ZH_TEXT, EN_TEXT], ids=["zh", "en"])
def test_labeling_twice_adds_no_second_label(labeler: Labeler, placement: str, text: str) -> None:
    """
    Labeling already-labeled text does not add another visible label.
    """
    once = labeler.label(text, placement=placement)  # type: ignore[arg-type]
    twice = labeler.label(once.text, placement=placement)  # type: ignore[arg-type]
    rendered = _rendered(labeler, text)

    assert visible(once.text).count(rendered) == visible(twice.text).count(rendered)


def test_find_label_phrases_positions() -> None:
    """
    The verifier finds explicit phrases and says whether they sit at the start, middle or end.
    """
    filler = "这是一段很长的正文内容，" * 20
    text = "本内容由人工智能生成。" + filler + "AI生成" + filler + "由AI合成"

    assert ["start", "middle", "end"] == [m.position for m in find_label_phrases(text)]


@pytest.mark.parametrize(
    "text",
    [
        "本内容非人工智能生成。",
        "这段文字并非由人工智能生成。",
        "This text is not AI-generated.",
        "本内容不是AI生成的",
    ],
)
def test_a_negated_phrase_is_not_reported_as_a_label(text: str) -> None:
    """
    A text that denies being AI content carries no explicit label phrase (no Art. 6 trace from it).
    """
    assert [] == find_label_phrases(text)


def test_a_label_phrase_next_to_an_unrelated_negation_is_reported() -> None:
    """
    A negation in an earlier sentence does not hide the label after it.
    """
    assert ["本内容由人工智能生成"] == [
        m.phrase for m in find_label_phrases("我不知道。\n\n本内容由人工智能生成")
    ]
