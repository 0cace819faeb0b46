"""
The one XML hardening scheme of the format modules, and the streaming readers of OOXML parts.

Every XML part is parsed with DTDs refused: streaming reads go through defusedxml's expat
parser (``forbid_dtd``), tree parses (relationships, content types, custom properties that
are rewritten) through lxml with entity resolution, DTD loading and network access off, and
any document type declaration refused. Size caps are checked before a tree is built.

The streaming readers keep no tree. A tree walk that joins the text under every ``<w:p>``
repeats the text of nested paragraphs once per level: a 1.1 KB docx of nested paragraphs
expanded to 32 M characters (about 20 s) before the text cap was looked at. Here each text
element belongs to its innermost paragraph only, and the element count, nesting depth and
text size are checked at every element, so the work is linear in the part and stops at the
first cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from aigclabel.exceptions import MissingDependencyError

from . import limits
from .limits import CarrierError

__all__ = [
    "DRAWING",
    "SPREADSHEET",
    "WORD",
    "Paragraph",
    "ParagraphTags",
    "TextBudget",
    "custom_properties",
    "lxml_etree",
    "paragraphs",
    "parse_tree",
    "serialize_tree",
]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_PROPERTY = f"{{{CP_NS}}}property"


@dataclass(frozen=True, slots=True)
class ParagraphTags:
    """The element names of one OOXML vocabulary: paragraph, run, text, style, run characters."""

    paragraph: str
    run: str
    text: str
    style: str | None
    run_chars: tuple[tuple[str, str], ...]


#: WordprocessingML (docx): ``<w:p>``, ``<w:r>``, ``<w:t>``, ``<w:pStyle w:val>``.
WORD = ParagraphTags(
    f"{{{W_NS}}}p",
    f"{{{W_NS}}}r",
    f"{{{W_NS}}}t",
    f"{{{W_NS}}}pStyle",
    ((f"{{{W_NS}}}tab", "\t"), (f"{{{W_NS}}}br", "\n"), (f"{{{W_NS}}}cr", "\n")),
)
#: DrawingML text (pptx slides): ``<a:p>``, ``<a:r>``, ``<a:t>``, ``<a:br>``.
DRAWING = ParagraphTags(f"{{{A_NS}}}p", f"{{{A_NS}}}r", f"{{{A_NS}}}t", None, ((f"{{{A_NS}}}br", "\n"),))
#: SpreadsheetML strings (xlsx shared strings and inline strings): ``<si>``/``<is>``, ``<t>``.
SPREADSHEET = ParagraphTags(f"{{{S_NS}}}si", f"{{{S_NS}}}r", f"{{{S_NS}}}t", None, ())


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph's text and its style id (``None`` when it names none)."""

    text: str
    style: str | None = None


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

    def __init__(
        self, name: str, tags: ParagraphTags, budget: TextBudget, max_nodes: int, max_depth: int
    ) -> None:
        super().__init__(name, max_nodes, max_depth)
        self.t = tags
        self.run_chars = dict(tags.run_chars)
        self.inline = tags.paragraph.rsplit("}", 1)[0] + "}is"  # SpreadsheetML inline strings
        self.budget = budget
        self.paragraphs: list[Paragraph] = []
        self._open: list[tuple[int, list[str], list[str | None]]] = []

    def start(self, tag: str, attrib: Any) -> None:
        parent = self.tags[-1] if self.tags else None
        self.push(tag)
        if tag == self.t.paragraph or tag == self.inline:
            self.paragraphs.append(Paragraph(""))
            self._open.append((len(self.paragraphs) - 1, [], [None]))
        elif tag == self.t.style and self._open:
            self._open[-1][2][0] = attrib.get(f"{{{W_NS}}}val")
        elif parent == self.t.run and tag in self.run_chars and self._open:
            self._add(self.run_chars[tag])

    def end(self, tag: str) -> None:
        self.tags.pop()
        if tag == self.t.paragraph or tag == self.inline:
            index, parts, style = self._open.pop()
            self.paragraphs[index] = Paragraph("".join(parts), style[0])

    def data(self, text: str) -> None:
        if self._open and self.tags and self.tags[-1] == self.t.text:
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


def _stream(target: Any, data: bytes, name: str) -> None:
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
    data: bytes,
    name: str,
    budget: TextBudget,
    *,
    tags: ParagraphTags = WORD,
    max_nodes: int | None = None,
    max_depth: int | None = None,
) -> list[Paragraph]:
    """
    Each paragraph of the part *data*, in document order, with its style id.

    A paragraph nested in another (a text box) is its own entry; its text is not repeated
    in the outer paragraph. Tabs and breaks inside runs become ``\\t`` and ``\\n``.

    Raises:
        CarrierError: broken XML, a DTD, or over a cap (elements, depth, *budget*).
    """
    target = _ParagraphTarget(
        name, tags, budget, max_nodes or limits.MAX_NODES, max_depth or limits.MAX_DEPTH
    )
    _stream(target, data, name)
    return target.paragraphs


def custom_properties(
    data: bytes, name: str, *, max_nodes: int | None = None, max_depth: int | None = None, limit: int
) -> list[tuple[str, str]]:
    """
    ``(name, text)`` of every top-level ``<property>`` of a custom-properties part.

    Raises:
        CarrierError: broken XML, a DTD, or over a cap.
    """
    target = _PropertyTarget(name, max_nodes or limits.MAX_NODES, max_depth or limits.MAX_DEPTH, limit)
    _stream(target, data, name)
    return target.properties


def lxml_etree() -> Any:
    """lxml's ``etree`` module.

    Raises:
        MissingDependencyError: lxml is not installed (extra ``files``).
    """
    try:
        from lxml import etree
    except ImportError as exc:
        raise MissingDependencyError("lxml", "files") from exc
    return etree


def parse_tree(data: bytes, name: str) -> Any:
    """
    Parse one small XML part into an lxml tree: no DTD, no entities, no network, bounded size.

    Raises:
        CarrierError: larger than :data:`MAX_XML_PART_BYTES`, a document type declaration,
            or not well-formed.
    """
    if len(data) > limits.MAX_XML_PART_BYTES:
        raise CarrierError(f"{name} is larger than {limits.MAX_XML_PART_BYTES} bytes")
    etree = lxml_etree()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CarrierError(f"{name} is not well-formed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CarrierError(f"{name}: DTDs and XML entity declarations are refused")
    return root


def serialize_tree(root: Any) -> bytes:
    """The bytes of a tree parsed by :func:`parse_tree` (UTF-8, with a declaration)."""
    return bytes(lxml_etree().tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))
