"""
PDF: the label in the Document Information dictionary (``/AIGC``); read, set and render.

* :func:`read`: the page text (pypdf, capped in pages, objects and text) and every label:
  the Info key ``/AIGC`` (any letter case) and the XMP property ``TC260:AIGC`` (namespace
  ``http://www.tc260.org.cn/ns/AIGC/1.0/``, element or attribute form) seen in the wild.
* :func:`set_label`: exactly one label: the Info ``/AIGC`` entry is set and any XMP
  ``TC260:AIGC`` property removed (its content is what the caller read and kept); a
  platform's prompt is stamped at the top of the first page. Saved with object streams
  disabled, so the Info dictionary stays a plain object that simple verifiers find.
* :func:`render`: the export, described below.

PDF export: fpdf2 renders the page, pikepdf writes the ``/AIGC`` Info entry uncompressed.

* Rendering: fpdf2 (pure Python, actively maintained, LGPL-3.0) embeds a subset of a TrueType
  font, so Chinese renders and extracts as text; the Markdown is rendered to HTML by
  markdown-it-py and laid out by fpdf2's HTML support (headings, lists, tables, code, links).
  No system library is needed beyond a CJK font file.
* The implicit label: the Document Information dictionary key ``/AIGC`` holding the bare
  seven-key JSON. pikepdf (qpdf) sets it and saves with object streams disabled, so the Info
  dictionary is a plain uncompressed object that simple byte-level verifiers find.
* The visible label opens the first page and is repeated in the footer of every page.

The invisible marks are dropped from the page text (PDF fonts have no glyphs for them and a
PDF carries its implicit label in the Info dictionary).

The CJK font: ``AIGCLABEL_PDF_FONT`` (a .ttf/.ttc path) if set, else the first of a few
well-known fonts found under the usual font directories (WenQuanYi Micro Hei from the Debian
package ``fonts-wqy-microhei``, Noto Sans CJK, …).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from aigclabel.exceptions import MissingDependencyError
from aigclabel.marks.alphabet import ANY_MARK_CHAR
from aigclabel.metadata import carrier_value

from . import limits
from .document import ExportDocument, ExportError
from .extracted import Extracted, found_label
from .limits import CarrierError
from .xmlparts import parse_tree

__all__ = ["FONT_ENV", "XMP_NS", "find_cjk_font", "read", "render", "set_label", "xmp_values_by_prefix"]

#: The namespace of the XMP ``TC260:AIGC`` property.
XMP_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
_XMP_KEY = f"{{{XMP_NS}}}AIGC"
_XMP_OPEN = re.compile(r"""TC260:AIGC\s*=\s*(["'])|<TC260:AIGC>""")


def read(data: bytes) -> Extracted:
    """
    The page text and labels of a PDF (see the module docstring).

    Raises:
        CarrierError: encrypted, over a cap, or not a readable PDF.
        MissingDependencyError: pypdf is not installed (extra ``files``).
    """
    try:
        import pypdf
        from pypdf.errors import PyPdfError
    except ImportError as exc:
        raise MissingDependencyError("pypdf", "files") from exc

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CarrierError("encrypted PDF: cannot read its text")
        objects = len(reader.xref_objStm) + sum(len(v) for v in reader.xref.values())
        if objects > limits.MAX_PDF_OBJECTS:
            raise CarrierError(f"PDF has {objects} objects, over the cap of {limits.MAX_PDF_OBJECTS}")
        count = len(reader.pages)  # the page tree walk is bounded by pypdf's own limits
        if count > limits.MAX_PDF_PAGES:
            raise CarrierError(f"PDF has {count} pages, over the cap of {limits.MAX_PDF_PAGES}")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            chunk = page.extract_text() or ""
            size += len(chunk.encode("utf-8", "surrogatepass"))
            if size > limits.MAX_TEXT_BYTES:
                raise CarrierError(f"PDF text exceeds the {limits.MAX_TEXT_BYTES // 2**20} MB text cap")
            pages.append(chunk)
        info: Mapping[Any, Any] = reader.metadata or {}
        raw_info = {str(k): v for k, v in info.items()}
        xmp = reader.xmp_metadata
        xmp_raw = xmp.stream.get_data() if xmp is not None else b""
    except CarrierError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise CarrierError(f"not a readable PDF: {type(exc).__name__}: {exc}") from exc
    out = Extracted("pdf", ["\n".join(pages)])
    for key, value in raw_info.items():
        if "AIGC" in key.lstrip("/").upper():
            out.labels.append(
                found_label(str(value), f"pdf:/Info{key if key.startswith('/') else '/' + key}")
            )
    if xmp_raw:
        for value in _xmp_values(xmp_raw, out):
            out.labels.append(found_label(value, "pdf:XMP/TC260:AIGC"))
    return out


def _xmp_values(raw: bytes, out: Extracted) -> list[str]:
    """The ``TC260:AIGC`` values of an XMP packet (element or attribute form)."""
    try:
        root = parse_tree(raw.strip(), "XMP metadata")
    except CarrierError as exc:
        out.findings.append(f"{exc}; TC260:AIGC looked for by its prefix instead")
        return list(xmp_values_by_prefix(raw.decode("utf-8", "replace")))
    values = []
    for element in root.iter():
        if element.tag == _XMP_KEY:
            values.append("".join(element.itertext()))
        if _XMP_KEY in element.attrib:
            values.append(str(element.attrib[_XMP_KEY]))
    return values


def xmp_values_by_prefix(raw: str) -> Iterator[str]:  # used when the XMP packet is not well-formed
    """
    The values of ``TC260:AIGC="…"`` attributes and ``<TC260:AIGC>…</TC260:AIGC>`` elements.

    One pass: a lazy ``(.*?)`` regex would rescan to the end from every unclosed opener.
    A closer not found after one position is not looked for again.
    """
    import html

    missing: set[str] = set()
    pos = 0
    while (m := _XMP_OPEN.search(raw, pos)) is not None:
        close = m.group(1) or "</TC260:AIGC>"
        end = -1 if close in missing else raw.find(close, m.end())
        if end < 0:
            missing.add(close)
            pos = m.end()
            continue
        yield html.unescape(raw[m.end() : end])
        pos = end + len(close)


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The PDF with exactly one label, *fields* in the Info ``/AIGC`` entry, and *prompt* (when
    given) stamped at the top of the first page.

    Raises:
        CarrierError: not a readable PDF.
        MissingDependencyError: pikepdf is not installed (extra ``files``).
    """
    try:
        import pikepdf
    except ImportError as exc:
        raise MissingDependencyError("pikepdf", "files") from exc

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise CarrierError(f"not a readable PDF: {exc}") from exc
    with pdf:
        info = pdf.docinfo
        for key in [k for k in info.keys() if "AIGC" in str(k).lstrip("/").upper()]:  # noqa: SIM118
            del info[key]
        info[pikepdf.Name("/AIGC")] = pikepdf.String(carrier_value(fields, "pdf"))
        if "/Metadata" in pdf.Root:
            try:
                with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
                    if _XMP_KEY in meta:
                        del meta[_XMP_KEY]
            except Exception as exc:  # pikepdf raises several types for a broken XMP packet
                raise CarrierError(f"cannot rewrite the XMP metadata: {exc}") from exc
        if prompt and len(pdf.pages):
            _stamp(pdf, pdf.pages[0], prompt)
        buf = io.BytesIO()
        pdf.save(
            buf,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            compress_streams=True,
            deterministic_id=True,
        )
    return buf.getvalue()


def _stamp(pdf: Any, page: Any, prompt: str) -> None:
    """
    Draw *prompt* at the top of *page* in the standard Adobe-GB1 font (no embedding;
    every viewer substitutes a Song face) with a ToUnicode map so that text extraction
    returns the prompt.
    """
    import pikepdf

    codes = "".join(f"{ord(c):04X}" for c in prompt)
    chars = sorted(set(prompt))
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /AIGC-UCS def /CMapType 2 def\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n"
        + "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in chars)
        + "endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
    )
    descendant = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType0,
        BaseFont=pikepdf.Name("/STSong-Light"),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("GB1"),
                                         Supplement=4),
        FontDescriptor=pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/STSong-Light"), Flags=6,
            FontBBox=[-25, -254, 1000, 880], ItalicAngle=0, Ascent=880, Descent=-120, CapHeight=880,
            StemV=93,
        )),
    )  # fmt: skip
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/STSong-Light"),
            Encoding=pikepdf.Name("/UniGB-UCS2-H"),
            DescendantFonts=[pdf.make_indirect(descendant)],
            ToUnicode=pdf.make_stream(cmap.encode("ascii")),
        )
    )
    resources = page.obj.get("/Resources")
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    fonts = resources.get("/Font")
    if fonts is None:
        fonts = resources.Font = pikepdf.Dictionary()
    fonts["/FAIGCPrompt"] = font
    box = [float(v) for v in page.mediabox]
    y = box[3] - 24
    content = f"q BT /FAIGCPrompt 12 Tf 1 0 0 1 {box[0] + 36:.1f} {y:.1f} Tm <{codes}> Tj ET Q\n"
    page.contents_add(pdf.make_stream(content.encode("ascii")), prepend=False)


# -- export ------------------------------------------------------------------------------------

FONT_ENV = "AIGCLABEL_PDF_FONT"
#: Font files tried in order: (file name, face index of the regular face, of a monospace face).
_FONT_FILES: tuple[tuple[str, int, int | None], ...] = (
    ("wqy-microhei.ttc", 0, 1),
    ("wqy-zenhei.ttc", 0, 1),
    ("NotoSansCJK-Regular.ttc", 2, None),
    ("NotoSansSC-Regular.ttf", 0, None),
    ("NotoSansMonoCJKsc-Regular.otf", 0, None),
    ("SourceHanSansSC-Regular.otf", 0, None),
    ("msyh.ttc", 0, None),
    ("simhei.ttf", 0, None),
    ("PingFang.ttc", 0, None),
)
_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
_MISSING_FONT = (
    "no CJK TrueType font found for the pdf export: install one (Debian/Ubuntu: apt-get install "
    f"fonts-wqy-microhei) or set {FONT_ENV} to the path of a .ttf/.ttc font"
)


@lru_cache(maxsize=4)
def _search(dirs: tuple[str, ...]) -> tuple[str, int, int | None] | None:
    wanted = {name.lower(): (name, face, mono) for name, face, mono in _FONT_FILES}
    found: dict[str, Path] = {}
    for base in dirs:
        root = Path(base).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                if f.lower() in wanted and f.lower() not in found:
                    found[f.lower()] = Path(dirpath) / f
    for name, face, mono in _FONT_FILES:
        if name.lower() in found:
            return str(found[name.lower()]), face, mono
    return None


def find_cjk_font() -> tuple[str, int, int | None]:
    """
    ``(path, face index, monospace face index or None)`` of a CJK font to embed.

    Raises:
        ExportError: none was found (the message names the package to install).
    """
    override = os.environ.get(FONT_ENV)
    if override:
        if not Path(override).is_file():
            raise ExportError(f"{FONT_ENV}={override!r} is not a font file")
        return override, 0, None
    found = _search(_FONT_DIRS)
    if found is None:
        raise ExportError(_MISSING_FONT)
    return found


def _pdf_class() -> Any:
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise MissingDependencyError("fpdf2", "export") from exc

    class _LabeledPDF(FPDF):
        footer_text = ""
        footer_font = "cjk"

        def footer(self) -> None:
            if not self.footer_text:
                return
            self.set_y(-12)
            self.set_font(self.footer_font, size=8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 6, self.footer_text, align="C")
            self.set_text_color(0, 0, 0)

    return _LabeledPDF


def _tag_styles(monospace: str) -> dict[str, Any]:
    from fpdf.fonts import FontFace, TextStyle

    plain = FontFace(color=(80, 80, 80))
    return {
        "em": plain,
        "i": plain,
        "code": FontFace(family=monospace),
        "pre": TextStyle(font_family=monospace, t_margin=4 + 7 / 30),
    }


def _clean(text: str) -> str:
    return ANY_MARK_CHAR.sub("", text)


def _html_body(doc: ExportDocument) -> str:
    from html import escape

    from .html import render_markdown

    out = []
    for part in doc.parts:
        if part.role is not None:
            out.append(f"<h3>{escape(doc.role_name(part.role))}</h3>")
        out.append(render_markdown(_clean(part.text)))
    return "\n".join(out)


def render(doc: ExportDocument) -> bytes:
    """
    The PDF file of *doc*.

    Raises:
        ExportError: no CJK font was found.
        MissingDependencyError: fpdf2, pikepdf or markdown-it-py is not installed.
    """
    path, face, mono = find_cjk_font()
    body = _html_body(doc)
    pdf = _pdf_class()(format="A4")
    # One face stands in for regular and bold (CJK fonts rarely ship more); italics are shown
    # in grey instead of a slanted face. Loading a CJK font costs about 0.1 s, so only the
    # faces the page uses are registered.
    mono = mono if "<code" in body or "<pre" in body else None
    for style in ("", "B"):
        pdf.add_font("cjk", style, path, collection_font_number=face)
        if mono is not None:
            pdf.add_font("cjkmono", style, path, collection_font_number=mono)
    label = _clean(doc.label_text)
    pdf.footer_text = label if doc.show_label else ""
    pdf.set_author(doc.metadata.content_producer)
    pdf.set_creator("aigc-label")
    pdf.set_creation_date(doc.created)
    if doc.title is not None:
        pdf.set_title(doc.title)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    if doc.show_label:
        pdf.set_font("cjk", "B", size=10)
        pdf.multi_cell(0, 6, label, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font("cjk", size=11)
    if doc.title is not None:
        pdf.set_font("cjk", "B", size=18)
        pdf.multi_cell(0, 9, _clean(doc.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=11)
    pdf.write_html(
        body,
        font_family="cjk",
        warn_on_tags_not_matching=False,
        tag_styles=_tag_styles("cjkmono" if mono is not None else "cjk"),
    )
    try:  # the label goes in through the same writer a platform uses: one Info entry, uncompressed
        return set_label(bytes(pdf.output()), doc.metadata.to_dict("bare"))
    except CarrierError as exc:
        raise ExportError(str(exc)) from exc
