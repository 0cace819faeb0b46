"""
DOCX: read the text and label of a Word document, set its label, render an export.

* :func:`read`: the body paragraphs (text boxes and table cells each a paragraph, read once),
  then headers and footers, and the ``AIGC`` custom property (:mod:`.opc`). Variants for the
  verifier: the body without headers and footers, and without the label paragraphs an
  exporter (style ``AIGC Label``) or a platform (a prompt paragraph) added.
* :func:`set_label`: exactly one ``AIGC`` property; a platform's prompt as a bold first
  paragraph.
* :func:`render`: a real Word document built from the Markdown with python-docx: headings,
  paragraphs, bold/italic/strikethrough, bullet and numbered lists (each numbered list
  restarts), code blocks in a monospace font, tables, hyperlinks and block quotes. The
  invisible marks stay in the run text. The visible label is the first paragraph and sits in
  the page footer of every section. Core properties: author and last-modified-by are the
  producer code, created/modified the export time (UTC).
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from aigclabel.exceptions import MissingDependencyError

from . import limits, opc
from .document import ExportDocument, ExportError
from .extracted import Extracted
from .limits import CarrierError
from .xmlparts import TextBudget, paragraphs
from .zipped import open_package

__all__ = ["LABEL_STYLE", "PROMPT_STYLE", "aigc_properties", "document_text", "read", "render", "set_label"]

MONOSPACE = "Courier New"
#: The paragraph style of the visible label this exporter adds (readers skip it to get the content).
LABEL_STYLE = "AIGC Label"
#: The style id of the prompt paragraph :func:`set_label` adds for a platform.
PROMPT_STYLE = "AIGCPrompt"
_LABEL_STYLE_IDS = frozenset({"AIGCLabel", PROMPT_STYLE})
_DOCUMENT = "word/document.xml"
_HEADER_FOOTER = re.compile(r"word/(header|footer)\d*\.xml")

# Characters XML 1.0 cannot hold (python-docx would raise on them).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


# -- reading and setting the label ------------------------------------------------------------


def read(data: bytes) -> Extracted:
    """
    The visible text and implicit label of a .docx.

    Raises:
        CarrierError: not a ZIP package, over a cap, or ``word/document.xml`` is missing or
            unreadable (an unreadable header, footer or custom part is a finding instead).
    """
    pkg = open_package(data, "docx")
    doc = pkg.get(_DOCUMENT)
    if doc is None:
        raise CarrierError(f"not a Word document: {_DOCUMENT} is missing")
    budget = TextBudget(limits.MAX_TEXT_BYTES)
    body = paragraphs(doc, _DOCUMENT, budget)
    out = Extracted("docx", [])
    extra: list[str] = []
    for name in sorted(n for n in pkg.names() if _HEADER_FOOTER.fullmatch(n)):
        try:
            extra.extend(p.text for p in paragraphs(pkg.get(name) or b"", name, budget))
        except CarrierError as exc:
            out.findings.append(str(exc))
    text = _join(body)
    out.texts.append("\n".join([text, *(e for e in extra if e)]) if any(extra) else text)
    out.add_text(text)
    out.add_text(_join(p for p in body if p.style not in _LABEL_STYLE_IDS))
    opc.read_labels(pkg, out)
    return out


def _join(paras: Any) -> str:
    return "\n".join(p.text for p in paras)


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The .docx with exactly one ``AIGC`` property holding *fields*, and *prompt* (when given)
    as a bold first paragraph of style id ``AIGCPrompt``.

    Raises:
        CarrierError: the package cannot be read or rewritten safely.
    """
    pkg = open_package(data, "docx")
    if prompt:
        doc = pkg.get(_DOCUMENT)
        if doc is None:
            raise CarrierError(f"not a Word document: {_DOCUMENT} is missing")
        pkg.set(_DOCUMENT, _prepend_paragraph(doc, prompt))
    return opc.set_label(pkg, fields)


def _prepend_paragraph(doc: bytes, prompt: str) -> bytes:
    # The opening tag ends at the first ">" after "<w:body": found with find(), because
    # ``[^>]*>`` rescans to the end of the part from every "<body" that has no ">" after it.
    m = re.search(rb"<(\w+:)?body\b", doc)
    gt = doc.find(b">", m.end()) if m is not None else -1
    if m is None or gt < 0:
        raise CarrierError(f"{_DOCUMENT} has no body")
    p = (m.group(1) or b"w:").decode()
    run = (
        f'<{p}p><{p}pPr><{p}pStyle {p}val="{PROMPT_STYLE}"/></{p}pPr><{p}r><{p}rPr><{p}b/></{p}rPr>'
        f"<{p}t>{html.escape(prompt)}</{p}t></{p}r></{p}p>"
    )
    return doc[: gt + 1] + run.encode() + doc[gt + 1 :]


def aigc_properties(data: bytes) -> list[str]:
    """
    The stored values of every ``AIGC`` custom property in the package *data* (normally one).
    """
    out = Extracted("docx", [])
    opc.read_labels(open_package(data), out)
    return [found.stored for found in out.labels if found.stored is not None]


# -- Markdown to Word --------------------------------------------------------------------------


@dataclass
class _List:
    ordered: bool
    start: int
    num_id: int | None = None
    first: bool = False


@dataclass
class _Inline:
    bold: int = 0
    italic: int = 0
    strike: int = 0
    link: Any = None


class _Writer:
    """
    Walks markdown-it tokens and appends Word structures to a python-docx Document.
    """

    def __init__(self, document: Any) -> None:
        self.doc = document
        self.lists: list[_List] = []
        self.quote = 0

    # -- helpers ---------------------------------------------------------------------------

    def _style(self, name: str, fallback: str | None = None) -> Any:
        for candidate in (name, fallback):
            if candidate is None:
                continue
            try:
                return self.doc.styles[candidate]
            except KeyError:
                continue
        return None

    def _paragraph(self, style: str | None = None, fallback: str | None = None) -> Any:
        para = self.doc.add_paragraph()
        if style is not None:
            found = self._style(style, fallback)
            if found is not None:
                para.style = found
        return para

    def _restart_numbering(self, style: Any, start: int) -> int | None:
        """
        A new numbering instance of *style*'s list that starts at *start*.
        """
        ppr = style.element.pPr
        if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
            return None
        numbering = self.doc.part.numbering_part.element
        base = numbering.num_having_numId(ppr.numPr.numId.val)
        num = numbering.add_num(base.abstractNumId.val)
        num.add_lvlOverride(ilvl=0).add_startOverride(start)
        return int(num.numId)

    def _block_paragraph(self) -> Any:
        """
        A paragraph for the current context: list item, list continuation, quote or plain.
        """
        if self.lists:
            state = self.lists[-1]
            depth = min(len(self.lists), 3)
            suffix = "" if depth == 1 else f" {depth}"
            if not state.first:
                return self._paragraph(f"List Continue{suffix}", "List Continue")
            state.first = False
            kind = "List Number" if state.ordered else "List Bullet"
            para = self._paragraph(f"{kind}{suffix}", kind)
            if state.ordered:
                style = self._style(f"{kind}{suffix}", kind)
                if state.num_id is None and style is not None:
                    state.num_id = self._restart_numbering(style, state.start)
                if state.num_id is not None:
                    num_pr = para._p.get_or_add_pPr().get_or_add_numPr()
                    num_pr.get_or_add_ilvl().val = 0
                    num_pr.get_or_add_numId().val = state.num_id
            return para
        if self.quote:
            return self._paragraph("Quote")
        return self._paragraph()

    def _run(self, para: Any, text: str, fmt: _Inline, *, code: bool = False) -> Any:
        from docx.shared import RGBColor
        from docx.text.run import Run

        text = _xml_text(text)
        if fmt.link is not None:
            from docx.oxml import OxmlElement

            element = OxmlElement("w:r")
            fmt.link.append(element)
            run = Run(cast(Any, element), para)
            run.text = text
            run.font.underline = True
            run.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
        else:
            run = para.add_run(text)
        if fmt.bold:
            run.bold = True
        if fmt.italic:
            run.italic = True
        if fmt.strike:
            run.font.strike = True
        if code:
            _monospace(run)
        return run

    def _start_link(self, para: Any, href: str) -> Any:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        r_id = self.doc.part.relate_to(href, RT.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), r_id)
        para._p.append(link)
        return link

    def inline(self, para: Any, token: Any) -> None:
        """
        Append the runs of one ``inline`` token to *para*.
        """
        fmt = _Inline()
        for child in token.children or []:
            kind = child.type
            if kind == "text":
                self._run(para, child.content, fmt)
            elif kind == "code_inline":
                self._run(para, child.content, fmt, code=True)
            elif kind in ("softbreak", "hardbreak"):
                self._run(para, "", fmt).add_break()
            elif kind == "strong_open":
                fmt.bold += 1
            elif kind == "strong_close":
                fmt.bold -= 1
            elif kind == "em_open":
                fmt.italic += 1
            elif kind == "em_close":
                fmt.italic -= 1
            elif kind == "s_open":
                fmt.strike += 1
            elif kind == "s_close":
                fmt.strike -= 1
            elif kind == "link_open":
                fmt.link = self._start_link(para, str(child.attrGet("href") or ""))
            elif kind == "link_close":
                fmt.link = None
            elif kind == "image":
                self._run(para, child.content or str(child.attrGet("src") or ""), fmt)
            elif child.content:
                self._run(para, child.content, fmt)

    def code_block(self, text: str) -> None:
        """
        A code block: one paragraph, monospace runs, a line break per source line.
        """
        from docx.shared import Pt

        para = self._paragraph("No Spacing")
        para.paragraph_format.left_indent = Pt(18)
        lines = text.rstrip("\n").split("\n")
        for i, line in enumerate(lines):
            run = para.add_run(_xml_text(line))
            _monospace(run)
            if i < len(lines) - 1:
                run.add_break()

    def table(self, tokens: list[Any], start: int) -> int:
        """
        Render the table starting at ``tokens[start]``; return the index after ``table_close``.
        """
        rows: list[list[tuple[bool, Any]]] = []
        i = start + 1
        while i < len(tokens) and tokens[i].type != "table_close":
            t = tokens[i]
            if t.type == "tr_open":
                rows.append([])
            elif t.type in ("th_open", "td_open"):
                inline = tokens[i + 1] if tokens[i + 1].type == "inline" else None
                rows[-1].append((t.type == "th_open", inline))
            i += 1
        cols = max((len(r) for r in rows), default=0)
        if rows and cols:
            table = self.doc.add_table(rows=len(rows), cols=cols)
            style = self._style("Table Grid")
            if style is not None:
                table.style = style
            for r, row in enumerate(rows):
                for c, (header, inline) in enumerate(row):
                    para = table.cell(r, c).paragraphs[0]
                    if inline is not None:
                        self.inline(para, inline)
                    if header:
                        for run in para.runs:
                            run.bold = True
        return i + 1

    def render(self, text: str) -> None:
        """
        Append the Markdown *text* to the document.
        """
        from .html import markdown_parser

        tokens = markdown_parser().parse(text)
        i = 0
        while i < len(tokens):
            t = tokens[i]
            kind = t.type
            if kind == "heading_open":
                para = self.doc.add_heading("", level=min(int(t.tag[1:]), 9))
                self.inline(para, tokens[i + 1])
                i += 3
                continue
            if kind == "paragraph_open":
                para = self._block_paragraph()
                self.inline(para, tokens[i + 1])
                i += 3
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                start = t.attrGet("start")
                self.lists.append(_List(kind == "ordered_list_open", int(start) if start else 1))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                self.lists[-1].first = True
            elif kind == "blockquote_open":
                self.quote += 1
            elif kind == "blockquote_close":
                self.quote -= 1
            elif kind in ("fence", "code_block"):
                self.code_block(t.content)
            elif kind == "table_open":
                i = self.table(tokens, i)
                continue
            elif kind == "hr":
                _bottom_border(self._paragraph())
            elif kind == "inline":  # stray inline (html disabled: should not happen)
                self.inline(self._block_paragraph(), t)
            i += 1


def _monospace(run: Any) -> None:
    from docx.oxml.ns import qn

    run.font.name = MONOSPACE
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), MONOSPACE)


def _bottom_border(para: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    para._p.get_or_add_pPr().append(borders)


def _load(template: bytes | str | os.PathLike[str] | None) -> Any:
    try:
        import docx
    except ImportError as exc:
        raise MissingDependencyError("python-docx", "docx") from exc
    if template is None:
        return docx.Document()
    data = template if isinstance(template, bytes) else Path(template).read_bytes()
    try:
        open_package(data, "docx")  # size and member limits before python-docx expands it
    except CarrierError as exc:
        raise ExportError(f"the template is not a readable .docx: {exc}") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for a broken package
        raise ExportError(f"the template is not a readable .docx: {exc}") from exc
    from docx.oxml.ns import qn

    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    return document


def _footer_label(document: Any, label: str) -> None:
    for section in document.sections:
        footer = section.footer
        if label in "\n".join(p.text for p in footer.paragraphs):
            continue
        paras = footer.paragraphs
        para = paras[0] if paras and not paras[0].text else footer.add_paragraph()
        para.add_run(label)


def _label_style(document: Any) -> Any:
    from docx.enum.style import WD_STYLE_TYPE

    try:
        return document.styles[LABEL_STYLE]
    except KeyError:
        style = document.styles.add_style(LABEL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        style.font.bold = True
        return style


def document_text(data: bytes) -> str:
    """
    The body text of a .docx in document order, one line per paragraph or table row
    (cells joined by `` | ``; a table nested in a cell is part of that cell's text, read
    once), without the label paragraphs this exporter adds.

    This is the text to pass to ``verify()``: the invisible marks and seal survive in it.
    """
    try:
        import docx
        from docx.oxml.ns import qn
    except ImportError as exc:
        raise MissingDependencyError("python-docx", "docx") from exc
    open_package(data, "docx")
    document = docx.Document(io.BytesIO(data))
    skip = None
    with contextlib.suppress(KeyError):
        skip = document.styles[LABEL_STYLE].style_id

    breaks = {qn("w:br"): "\n", qn("w:tab"): "\t"}

    def text_of(element: Any) -> str:
        return "".join(breaks.get(node.tag, node.text or "") for node in element.iter(qn("w:t"), *breaks))

    def outermost(element: Any, tag: str) -> list[Any]:
        # The *tag* descendants not inside another one or a nested table: each node of a
        # table is then visited once (iter() would repeat nested tables once per level).
        found, stack = [], list(reversed(element))
        while stack:
            node = stack.pop()
            if node.tag == tag:
                found.append(node)
            elif node.tag != qn("w:tbl"):
                stack.extend(reversed(node))
        return found

    lines = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            style = element.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
            if skip is not None and style is not None and style.get(qn("w:val")) == skip:
                continue
            lines.append(text_of(element))
        elif element.tag == qn("w:tbl"):
            for row in outermost(element, qn("w:tr")):
                lines.append(" | ".join(text_of(cell) for cell in outermost(row, qn("w:tc"))))
    return "\n".join(lines)


def render(doc: ExportDocument, *, template: bytes | str | os.PathLike[str] | None = None) -> bytes:
    """
    The .docx file of *doc*.

    Raises:
        ExportError: the template is not a readable .docx or exceeds the package limits.
        MissingDependencyError: python-docx or markdown-it-py is missing (``[docx]``, ``[markdown]``).
    """
    document = _load(template)
    label = _xml_text(doc.label_text)
    if doc.show_label:
        document.add_paragraph(label, style=_label_style(document))
    if doc.title is not None:
        document.add_heading(_xml_text(doc.title), level=0)
    writer = _Writer(document)
    for part in doc.parts:
        if part.role is not None:
            document.add_heading(doc.role_name(part.role), level=3)
        writer.render(part.text)
    if doc.show_label:
        _footer_label(document, label)
    core = document.core_properties
    producer = doc.metadata.content_producer
    core.author = producer
    core.last_modified_by = producer
    core.created = doc.created
    core.modified = doc.created
    if doc.title is not None:
        core.title = _xml_text(doc.title)
    buf = io.BytesIO()
    document.save(buf)
    try:
        return opc.set_label(open_package(buf.getvalue()), doc.metadata.to_dict("bare"))
    except CarrierError as exc:
        raise ExportError(str(exc)) from exc
