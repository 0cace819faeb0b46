"""
HTML for the file carriers: the visible text and ``<meta name="AIGC">`` of a page, and the
tag scanning the rewriter uses. Both run in time linear in the input, whatever the input.

The stdlib ``html.parser`` rescans its buffer on every unclosed construct: a page of
``"<!--" * n`` or ``'<a b="' * n`` costs time quadratic in *n* (320 KB of ``<!--``: about a
minute). libxml2's HTML parser (through lxml) tokenizes as HTML5 does in one pass; it feeds
this module's handler events (no tree is built), which counts elements and nesting depth
and stops at the caps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from . import limits
from .limits import CarrierError
from .xmlparts import lxml_etree

__all__ = ["html_text", "tag_spans"]

_SKIP = frozenset({"head", "script", "style", "template", "noscript", "title"})
_BLOCK = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section", "article",
     "header", "footer", "blockquote", "table", "ul", "ol", "aside", "figcaption"}
)  # fmt: skip
_CHUNK = 1 << 16
_CHROME = frozenset({"aigc-ui-tag", "aigc-label", "aigc-prompt"})


class _TextTarget:
    """
    lxml parser target: collects the text outside head/script/style and the AIGC metas.

    Raising inside a callback does not stop libxml2, so a cap sets ``error`` and the
    handler ignores the rest; the feeding loop stops at the next chunk.
    """

    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.parts: list[str] = []
        self.content: list[str] = []
        self.metas: list[str | None] = []
        self._chrome_at = 0  # the depth of the open label element an exporter or platform added
        self.error: str | None = None
        self._skip = 0
        self._depth = 0
        self._nodes = 0
        self._max_nodes = max_nodes
        self._max_depth = max_depth

    def start(self, tag: str, attrib: Any) -> None:
        if self.error is not None:
            return
        self._nodes += 1
        self._depth += 1
        if self._nodes > self._max_nodes:
            self.error = f"HTML has more than {self._max_nodes} elements"
        elif self._depth > self._max_depth:
            self.error = f"HTML nests elements deeper than {self._max_depth} levels"
        if not self._chrome_at and _is_chrome(attrib):
            self._chrome_at = self._depth
        if tag == "meta":
            if "AIGC" in (attrib.get("name") or attrib.get("property") or "").upper():
                self.metas.append(attrib.get("content"))
        elif tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK and not self._skip:
            self._add("\n")

    def end(self, tag: str) -> None:
        if self.error is not None:
            return
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK and tag != "br" and not self._skip:
            self._add("\n")
        if self._chrome_at == self._depth:
            self._chrome_at = 0
        self._depth -= 1

    def data(self, data: str) -> None:
        if self.error is None and not self._skip:
            self._add(data)

    def _add(self, text: str) -> None:
        self.parts.append(text)
        if not self._chrome_at:
            self.content.append(text)

    def comment(self, text: str) -> None:
        """Comments are not visible text."""

    def close(self) -> None:
        """Nothing to return: the caller reads the collected fields."""


def _is_chrome(attrib: Any) -> bool:
    classes = str(attrib.get("class") or "").split()
    return attrib.get("data-aigc-label") is not None or any(c in _CHROME for c in classes)


def html_text(
    text: str, *, max_nodes: int | None = None, max_depth: int | None = None
) -> tuple[str, str, list[str | None]]:
    """
    The visible text of the page *text* (block elements on their own lines), the same text
    without the label elements an exporter or platform adds (classes ``aigc-ui-tag``,
    ``aigc-label``, ``aigc-prompt``, attribute ``data-aigc-label``), and the ``content`` of
    every ``<meta>`` whose ``name`` (or ``property``) contains ``AIGC``.

    Raises:
        CarrierError: the page has more elements or deeper nesting than the caps, or
            libxml2 gave up on it.
        MissingDependencyError: lxml is not installed.
    """
    etree = lxml_etree()
    target = _TextTarget(max_nodes or limits.MAX_NODES, max_depth or limits.MAX_DEPTH)
    # huge_tree lifts libxml2's own 10 MB text-node limit; the caps here bound the work.
    parser = etree.HTMLParser(
        target=target, recover=True, no_network=True, huge_tree=True, encoding="utf-8", remove_pis=True
    )
    data = text.encode("utf-8", "surrogatepass")
    try:
        for at in range(0, len(data), _CHUNK):
            parser.feed(data[at : at + _CHUNK])
            if target.error is not None:
                raise CarrierError(target.error)
        if data:
            parser.close()
    except etree.LxmlError as exc:
        raise CarrierError(f"broken HTML: {exc}") from exc
    if target.error is not None:
        raise CarrierError(target.error)
    fatal = [e for e in parser.error_log if e.level_name == "FATAL"]
    if fatal:
        raise CarrierError(f"broken HTML: {fatal[0].message.strip()}")
    return "".join(target.parts).strip("\n"), "".join(target.content).strip("\n"), target.metas


def tag_spans(text: str, name: str) -> Iterator[tuple[int, int]]:
    """
    The ``(start, end)`` of each ``<name …>`` tag (what ``<name\\b[^>]*>`` matches,
    case-insensitive, non-overlapping), found in one left-to-right pass.

    The regex itself is quadratic where no ``>`` follows: it rescans to the end of the
    text from every ``<name``.
    """
    opener = re.compile(rf"<{re.escape(name)}\b", re.IGNORECASE)
    pos = 0
    while (m := opener.search(text, pos)) is not None:
        gt = text.find(">", m.end())
        if gt < 0:
            return
        yield m.start(), gt + 1
        pos = gt + 1
