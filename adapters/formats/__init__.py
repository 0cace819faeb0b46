"""
One module per document format, each reading, labeling and rendering its files.

======  =========================================  ============================================
format  implicit label (``where``)                  text a verifier sees
======  =========================================  ============================================
md      ``front-matter:AIGC`` (YAML mapping)        the body after the front matter
docx    ``docProps/custom.xml#AIGC`` (by relation)  paragraphs, tables, then headers/footers
xlsx    the same custom property                    shared and inline strings
pptx    the same custom property                    slide paragraphs, then notes
html    ``meta[name=AIGC]``                         text outside head/script/style
txt     none: the in-text marks are the channel     the whole file
pdf     ``pdf:/Info/AIGC``; XMP ``TC260:AIGC`` read  page text (pypdf)
======  =========================================  ============================================

Each module has ``read(data) -> Extracted`` and ``set_label(data, fields, prompt=None) ->
bytes``; md, docx, html, txt and pdf also ``render(doc)`` for the exporter. :func:`read` and
:func:`set_label` here dispatch on the format; :func:`detect_format` names it from a file
name and the first bytes. Reading is lenient and linear in the input (caps in
:mod:`.limits`); what cannot be read at all raises :class:`CarrierError`.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Literal

from .extracted import FORMATS, Extracted, Format, FoundLabel
from .limits import CarrierError

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "CarrierError",
    "Extracted",
    "Format",
    "FoundLabel",
    "detect_format",
    "read",
    "set_label",
]

_EXT: dict[str, Format] = {
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pptx": "pptx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".txt": "txt",
    ".text": "txt",
    ".pdf": "pdf",
}
#: The file name suffixes a batch picks up.
SUFFIXES = frozenset(_EXT)
_ZIP_MAIN: tuple[tuple[str, Format], ...] = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)
_MODULE: dict[Format, str] = {
    "md": "md",
    "docx": "docx",
    "xlsx": "ooxml",
    "pptx": "ooxml",
    "html": "html",
    "txt": "txt",
    "pdf": "pdf",
}


def _package_kind(data: bytes) -> Format | Literal["broken"] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "broken"
    return next((fmt for main, fmt in _ZIP_MAIN if main in names), None)


def detect_format(filename: str | None, data: bytes) -> tuple[Format | None, str | None]:
    """
    The format of a file and, when its content contradicts its name, a finding.

    Binary formats are recognised by content (``%PDF-``, an OOXML package's main part),
    whatever the name says; text formats by the name's suffix; a nameless text is ``txt``
    (``md`` when it opens with a front matter, ``html`` when it opens with a tag).
    ``(None, reason)`` when the format is not supported.
    """
    by_name = _EXT.get(PurePath(filename).suffix.lower()) if filename else None
    head = data[:1024].lstrip()
    by_content: Format | None = None
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and by_name in (None, "pdf")):
        by_content = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        kind = _package_kind(data)
        if kind == "broken":  # the reader of the named format says precisely what is wrong
            return (by_name, None) if by_name in ("docx", "xlsx", "pptx") else (None, "a broken ZIP archive")
        if kind is None:
            return None, "a ZIP archive that is not a docx, xlsx or pptx package"
        by_content = kind
    if by_content is not None:
        if by_name is not None and by_name != by_content:
            return by_content, f"named as {by_name} but the content is {by_content}: read as {by_content}"
        return by_content, None
    if by_name in ("docx", "xlsx", "pptx", "pdf"):
        return None, f"named as {by_name} but the content is not a {by_name} file"
    if by_name is not None:
        return by_name, None
    if filename and PurePath(filename).suffix:
        return None, f"unsupported file type {PurePath(filename).suffix!r} (expected {', '.join(FORMATS)})"
    if head.startswith(b"---"):
        return "md", None
    if (head[:1] == b"<" and b"<html" in head.lower()) or head.lower().startswith(b"<!doctype html"):
        return "html", None
    return "txt", None


def _module(fmt: Format) -> Any:
    if fmt not in _MODULE:
        raise CarrierError(f"unsupported format {fmt!r} (expected {', '.join(FORMATS)})")
    return importlib.import_module(f"{__name__}.{_MODULE[fmt]}")


def read(data: bytes, fmt: Format) -> Extracted:
    """
    Read the bytes of a file of format *fmt*: its texts, labels and findings.

    Raises:
        CarrierError: the file cannot be read at all (hostile, broken, over a cap).
        MissingDependencyError: the format's optional package is missing.
    """
    module = _module(fmt)
    if fmt in ("xlsx", "pptx"):
        result: Extracted = module.read(data, fmt)
        return result
    extracted: Extracted = module.read(data)
    return extracted


def set_label(data: bytes, fmt: Format, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The file with exactly one implicit label holding *fields* (in their order) and, where the
    format has room, *prompt* as a visible line at the top. Plain text has no carrier: only
    the prompt is added (the label goes to a sidecar, see :mod:`.txt`); xlsx and pptx take no prompt.

    Raises:
        CarrierError: the file cannot be read or rewritten safely.
    """
    result: bytes = _module(fmt).set_label(data, fields, prompt)
    return result
