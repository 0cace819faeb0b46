"""
XLSX and PPTX: read their text and label, set the label (TC260 text-file guide: the same
``docProps/custom.xml`` ``AIGC`` property as DOCX, see :mod:`.opc`).

Text read: a workbook's shared strings and inline strings (one line per string, in part
order), a presentation's slide paragraphs (slides in number order, then notes). These
formats carry no in-text marks from this SDK; the text serves the explicit-label check.
A platform's visible prompt is not drawn into a workbook or a slide deck (no place a reader
reliably sees it): show it in the interface; :func:`set_label` sets only the property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from . import limits, opc
from .extracted import Extracted
from .limits import CarrierError
from .xmlparts import DRAWING, SPREADSHEET, ParagraphTags, TextBudget, paragraphs
from .zipped import open_package

__all__ = ["read", "set_label"]

_PARTS: dict[str, tuple[str, re.Pattern[str], ParagraphTags]] = {
    "xlsx": ("xl/workbook.xml", re.compile(r"xl/(sharedStrings|worksheets/sheet\d+)\.xml"), SPREADSHEET),
    "pptx": (
        "ppt/presentation.xml",
        re.compile(r"ppt/(slides/slide|notesSlides/notesSlide)\d+\.xml"),
        DRAWING,
    ),
}


def _order(name: str) -> tuple[int, int, str]:
    digits = re.search(r"(\d+)\.xml$", name)
    return (
        0 if "notes" not in name and "sheet" not in name else 1,
        int(digits.group(1)) if digits else 0,
        name,
    )


def read(data: bytes, fmt: Literal["xlsx", "pptx"]) -> Extracted:
    """
    The text and labels of a workbook or presentation.

    Raises:
        CarrierError: not a ZIP package, over a cap, or not a workbook / presentation.
    """
    main, parts, tags = _PARTS[fmt]
    pkg = open_package(data, fmt)
    if main not in pkg:
        kind = "an Excel workbook" if fmt == "xlsx" else "a PowerPoint presentation"
        raise CarrierError(f"not {kind}: {main} is missing")
    budget = TextBudget(limits.MAX_TEXT_BYTES)
    out = Extracted(fmt, [])
    lines: list[str] = []
    for name in sorted((n for n in pkg.names() if parts.fullmatch(n)), key=_order):
        try:
            lines.extend(p.text for p in paragraphs(pkg.get(name) or b"", name, budget, tags=tags))
        except CarrierError as exc:
            if "text cap" in str(exc):
                raise
            out.findings.append(str(exc))
    out.texts.append("\n".join(lines))
    opc.read_labels(pkg, out)
    return out


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The package with exactly one ``AIGC`` custom property holding *fields*; *prompt* is not
    drawn (see the module docstring).

    Raises:
        CarrierError: the package cannot be read or rewritten safely.
    """
    del prompt
    return opc.set_label(open_package(data), fields)
