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

from aigclabel.exceptions import MissingDependencyError

from ._limits import MAX_DEPTH, MAX_NODES, CarrierError

__all__ = ["html_text", "tag_spans"]

_SKIP = frozenset({"head", "script", "style", "template", "noscript", "title"})
_BLOCK = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section", "article",
     "header", "footer", "blockquote", "table", "ul", "ol", "aside", "figcaption"}
)  # fmt: skip
_CHUNK = 1 << 16


def _etree() -> Any:
    try:
        from lxml import etree
    except ImportError as exc:
        raise MissingDependencyError("lxml", "files") from exc
    return etree


class _TextTarget:
    """
    lxml parser target: collects the text outside head/script/style and the AIGC metas.

    Raising inside a callback does not stop libxml2, so a cap sets ``error`` and the
    handler ignores the rest; the feeding loop stops at the next chunk.
    """

    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.parts: list[str] = []
        self.metas: list[str | None] = []
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
        if tag == "meta":
            if (attrib.get("name") or "").upper() == "AIGC":
                self.metas.append(attrib.get("content"))
        elif tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK and not self._skip:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if self.error is not None:
            return
        self._depth -= 1
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK and tag != "br" and not self._skip:
            self.parts.append("\n")

    def data(self, data: str) -> None:
        if self.error is None and not self._skip:
            self.parts.append(data)

    def comment(self, text: str) -> None:
        """Comments are not visible text."""

    def close(self) -> None:
        """Nothing to return: the caller reads the collected fields."""


def html_text(
    text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> tuple[str, list[str | None]]:
    """
    The visible text of the page *text* (block elements on their own lines) and the
    ``content`` of every ``<meta name="AIGC">``.

    Raises:
        CarrierError: the page has more elements or deeper nesting than the caps, or
            libxml2 gave up on it.
        MissingDependencyError: lxml is not installed.
    """
    etree = _etree()
    target = _TextTarget(max_nodes, max_depth)
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
    return "".join(target.parts).strip("\n"), target.metas


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
