"""
Hypothesis strategies for the text an LLM service really emits, and worse.
"""

from __future__ import annotations

from hypothesis import strategies as st

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
VARIATION_SELECTORS = "".join(chr(0xFE00 + i) for i in range(16))

cjk_text = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
    | st.sampled_from("，。！？、；：「」（）《》…—"),
    min_size=1,
    max_size=40,
)
emoji = st.sampled_from(
    [
        "👨\u200d👩\u200d👧",
        "❤\ufe0f",
        "🇨🇳",
        "🇺🇸",
        "👍🏽",
        "🏳\ufe0f\u200d🌈",
        "1\ufe0f\u20e3",
        "🙂",
        "☺\ufe0e",
    ]
)
combining = st.builds(
    lambda base, marks: base + "".join(marks),
    st.sampled_from("aeiouAEIOnc"),
    st.lists(st.characters(min_codepoint=0x0300, max_codepoint=0x036F), min_size=1, max_size=3),
)
rtl_text = st.sampled_from(
    [
        "مرحبا بالعالم",
        "النص العربي، مع علامات.",
        "שלום עולם",
        "עברית: טקסט לדוגמה.",
        "\u200fمرحبا\u200f",
    ]
)
invisible = st.text(alphabet=ZERO_WIDTH + VARIATION_SELECTORS + "\u034f", min_size=1, max_size=12)
words = st.sampled_from(
    [
        "the",
        "model",
        "answer",
        "Python",
        "data",
        "GB45438",
        "2025",
        "label",
        "text",
        "AI",
        "generated",
        "value",
        "hello",
        "world",
        "naïve",
        "café",
        "ﬁnal",
        "ＡＢＣ",
        "x²",
    ]
)
url = st.sampled_from(
    [
        "https://example.com/a/b?c=d&e=f",
        "http://例子.测试/路径",
        "www.example.org/page.html.",
        "https://example.com/x_(y)",
    ]
)
inline_code = st.builds(lambda w: f"`{w}`", st.sampled_from(["x = 1", "print('hi')", "a|b", "<tag>"]))
code_fence = st.builds(
    lambda lang, body: f"```{lang}\n{body}\n```",
    st.sampled_from(["", "python", "js"]),
    st.sampled_from(["def f():\n    return 1", "a = 1\n\nb = 2", "console.log('AI生成')"]),
)
table = st.sampled_from(
    [
        "| 列 | 值 |\n|---|---|\n| a | 1 |\n| 模型 | 大. 模型 |",
        "| name | value |\n| --- | --- |\n| x | https://example.com |",
    ]
)
inline_piece = st.one_of(
    words,
    cjk_text,
    emoji,
    combining,
    rtl_text,
    url,
    inline_code,
    st.sampled_from([" ", "  ", "\t", ". ", "。"]),
)
line = st.lists(inline_piece, min_size=1, max_size=12).map(lambda parts: " ".join(parts))
block = st.one_of(
    line,
    line.map(lambda s: "# " + s),
    st.lists(line, min_size=1, max_size=3).map(lambda items: "\n".join("- " + i for i in items)),
    code_fence,
    table,
)

#: Markdown documents: headings, lists, fences, tables, inline code, URLs.
markdown = st.lists(block, min_size=1, max_size=6).map(lambda blocks: "\n\n".join(blocks))

#: Realistic prose mixing CJK, Latin, emoji, RTL and combining marks.
prose = st.lists(line, min_size=1, max_size=5).map(lambda lines: "\n".join(lines))

#: Text already holding zero-width characters or variation selectors.
with_invisible = st.lists(st.one_of(inline_piece, invisible), min_size=1, max_size=15).map("".join)

#: Arbitrary Unicode (no surrogates), as a fuzzing floor.
unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)

#: Everything above.
any_text = st.one_of(unicode_text, prose, markdown, with_invisible)

#: Text built from the characters the canonical form's markup rules react to.
markup_soup = st.lists(
    st.sampled_from(
        [*"![]()<>&#;:ab \n/x`~@1-.,%²½≥≠", "](", "![", "<a", "&amp;", "```", "[x]: ", "<http://a>", "[a]: b"]
    ),
    max_size=30,
).map("".join)
