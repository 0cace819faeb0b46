"""
Text and custom properties of OOXML parts (docx body, headers, footers, ``custom.xml``),
read in one streaming pass with caps checked as the parser goes.

A tree walk that joins the text under every ``<w:p>`` repeats the text of nested
paragraphs once per level: a 1.1 KB docx of nested paragraphs expanded to 32 M characters
(about 20 s) before the text cap was looked at. Here each ``<w:t>`` belongs to its innermost
paragraph only, no tree is kept, and the element count, nesting depth and text size are
checked at every element, so the work is linear in the part and stops at the first cap.
Parsing goes through defusedxml (no DTDs, no entity declarations).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import ParseError

from aigclabel.exceptions import MissingDependencyError

from ._limits import MAX_DEPTH, MAX_NODES, CarrierError

__all__ = ["TextBudget", "custom_properties", "paragraphs"]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_P, _R, _T = f"{{{W_NS}}}p", f"{{{W_NS}}}r", f"{{{W_NS}}}t"
_RUN_CHARS = {f"{{{W_NS}}}tab": "\t", f"{{{W_NS}}}br": "\n", f"{{{W_NS}}}cr": "\n"}
_PROPERTY = f"{{{CP_NS}}}property"


class TextBudget:
    """
    The UTF-8 bytes of text a file may still yield (shared by all its parts).
    """

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, text: str) -> None:
        self.left -= len(text.encode("utf-8", "surrogatepass"))
        if self.left < 0:
            raise CarrierError(f"document text exceeds the {self.limit // 2**20} MB text cap")


class _Caps:
    """Element count and nesting depth of one part, checked at each start tag."""

    def __init__(self, name: str, max_nodes: int, max_depth: int) -> None:
        self.name = name
        self.tags: list[str] = []
        self.nodes = 0
        self.max_nodes = max_nodes
        self.max_depth = max_depth

    def push(self, tag: str) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise CarrierError(f"{self.name}: more than {self.max_nodes} XML elements")
        if len(self.tags) >= self.max_depth:
            raise CarrierError(f"{self.name}: XML elements nested deeper than {self.max_depth} levels")
        self.tags.append(tag)


class _ParagraphTarget(_Caps):
    """Paragraph texts in the order the paragraphs start; each run character counted once."""

    def __init__(self, name: str, budget: TextBudget, max_nodes: int, max_depth: int) -> None:
        super().__init__(name, max_nodes, max_depth)
        self.budget = budget
        self.paragraphs: list[str] = []
        self._open: list[tuple[int, list[str]]] = []

    def start(self, tag: str, attrib: Any) -> None:
        parent = self.tags[-1] if self.tags else None
        self.push(tag)
        if tag == _P:
            self.paragraphs.append("")
            self._open.append((len(self.paragraphs) - 1, []))
        elif parent == _R and tag in _RUN_CHARS and self._open:
            self._add(_RUN_CHARS[tag])

    def end(self, tag: str) -> None:
        self.tags.pop()
        if tag == _P:
            index, parts = self._open.pop()
            self.paragraphs[index] = "".join(parts)

    def data(self, text: str) -> None:
        if self._open and self.tags and self.tags[-1] == _T:
            self._add(text)

    def _add(self, text: str) -> None:
        self.budget.spend(text)
        self._open[-1][1].append(text)

    def close(self) -> None:
        """The caller reads ``paragraphs``."""


class _PropertyTarget(_Caps):
    """The text of every custom property, by name."""

    def __init__(self, name: str, max_nodes: int, max_depth: int, limit: int) -> None:
        super().__init__(name, max_nodes, max_depth)
        self.properties: list[tuple[str, str]] = []
        self._name: str | None = None
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit

    def start(self, tag: str, attrib: Any) -> None:
        self.push(tag)
        if tag == _PROPERTY and len(self.tags) == 2:
            self._name = str(attrib.get("name") or "")
            self._parts = []

    def end(self, tag: str) -> None:
        self.tags.pop()
        if tag == _PROPERTY and self._name is not None and len(self.tags) == 1:
            self.properties.append((self._name, "".join(self._parts)))
            self._name = None

    def data(self, text: str) -> None:
        if self._name is not None:
            self._size += len(text)
            if self._size > self._limit:
                raise CarrierError(f"{self.name}: property values exceed {self._limit} characters")
            self._parts.append(text)

    def close(self) -> None:
        """The caller reads ``properties``."""


def _run(target: Any, data: bytes, name: str) -> None:
    try:
        import defusedxml
        from defusedxml.ElementTree import DefusedXMLParser
    except ImportError as exc:
        raise MissingDependencyError("defusedxml", "files") from exc
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    try:
        # One feed: expat < 2.6 reparses a token split across many feeds (quadratic).
        parser.feed(data)
        parser.close()
    except defusedxml.DefusedXmlException as exc:
        raise CarrierError(f"{name}: DTDs and XML entity declarations are refused ({exc})") from exc
    except ParseError as exc:
        raise CarrierError(f"{name}: broken XML ({exc})") from exc


def paragraphs(
    data: bytes, name: str, budget: TextBudget, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> list[str]:
    """
    The text of each ``<w:p>`` of the WordprocessingML part *data*, in document order.

    A paragraph nested in another (a text box) is its own entry; its text is not repeated
    in the outer paragraph. Tabs and breaks inside runs become ``\\t`` and ``\\n``.

    Raises:
        CarrierError: broken XML, a DTD, or over a cap (elements, depth, *budget*).
    """
    target = _ParagraphTarget(name, budget, max_nodes, max_depth)
    _run(target, data, name)
    return target.paragraphs


def custom_properties(
    data: bytes, name: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH, limit: int
) -> list[tuple[str, str]]:
    """
    ``(name, text)`` of every top-level ``<property>`` of a ``custom.xml`` part.

    Raises:
        CarrierError: broken XML, a DTD, or over a cap.
    """
    target = _PropertyTarget(name, max_nodes, max_depth, limit)
    _run(target, data, name)
    return target.properties
