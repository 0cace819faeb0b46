"""
The optional C extension ``aigclabel.speedups`` equals the pure-Python reference.

The extension only speeds up loops; what a seal binds must not depend on whether it was built.
Each C function is compared with its pure-Python counterpart on generated text of every
Unicode category (lone surrogates, astral characters and unassigned code points included), and
the canonical form is compared with the extension switched off (``SPEEDUPS = None``, what the
environment variable ``AIGCLABEL_PURE_PYTHON=1`` selects at import). One test runs the
canonical form's, the inserter's, the mark codecs' and the language guess's tests and the
golden vectors in a fresh interpreter with that switch set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aigclabel import canonical
from aigclabel.canonical import alnum_only_python, canonical_text
from aigclabel.explicit import LanguageGuess
from aigclabel.marks import alphabet
from aigclabel.marks.crc import crc8_python
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests import strategies

speedups = pytest.importorskip("aigclabel.speedups")

ROOT = Path(__file__).resolve().parents[2]
# Read at collection, as the package read it at import (the tests then run with a clean environment).
SWITCHED_OFF = bool(os.environ.get("AIGCLABEL_PURE_PYTHON"))
NOT_ALNUM = re.compile(r"[\W_]+")
CATEGORIES = [
    "Lu",
    "Ll",
    "Lt",
    "Lm",
    "Lo",
    "Mn",
    "Mc",
    "Me",
    "Nd",
    "Nl",
    "No",
    "Pc",
    "Pd",
    "Ps",
    "Pe",
    "Pi",
    "Pf",
    "Po",
    "Sm",
    "Sc",
    "Sk",
    "So",
    "Zs",
    "Zl",
    "Zp",
    "Cc",
    "Cf",
    "Cs",
    "Co",
    "Cn",
]

every_character = st.characters(categories=CATEGORIES)
any_unicode = st.one_of(
    st.text(alphabet=every_character, max_size=80),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=80),  # one-byte strings
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFFFF), max_size=80),  # two-byte strings
    strategies.any_text,
    strategies.cjk_text,
)
char_sets = st.text(alphabet=every_character, max_size=64)


@pytest.fixture
def pure_python() -> Iterator[None]:
    """
    The canonical form's module with the extension switched off for the test.
    """
    saved = canonical.SPEEDUPS
    canonical.SPEEDUPS = None
    try:
        yield
    finally:
        canonical.SPEEDUPS = saved


def test_the_extension_is_in_use_where_built() -> None:
    if SWITCHED_OFF:
        assert canonical.SPEEDUPS is None
    else:
        assert canonical.SPEEDUPS is speedups


@given(any_unicode)
@example("")
@example("\ud800a\udfff")  # lone surrogates are not letters
@example("𝒜𝟘🙂\U0010ffff\U000e0001x")  # astral letters and digits, emoji, noncharacters, tags
@example("a_b Ⅻ ½ ² ٣ 〇")  # "_" is \w but not alphanumeric; Nl, No, Nd of other scripts
@settings(max_examples=1000)
def test_alnum_only_equals_str_isalnum_per_character(text: str) -> None:
    expected = "".join(c for c in text if c.isalnum())
    assert speedups.alnum_only(text) == expected
    assert alnum_only_python(text) == expected
    assert NOT_ALNUM.sub("", text) == expected


def test_alnum_only_agrees_with_str_isalnum_on_every_code_point() -> None:
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert speedups.alnum_only(everything) == "".join(c for c in everything if c.isalnum())


PUNCTUATION_BLOCKS = [
    (0x00, 0x7F),
    (0xA0, 0xBF),
    (0x2000, 0x206F),
    (0x2500, 0x25FF),
    (0x3000, 0x303F),
    (0xE000, 0xE000),
    (0xE003, 0xF8FF),  # the Private Use Area but the canonical form's markers U+E001, U+E002
    (0xFF5F, 0xFF65),
]
INERT_LETTERS = [(0x391, 0x3A9), (0x3B1, 0x3C9), (0x3400, 0x4DBF), (0x4E00, 0x9FFF)]


def prefold_reference(text: str, watch: str) -> tuple[str, bool, str]:
    """What ``prefold`` is documented to do, one character at a time."""
    out = []
    final = True
    for c in text:
        if 0xFF01 <= ord(c) <= 0xFF5E:
            c = chr(ord(c) - 0xFEE0)
        elif not c.isalnum() and any(lo <= ord(c) <= hi for lo, hi in PUNCTUATION_BLOCKS):
            continue
        if c.isascii() and not c.isalnum():
            continue
        out.append(c)
        inert = (c.isascii() and not c.isdigit()) or any(lo <= ord(c) <= hi for lo, hi in INERT_LETTERS)
        final = final and c.isalnum() and inert
    return "".join(out), final, _seen_reference(text, watch)


def _seen_reference(text: str, watch: str) -> str:
    """The characters of *watch* in *text*, in watch order: ASCII ones once, others as repeated."""
    out: list[str] = []
    for c in watch:
        if c in text and (not c.isascii() or c not in out):
            out.append(c)
    return "".join(out)


def test_what_prefold_drops_or_folds_has_the_same_letters_and_digits_after_nfkd() -> None:
    for lo, hi in PUNCTUATION_BLOCKS:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            if not c.isalnum():
                assert NOT_ALNUM.sub("", unicodedata.normalize("NFKD", c)) == "", hex(cp)
    for cp in range(0xFF01, 0xFF5F):
        assert unicodedata.normalize("NFKD", chr(cp)) == chr(cp - 0xFEE0), hex(cp)
    for lo, hi in INERT_LETTERS:  # the letters prefold calls final: NFKD leaves them alone
        for cp in range(lo, hi + 1):
            if chr(cp).isalnum():
                assert unicodedata.normalize("NFKD", chr(cp)) == chr(cp), hex(cp)
    # No letter or digit is a combining mark that NFKD could reorder past another.
    assert not [c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.combining(c) and c.isalnum()]


WATCHES = ["", "]`~0123456789⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉₊₋", "中中a", "字\ue001]]"]


@given(any_unicode, st.sampled_from(WATCHES))
@example("中文，“引号”。a.b ①〇Ｋ１！～｡", WATCHES[1])
@example("\ud800，\U0001f600", "")
@example("字字 ab ○\ue350\ue001λ", WATCHES[3])
@example("λ Ω ά ϐ ΢", "")  # Greek: plain letters are final, accented or compatibility ones are not
@settings(max_examples=1000)
def test_prefold_is_its_reference_and_keeps_the_letters_and_digits_of_nfkd(text: str, watch: str) -> None:
    folded, final, seen = speedups.prefold(text, watch)
    assert (folded, final, seen) == prefold_reference(text, watch)
    assert NOT_ALNUM.sub("", unicodedata.normalize("NFKD", folded)) == NOT_ALNUM.sub(
        "", unicodedata.normalize("NFKD", text)
    )
    if final:
        assert unicodedata.normalize("NFKD", folded) == folded
        assert folded.isalnum() or not folded
        assert not any(c in folded for c in "0123456789\ue001\ue002")


def test_alnum_only_returns_an_exact_str() -> None:
    class Sub(str):
        pass

    kept = speedups.alnum_only(Sub("abc"))
    assert type(kept) is str
    assert kept == "abc"
    with pytest.raises(TypeError):
        speedups.alnum_only(b"abc")


@given(any_unicode, char_sets, st.integers(min_value=0, max_value=100))
@example("abc", "", 0)
@example("x\ud800y", "\ud800", 0)
@example("中文，ab", "，a", 3)
@settings(max_examples=1000)
def test_find_any_finds_the_first_character_of_the_set(text: str, chars: str, start: int) -> None:
    hits = [i for i in range(start, len(text)) if text[i] in chars]
    assert speedups.find_any(text, chars, start) == (hits[0] if hits else -1)
    if start == 0:
        assert speedups.find_any(text, chars) == (hits[0] if hits else -1)


def test_find_any_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="64"):
        speedups.find_any("abc", "".join(chr(0x4E00 + i) for i in range(65)))
    with pytest.raises(ValueError, match="negative"):
        speedups.find_any("abc", "a", -1)
    with pytest.raises(TypeError):
        speedups.find_any("abc")
    assert speedups.find_any("abc", "a" * 1000) == 0  # ASCII members are unlimited


@given(any_unicode)
@example("Alice was beginning to get very tired.\n\n[AI-generated content · 本内容由AI生成]")
@example("剂量为 2.5 mg，每日两次。\n\n1. 第一步\n2) 第二步 ≥ 18 岁，½ 片，10² 次")
@example("see [a](http://x) and ![i](y) `code` <b>x</b> &amp; ™ ℃ ㎏ ① ⑴ ㍘ Ａ１")
@example("剂量１２ｍｇ，每日两次～³")  # full-width digits: a number only after NFKD
@example("“引号”……『书名』　全角空格 〇 々 ○")
@settings(max_examples=500)
def test_canonical_text_is_the_same_with_and_without_the_extension(text: str) -> None:
    forms = {
        (profile, version): canonical_text(text, profile=profile, version=version)
        for profile in ("plain", "markup")
        for version in (1, 2)
    }
    saved = canonical.SPEEDUPS
    canonical.SPEEDUPS = None
    try:
        reference = {
            (profile, version): canonical_text(text, profile=profile, version=version)
            for profile in ("plain", "markup")
            for version in (1, 2)
        }
    finally:
        canonical.SPEEDUPS = saved
    assert forms == reference


@pytest.mark.usefixtures("pure_python")
def test_contains_any_without_the_extension() -> None:
    assert canonical.SPEEDUPS is None
    assert canonical.contains_any("中文，ab", "，")
    assert not canonical.contains_any("中文ab", "，。")


def test_the_property_tests_pass_with_the_extension_switched_off(tmp_path: Path) -> None:
    env = {**os.environ, "AIGCLABEL_PURE_PYTHON": "1"}
    files = [
        "tests/sdk/test_canonical_fast_paths.py",
        "tests/sdk/test_canonical.py",
        "tests/sdk/test_placement_chunking.py",
        "tests/sdk/test_explicit_detection.py",
        "tests/sdk/test_marks_edge_cases.py",
        "tests/test_vectors.py",
        "tests/sdk/test_speedups.py::test_the_extension_is_in_use_where_built",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path}", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_packet_places_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        speedups.packet_places("a\nb", "", 1, 1, 0, " ")  # prev is one character
    with pytest.raises(TypeError):
        speedups.packet_places("a\nb", "\n", 1, 1, 0)
    with pytest.raises(ValueError, match="spacing"):
        speedups.packet_places("a\nb", "\n", 1, 0, 0, " ")
    assert speedups.packet_places("x a\nb c", "\n", 1, 100, 0, " ") == ([2], 90)


mark_texts = st.text(
    alphabet=st.sampled_from(
        alphabet.CF_ALPHABET + alphabet.CGJ + alphabet.VS_ALPHABET + "a字 \ufeff\ud800😀"
    ),
    max_size=80,
)


@given(st.one_of(mark_texts, any_unicode))
@example("a\u200b\u200b\u200bb\u200b\u200b\u200b\u200b\u034f\ufe00c")
@settings(max_examples=1000)
def test_mark_runs_are_the_matches_of_the_regex(text: str) -> None:
    expected = [(m.span(), m.group()) for m in alphabet.MARK_RUN.finditer(text)]
    assert [(m.span(), m.group()) for m in alphabet.mark_runs(text)] == expected
    saved, canonical.SPEEDUPS = canonical.SPEEDUPS, None
    try:
        assert [(m.span(), m.group()) for m in alphabet.mark_runs(text)] == expected
    finally:
        canonical.SPEEDUPS = saved


NUMBER_CONTEXT = " \t\u00a0\u3000.,:/×÷^-+±%‰‱<>≤≥=≈~!"


def number_windows_reference(text: str, context: str) -> list[int]:
    """What ``number_windows`` is documented to return."""
    bounds: list[int] = []
    for i, c in enumerate(text):
        if not (c.isdecimal() or c in "\ue001\ue002"):
            continue
        lo, hi = i, i + 1
        while lo > 0 and text[lo - 1] in context:
            lo -= 1
        while hi < len(text) and text[hi] in context:
            hi += 1
        lo, hi = max(lo - 2, 0), min(hi + 2, len(text))
        if bounds and lo <= bounds[-1]:
            bounds[-1] = max(bounds[-1], hi)
        else:
            bounds += [lo, hi]
    return bounds


numeric_pieces = st.sampled_from(
    [
        "文字，",
        "prose and more prose, ",
        "长长的一段没有数字的中文文字，又是一段没有数字的中文文字。" * 3,
        "a long stretch of prose with no numbers in it at all, " * 3,
        "。\n",
        "1. ",
        "\n2) item ",
        "2.5",
        " 1,000 ",
        "10:30",
        "-5",
        "+86 ",
        " ± 3",
        "3 / 4",
        "½",
        "10²",
        "H₂O",
        "x²",
        "⁺",
        " 50 %",
        "‰",
        "≥ 18",
        "a<b",
        " !=",
        "≠ 3",
        " ~ 7",
        "２０２５年",
        "٣.٤",
        "   ",
        "\u3000",
        "!",
        "...",
        "e.g. ",
        "—",
        "−2",
    ]
)
numeric_texts = st.lists(numeric_pieces, min_size=1, max_size=200).map("".join)


@given(st.one_of(numeric_texts, any_unicode), st.sampled_from([NUMBER_CONTEXT, "", " .", "≤≥中"]))
@example("1 . 2 %%% x  ≤  y 3", NUMBER_CONTEXT)
@settings(max_examples=500)
def test_number_windows_is_its_reference(text: str, context: str) -> None:
    assert speedups.number_windows(text, context) == number_windows_reference(text, context)


@given(numeric_texts)
@example("prose and more prose, " * 20 + "第3章，2.5%。" + "文字，" * 30 + "≥ 18 " + "prose " * 20)
@settings(max_examples=500)
def test_long_numeric_text_has_the_same_canonical_form_with_and_without_the_extension(text: str) -> None:
    forms = [canonical_text(text, profile=p) for p in ("plain", "markup")]
    saved, canonical.SPEEDUPS = canonical.SPEEDUPS, None
    try:
        assert [canonical_text(text, profile=p) for p in ("plain", "markup")] == forms
    finally:
        canonical.SPEEDUPS = saved


@given(st.one_of(mark_texts, any_unicode))
def test_may_carry_marks_is_whether_a_mark_character_occurs(text: str) -> None:
    expected = any(c in text for c in alphabet.CF_ALPHABET + alphabet.CGJ + alphabet.VS_ALPHABET)
    assert alphabet.may_carry_marks(text) == expected
    saved, canonical.SPEEDUPS = canonical.SPEEDUPS, None
    try:
        assert alphabet.may_carry_marks(text) == expected
    finally:
        canonical.SPEEDUPS = saved


def _outcome(fn: Callable[[str], bytes | None], run: str) -> bytes | type[Exception] | None:
    try:
        return fn(run)
    except ValueError:
        return ValueError


cf_runs = st.text(alphabet=st.sampled_from(alphabet.CF_ALPHABET), max_size=200)
mn_runs = st.builds(
    lambda lead, body: lead + body,
    st.sampled_from(["", alphabet.CGJ]),
    st.text(alphabet=st.sampled_from(alphabet.VS_ALPHABET), max_size=200),
)


@given(st.one_of(cf_runs, mn_runs, mark_texts))
@example("\u200b\u200c\u200d\u2060")
@example("\u200b\u200c\u200dx")  # a foreign character
@example(alphabet.CGJ + "\ufe00\ufe0f")
@example(alphabet.CGJ + alphabet.CGJ + "\ufe00")  # a second CGJ is not a variation selector
@example(alphabet.CGJ)
@settings(max_examples=1000)
def test_the_mark_codecs_are_their_references(run: str) -> None:
    assert _outcome(speedups.decode_cf, run) == _outcome(alphabet.decode_cf_python, run)
    assert _outcome(speedups.decode_mn, run) == _outcome(alphabet.decode_mn_python, run)


@given(st.binary(max_size=300))
def test_the_mark_codecs_decode_what_the_encoders_wrote(data: bytes) -> None:
    assert speedups.decode_cf(alphabet.encode_cf(data)) == data
    assert speedups.decode_mn(alphabet.encode_mn(data)) == data


def test_crc8_is_its_reference_for_every_byte_pair() -> None:
    for a in range(256):
        for b in (0, 1, 0x55, 0x80, 0xFF, a):
            assert speedups.crc8(bytes([a, b])) == crc8_python(bytes([a, b]))
    assert speedups.crc8(b"") == 0
    assert speedups.crc8(bytearray(b"123456789")) == crc8_python(b"123456789") == 0xF4  # the check value
    with pytest.raises(TypeError):
        speedups.crc8("text")


language_texts = st.text(alphabet=st.sampled_from("ab c\n`<>\t中文字 x1.,é\u3000ー한"), max_size=120)


@given(st.one_of(language_texts, any_unicode), st.lists(st.integers(1, 9), min_size=1, max_size=40))
@example("```python\nprint(1)\n```\n这是中文的回答", [3])
@example("<b>bold</b> 中文 words here and more", [1])
@example("`code` 中文", [100])
@settings(max_examples=1000)
def test_the_language_scan_is_the_reference_state_machine_for_any_chunking(
    text: str, cuts: list[int]
) -> None:
    fast, slow = LanguageGuess(), LanguageGuess()
    pos, i = 0, 0
    while pos < len(text):
        k = cuts[i % len(cuts)]
        i += 1
        assert fast.feed(text[pos : pos + k]) == slow.feed_python(text[pos : pos + k])
        assert fast.state() == slow.state()
        pos += k
    assert fast.finish() == slow.finish()


def test_the_language_scan_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        speedups.language_scan("text", (0,) * 12, 8, 400)
    with pytest.raises(TypeError):
        speedups.language_scan(b"text", (0,) * 13, 8, 400)
    with pytest.raises(TypeError):
        speedups.language_scan("text", ("0",) * 13, 8, 400)
