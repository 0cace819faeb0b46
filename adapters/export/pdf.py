"""
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
from functools import lru_cache
from pathlib import Path
from typing import Any

from aigclabel.exceptions import MissingDependencyError
from aigclabel.marks.alphabet import ANY_MARK_CHAR

from . import ExportDocument, ExportError

__all__ = ["FONT_ENV", "find_cjk_font", "render"]

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


def _set_info(raw: bytes, doc: ExportDocument) -> bytes:
    try:
        import pikepdf
    except ImportError as exc:
        raise MissingDependencyError("pikepdf", "export") from exc
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        pdf.docinfo["/AIGC"] = pikepdf.String(doc.metadata.for_format("pdf"))
        out = io.BytesIO()
        pdf.save(
            out,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            compress_streams=True,
            fix_metadata_version=False,
        )
    return out.getvalue()


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
    return _set_info(bytes(pdf.output()), doc)
