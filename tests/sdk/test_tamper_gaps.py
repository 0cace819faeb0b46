"""
Red team: edits that change what a text says must read ``tampered``; benign transforms must not.

The meaning-flip corpus (numbers, units, dosages, signs, fractions, comparisons, negations, dates,
names, added and removed sentences, a moved label) is applied to a labeled patient leaflet in
Chinese and English; the benign corpus runs every transform of the survival matrix on the same
leaflet. Known blind spots are pinned at the end so that a change in them is noticed.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from aigclabel import LabeledText, Labeler, LabelPolicy, verify
from aigclabel.canonical import canonical_text
from aigclabel.marks import alphabet

from tests.helpers import KEY, PRODUCER, visible
from tests.sdk.test_survival import TRANSFORMS

LEAFLET = (
    "患者须知（2025-09-01 更新，张伟医生审核）：\n"
    "成人每次口服 2.5毫克，每日 2 次；儿童每次 1/2 片。\n"
    "本品不适用于孕妇。年龄 ≥ 18 岁方可自行购买。\n"
    "体温超过 38.5 °C 时请就医；药品应在 -5 °C 至 25 °C 之间保存，有效期 36 个月。\n"
    "浓度为 10^2 单位/毫升，不良反应发生率约 0.3%。\n"
    "\n"
    "Patient leaflet, reviewed by Dr. Alice Smith on 1 September 2025.\n"
    "Adults take 2.5 mg twice daily; children take 1/2 tablet. The dose must not exceed 10 mg per day.\n"
    "This medicine is not safe during pregnancy. Patients aged ≥ 18 may buy it without a prescription.\n"
    "Store between -5 °C and 25 °C. Call 120 or +86 10 1234 5678 at 10:30 if symptoms persist.\n"
    "Efficacy was 95.5% (p < 0.05) in 1,200 patients; the standard dose is 10² units.\n"
)

#: (what, old, new): each applied once to the labeled leaflet; every one must be ``tampered``.
MEANING_FLIPS: list[tuple[str, str, str]] = [
    ("zh dosage decimal", "2.5毫克", "25毫克"),
    ("en dosage decimal", "2.5 mg", "25 mg"),
    ("zh fraction", "1/2 片", "12 片"),
    ("en fraction", "1/2 tablet", "12 tablet"),
    ("en fraction spaced out", "1/2 tablet", "1 2 tablet"),
    ("zh comparison flipped", "≥ 18 岁", "≤ 18 岁"),
    ("en comparison flipped", "≥ 18 may", "≤ 18 may"),
    ("en comparison weakened", "≥ 18 may", "> 18 may"),
    ("zh age changed", "≥ 18 岁", "≥ 16 岁"),
    ("zh sign dropped", "-5 °C 至", "5 °C 至"),
    ("en sign dropped", "-5 °C and", "5 °C and"),
    ("en sign added", "and 25 °C", "and -25 °C"),
    ("en superscript flattened", "10² units", "102 units"),
    ("en superscript changed", "10² units", "10³ units"),
    ("zh caret power flattened", "10^2 单位", "102 单位"),
    ("zh negation removed", "不适用于孕妇", "适用于孕妇"),
    ("zh negation added", "张伟医生审核", "张伟医生未审核"),
    ("en negation removed", "is not safe", "is safe"),
    ("en negation removed (limit)", "must not exceed", "must exceed"),
    ("en negation as a plain-text tag", "may buy it", "may <not> buy it"),
    ("zh date", "2025-09-01", "2025-10-01"),
    ("en date", "1 September 2025", "1 October 2025"),
    ("zh name", "张伟", "李强"),
    ("en name", "Alice Smith", "Alice Smyth"),
    ("en title and name", "Dr. Alice", "Dr. Bob"),
    ("zh frequency", "每日 2 次", "每日 3 次"),
    ("en frequency", "twice daily", "thrice daily"),
    ("en limit", "10 mg per day", "100 mg per day"),
    ("zh shelf life", "36 个月", "6 个月"),
    ("zh temperature decimal", "38.5 °C", "35.8 °C"),
    ("zh percent to per mille", "0.3%", "0.3‰"),
    ("en percent dropped", "95.5%", "95.5"),
    ("en p-value comparison", "p < 0.05", "p > 0.05"),
    ("en p-value inequality", "p < 0.05", "p ≠ 0.05"),
    ("en thousands separator", "1,200 patients", "1.200 patients"),
    ("en time", "10:30", "10.30"),
    ("en phone country code sign", "+86 10", "86 10"),
    ("en phone number", "1234 5678", "1234 5679"),
    ("zh added sentence", "之间保存，", "之间保存，本品可与酒精同服，"),
    ("en added sentence", "if symptoms persist.", "if symptoms persist. Double the dose if needed."),
    (
        "en added reference-like line",
        "Patient leaflet,",
        "[Note]: Ignore the advice above and double the dose.\nPatient leaflet,",
    ),
    ("zh removed sentence", "本品不适用于孕妇。", ""),
    ("en removed sentence", "This medicine is not safe during pregnancy. ", ""),
]


def _fuzzy(old: str) -> re.Pattern[str]:
    """
    *old* allowing mark characters between its characters (packets sit between words).
    """
    between = f"{alphabet.ANY_MARK_CHAR.pattern}*"
    return re.compile(between.join(re.escape(c) for c in old))


def edit(text: str, old: str, new: str) -> str:
    """
    Replace the first visible occurrence of *old* in labeled *text* (marks inside it go with it).
    """
    edited, n = _fuzzy(old).subn(lambda _: new, text, count=1)
    assert n == 1, f"{old!r} is not in the text"
    return edited


@pytest.fixture(name="leaflet", scope="module")
def _leaflet() -> LabeledText:
    """
    The leaflet labeled with the default policy (plain text, seal on the Mn channel).
    """
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label(LEAFLET)


def test_the_corpus_is_large_enough() -> None:
    """
    At least 40 meaning-changing edits, in both languages.
    """
    assert len(MEANING_FLIPS) >= 40
    assert {"zh", "en"} == {what.split()[0] for what, _, _ in MEANING_FLIPS}


def test_the_leaflet_verifies_intact(leaflet: LabeledText) -> None:
    """
    The unedited leaflet is intact (so every tampered verdict below is the edit's doing).
    """
    assert "intact" == verify(leaflet.text, key=KEY).status


@pytest.mark.parametrize(("what", "old", "new"), MEANING_FLIPS, ids=[m[0] for m in MEANING_FLIPS])
def test_a_meaning_changing_edit_is_tampered(leaflet: LabeledText, what: str, old: str, new: str) -> None:
    """
    Each edit of the corpus changes the canonical text, so the seal reads ``tampered``.
    """
    verdict = verify(edit(leaflet.text, old, new), key=KEY)

    assert ("tampered", None) == (verdict.status, verdict.metadata)


def test_moving_the_label_to_the_start_is_tampered(leaflet: LabeledText) -> None:
    """
    The explicit label moved from the end to the start: same words, other order, ``tampered``.
    """
    label = "【本内容由人工智能生成】"
    moved = label + "\n" + edit(leaflet.text, label, "")

    assert "tampered" == verify(moved, key=KEY).status


def test_an_html_negation_is_text_in_markdown_output() -> None:
    """
    In Markdown output HTML tags are markup, but the words between them are covered.
    """
    labeled = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, text_format="markdown")).label(
        "This medicine is <b>not</b> safe during pregnancy."
    )

    assert "tampered" == verify(edit(labeled.text, "<b>not</b> ", ""), key=KEY).status


#: Benign rewrites a text meets on its way to a reader, beyond the survival matrix's transforms.
BENIGN_EDITS: list[tuple[str, str, str]] = [
    ("minus sign typography", "-5 °C and", "−5 °C and"),
    ("en dash as minus", "-5 °C 至", "–5 °C 至"),
    ("vulgar fraction", "1/2 tablet", "½ tablet"),
    ("spaced fraction", "1/2 片", "1 / 2 片"),
    ("full-width digits", "2.5毫克", "２.５毫克"),
    ("full-width percent", "0.3%", "0.3％"),
    ("spaced percent", "95.5%", "95.5 %"),
    ("comparison spacing", "≥ 18 may", "≥18 may"),
    ("unit spacing", "2.5 mg", "2.5mg"),
    ("quote style", "患者须知（", "患者须知 ("),
    ("line joined", "更新，张伟医生审核）：\n", "更新，张伟医生审核）： "),
]


@pytest.mark.parametrize(("what", "old", "new"), BENIGN_EDITS, ids=[b[0] for b in BENIGN_EDITS])
def test_a_benign_rewrite_stays_intact(leaflet: LabeledText, what: str, old: str, new: str) -> None:
    """
    Typography, width and spacing changes leave the canonical text, and the verdict, unchanged.
    """
    assert "intact" == verify(edit(leaflet.text, old, new), key=KEY).status


# NFKC folds superscripts into digits (10² -> 102): that changes what the text says, so the
# benign matrix runs on the leaflet without superscripts (see test_nfkc_of_a_superscript_is_tampered).
_NO_SUPERSCRIPTS = LEAFLET.replace("10² units", "10^2 units")
_KEEPS_MN_SEAL = [name for name in TRANSFORMS if name != "drop_mn"]


@pytest.fixture(name="plain_leaflet", scope="module")
def _plain_leaflet() -> LabeledText:
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label(_NO_SUPERSCRIPTS)


@pytest.mark.parametrize("name", _KEEPS_MN_SEAL)
def test_every_benign_transform_keeps_the_leaflet_intact(plain_leaflet: LabeledText, name: str) -> None:
    """
    The survival matrix's transforms (NFC, NFKC, Markdown->HTML->text, JSON, UTF-16, docx, drop Cf,
    whitespace collapse, ftfy) leave the numbers' punctuation alone: ``intact``.
    """
    assert "intact" == verify(TRANSFORMS[name](plain_leaflet.text), key=KEY).status


@pytest.mark.parametrize("name", _KEEPS_MN_SEAL)
@pytest.mark.parametrize(
    ("old", "new"), [("2.5 mg", "25 mg"), ("≥ 18 岁", "≤ 18 岁"), ("-5 °C and", "5 °C and")]
)
def test_a_number_edit_shows_through_every_transform(
    plain_leaflet: LabeledText, name: str, old: str, new: str
) -> None:
    """
    A meaning flip made before a benign transform is still ``tampered`` after it.
    """
    assert "tampered" == verify(TRANSFORMS[name](edit(plain_leaflet.text, old, new)), key=KEY).status


def test_nfkc_of_a_superscript_is_tampered(leaflet: LabeledText) -> None:
    """
    NFKC turns 10² into 102, a different number: the verifier reports it rather than hide it.
    """
    assert "tampered" == verify(unicodedata.normalize("NFKC", leaflet.text), key=KEY).status


# --- the remaining blind spots, pinned ---------------------------------------------------------

BLIND_SPOTS: list[tuple[str, str, str]] = [
    ("spaced binary operator", "2 + 3 = 5", "2 - 3 = 5"),
    ("emphasis asterisk", "2 * 3", "2 ** 3"),
    ("punctuation between words", "Stop, do not eat.", "Stop; do not eat."),
    ("word boundary", "not able", "notable"),
    ("combining accent", "résumé", "resume"),
    ("link destination", "[site](https://good.example)", "[site](https://evil.example)"),
    ("separator in other-script digits", "٢٫٥ mg", "٢٥ mg"),
]


@pytest.mark.parametrize(("what", "old", "new"), BLIND_SPOTS, ids=[b[0] for b in BLIND_SPOTS])
def test_documented_blind_spots_are_not_covered(what: str, old: str, new: str) -> None:
    """
    The canonical form does not cover these (docs/marks.md lists them); if one becomes covered,
    update the documentation and move it to the corpus above.
    """
    assert canonical_text(old) == canonical_text(new)


def test_the_edit_helper_ignores_marks_inside_the_old_text(leaflet: LabeledText) -> None:
    """
    The corpus edits visible text even where a packet sits between its words.
    """
    assert visible(edit(leaflet.text, "Patient leaflet, reviewed", "X")).count("X") == 1
