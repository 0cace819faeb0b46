"""
Explicit (visible) labels for text: wording rules, rendering and placement.

GB 45438 §5.1: a text label contains an AI element (「人工智能」 or 「AI」) and a
generation element (「生成」 or 「合成」). Art. 4(1) allows the start, the end or a
suitable middle position of the text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_LABEL_TEXT",
    "ExplicitLabel",
    "LabelMatch",
    "Language",
    "Placement",
    "TextFormat",
    "detect_language",
    "find_label_phrases",
    "is_compliant_label_text",
    "middle_boundary",
]

Placement = Literal["start", "end", "middle", "start+end", "none"]
TextFormat = Literal["plain", "markdown", "html"]
Language = Literal["zh", "en"]

#: Default wording per language; the non-Chinese form is bilingual so it still has both elements.
DEFAULT_LABEL_TEXT: dict[str, str] = {
    "zh": "本内容由人工智能生成",
    "en": "AI-generated content (本内容由AI生成)",
}

_AI = re.compile(r"人工智能|AI", re.IGNORECASE)
_GEN = re.compile(r"生成|合成")
# Phrases a verifier reports as explicit labels (Art. 6 tier 3 "other traces").
_PHRASE = re.compile(
    r"(?:本内容|内容|此内容|该内容|本文|本回答)?(?:由|经)?(?:人工智能|AI)(?:技术)?(?:生成|合成)"
    r"|AI[- ]generated(?: content)?|generated (?:by|with) (?:AI|artificial intelligence)",
    re.IGNORECASE,
)


def is_compliant_label_text(text: str) -> bool:
    """
    Whether *text* has both the AI element and the generation element of GB 45438 §5.1.
    """
    return bool(_AI.search(text)) and bool(_GEN.search(text))


def detect_language(text: str) -> Language:
    """
    ``"zh"`` if the first letter of *text* is Han, kana or Hangul, else ``"en"``.

    Deciding on the first letter (not a ratio over the whole text) keeps a stream's
    decision identical to the one-shot decision whatever the chunking.
    """
    for c in text:
        if c.isalpha():
            o = ord(c)
            cjk = (
                0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
                or 0x20000 <= o <= 0x3FFFF
            )
            return "zh" if cjk else "en"
    return "en"


@dataclass(frozen=True, slots=True)
class LabelMatch:
    """
    An explicit label phrase found in text: the phrase, its character offset and where it sits.
    """

    phrase: str
    offset: int
    position: Literal["start", "middle", "end"]


def find_label_phrases(text: str, *, limit: int = 16) -> list[LabelMatch]:
    """
    Return up to *limit* compliant label phrases in *text* with their positions.

    ``start`` and ``end`` mean within the first or last 15% of the text (at least 40 characters).
    """
    n = len(text)
    edge = max(40, n * 15 // 100)
    out = []
    for m in _PHRASE.finditer(text):
        if not is_compliant_label_text(m.group()):
            continue
        pos: Literal["start", "middle", "end"] = (
            "start" if m.start() < edge else "end" if m.end() > n - edge else "middle"
        )
        out.append(LabelMatch(m.group(), m.start(), pos))
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True, slots=True)
class ExplicitLabel:
    """
    The visible label: wording, placement and the text format it is rendered for.

    .. versionadded:: 0.1.0
    """

    text: str
    placement: Placement = "end"
    format: TextFormat = "plain"

    def render(self) -> str:
        """
        The label as it appears in the output, for this label's text format.
        """
        if self.format == "markdown":
            return f"*{self.text}*"
        if self.format == "html":
            return f'<p class="aigc-label" data-aigc-label="explicit">{html.escape(self.text)}</p>'
        return f"【{self.text}】" if not self.text.startswith(("【", "[", "(", "（")) else self.text

    def prefix(self) -> str:
        """
        What goes before the content for ``start`` placements.
        """
        return self.render() + ("\n" if self.format == "html" else "\n\n")

    def suffix(self) -> str:
        """
        What goes after the content for ``end`` placements.
        """
        return ("\n" if self.format == "html" else "\n\n") + self.render()

    def middle(self) -> str:
        """
        What is inserted at a paragraph or sentence boundary for ``middle`` placements.
        """
        return self.render()


_FENCE = re.compile(r"^[ \t]{0,3}(?:```|~~~)", re.MULTILINE)
_SENTENCE_END = re.compile(r"[。！？!?.](?=\s|[\u3000-\u9fff])")


def _blocked_spans(text: str) -> list[tuple[int, int]]:
    """
    Character spans where no label may go: fenced code, table rows, URLs, inline code.
    """
    spans = []
    fences = [m.start() for m in _FENCE.finditer(text)]
    for a, b in zip(fences[::2], fences[1::2] + [len(text)] * (len(fences) % 2), strict=False):
        spans.append((a, b + 3))
    for m in re.finditer(r"^[ \t]*\|.*$", text, re.MULTILINE):
        spans.append((m.start(), m.end()))
    for m in re.finditer(r"(?:https?|ftp)://\S+|www\.\S+|`[^`\n]*`", text):
        spans.append((m.start(), m.end()))
    return spans


def middle_boundary(text: str) -> tuple[int, Literal["paragraph", "sentence", "end"]]:
    """
    Return the insertion offset nearest the middle of *text* and its kind.

    Paragraph boundaries (a blank line) are preferred, then sentence ends; never inside
    a code fence, a table, a URL or a word. Falls back to the end of the text.
    """
    spans = _blocked_spans(text)

    def free(i: int) -> bool:
        return not any(a <= i < b for a, b in spans)

    mid = len(text) // 2
    paragraphs = [m.end() for m in re.finditer(r"\n[ \t]*\n", text) if free(m.start()) and 0 < m.end() < len(text)]
    if paragraphs:
        return min(paragraphs, key=lambda i: abs(i - mid)), "paragraph"
    sentences = [m.end() for m in _SENTENCE_END.finditer(text) if free(m.start()) and m.end() < len(text)]
    if sentences:
        return min(sentences, key=lambda i: abs(i - mid)), "sentence"
    return len(text), "end"
