"""
The canonical form's fast paths give, byte for byte, what the plain regex pipeline gives.

The oracle below is the pipeline as 0.2 wrote it (one regex pass per step), kept here so a
faster implementation can never change what a seal binds.
"""

from __future__ import annotations

import re
import unicodedata

from aigclabel import canonical_text
from aigclabel.canonical import Profile, alnum_only
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests import strategies

NOT_ALNUM = re.compile(r"[\W_]+")
SUPSUB = dict(
    zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉₊₋", [m + a for m in "\ue001\ue002" for a in "0123456789+-"], strict=True)
)
FOLD = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2044": "/",
    "\u2215": "/",
    "≦": "≤",
    "≧": "≥",
    "⩽": "≤",
    "⩾": "≥",
    "=\u0338": "!=",
    "<\u0338": "!<",
    ">\u0338": "!>",
    "≤\u0338": "!≤",
    "≥\u0338": "!≥",
}
FOLD_RE = re.compile("|".join(sorted(map(re.escape, FOLD), key=len, reverse=True)))
SPACED_OP = re.compile(r"[ \t\u00a0\u3000]*([/×÷^%‰‱<>≤≥=≈~]+)[ \t\u00a0\u3000]*")
KEEP = re.compile(
    r"[^\W_]+|(?<=\d)[.,:/×÷^](?=\d)|[-+±](?=\d)|(?<=\d)[%‰‱]+"
    r"|!?[<>≤≥=≈~]+(?=[-+±]?\d)|(?<=\d)!?[<>≤≥=≈~]+|[\ue001\ue002][-+0-9]"
)
LIST_MARKER = re.compile(r"[0-9]{1,3}[.)][ \t]")


def oracle_v2_plain(text: str) -> str:
    """Version 2, ``plain`` profile, for text without Markdown link/fence syntax."""
    out, pos = [], 0
    for m in LIST_MARKER.finditer(text):
        start = m.start()
        if (start == 0 or text[start - 1].isspace()) and not (start > 0 and text[start - 1].isdigit()):
            out.append(text[pos:start])
            pos = m.end() - 1
    if out:
        out.append(text[pos:])
        text = " ".join(out)
    text = "".join(SUPSUB.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    if not any(c in text for c in "0123456789\ue001\ue002"):
        return NOT_ALNUM.sub("", text)
    text = FOLD_RE.sub(lambda m: FOLD[m.group()], text)
    return "".join(KEEP.findall(SPACED_OP.sub(r"\1", text)))


# Blocks full of compatibility characters: symbols NFKD turns into letters or digits (™, ㎏, ㍘,
# ⒈, 🄂), full-width forms, letterlike symbols, CJK punctuation.
compatibility = st.text(
    alphabet=st.characters(min_codepoint=0x2000, max_codepoint=0x33FF)
    | st.characters(min_codepoint=0xFE30, max_codepoint=0xFFEF)
    | st.characters(min_codepoint=0x1F100, max_codepoint=0x1F1FF)
    | st.sampled_from("字词 ab"),
    max_size=60,
)
prose = st.one_of(
    strategies.any_text,
    strategies.cjk_text,
    compatibility,
    st.text(alphabet=st.sampled_from("ab 1.2)\t\n，。「」“”½²₂−–≥≠%‰ ＡＢ１２™℃㎏é\u0301_-·…"), max_size=80),
)
no_markup = prose.filter(lambda t: not any(x in t for x in ("](", "][", "]:", "```", "~~~")))


@given(prose)
@example("")
@example("a" * 30 + "".join(chr(0x2000 + i) for i in range(40)))  # more distinct symbols than replace passes
@example("x_y" * 5)
@settings(max_examples=400)
def test_alnum_only_equals_the_regex(text: str) -> None:
    assert alnum_only(text) == NOT_ALNUM.sub("", text)


@given(no_markup)
@example("Alice was beginning to get very tired.\n\n[AI-generated content · 本内容由AI生成]")
@example("剂量为 2.5 mg，每日两次。\n\n1. 第一步\n2) 第二步 ≥ 18 岁，½ 片，10² 次")
@example("™ ℃ ㎏ ① ⑴ ㍘ Ａ１")
@example("1   /   2 , 3 % x   ≥  5 / / 6 ! < 7 \u3000 ÷\u3000 8 " + " " * 40 + "9")
@settings(max_examples=400)
def test_canonical_text_equals_the_plain_pipeline(text: str) -> None:
    assert canonical_text(text) == oracle_v2_plain(text)


@given(st.integers(min_value=0, max_value=40), st.sampled_from(["plain", "markup"]))
def test_markup_is_found_after_many_lone_first_characters(n: int, profile: Profile) -> None:
    # Triggers are looked for at the first few occurrences of their first character, then by a
    # substring search: a link destination or fence after many lone "]" and "`" still drops out.
    noise = "x] y` 中，" * n
    text = noise + "see [docs](https://example.com/path) now\n```python\ncode\n```\n"
    expected = "xy中" * n + "seedocsnowcode"
    assert canonical_text(text, profile=profile) == expected
