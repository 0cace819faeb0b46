"""
What a format reader returns: the texts a verifier should see, the labels found and where,
and the findings (problems that did not stop the reading).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aigclabel.exceptions import MetadataError
from aigclabel.metadata import AIGCMetadata, LabelReading, read_label

__all__ = ["FORMATS", "Extracted", "Format", "FoundLabel", "found_label"]

Format = Literal["md", "docx", "xlsx", "pptx", "html", "txt", "pdf"]
FORMATS: tuple[Format, ...] = ("md", "docx", "xlsx", "pptx", "html", "txt", "pdf")


@dataclass(frozen=True, slots=True)
class FoundLabel:
    """
    One implicit-label carrier found in a file.

    Attributes:
        where: the carrier (``docProps/custom.xml#AIGC``, ``front-matter:AIGC``,
            ``meta[name=AIGC]``, ``pdf:/Info/AIGC``, ``pdf:XMP/TC260:AIGC``).
        reading: the label read leniently (``None`` when it could not be read).
        error: why the carrier could not be read as a label (then it is a trace, not a label).
        stored: the carrier's text as stored, when it is text.
    """

    where: str
    reading: LabelReading | None = None
    error: str | None = None
    stored: str | None = None

    @property
    def metadata(self) -> AIGCMetadata | None:
        """The seven fields as read, or ``None``."""
        return self.reading.metadata if self.reading is not None else None


def found_label(value: str | bytes | Mapping[Any, Any] | None, where: str) -> FoundLabel:
    """Read one carrier's value leniently (see :func:`aigclabel.metadata.read_label`)."""
    stored = value if isinstance(value, str) else None
    try:
        if value is None:
            raise MetadataError("the carrier is empty")
        return FoundLabel(where, read_label(value), stored=stored)
    except MetadataError as exc:
        return FoundLabel(where, error=f"{where}: {exc}", stored=stored)


@dataclass(slots=True)
class Extracted:
    """
    What one file holds.

    Attributes:
        format: the file format.
        texts: the visible text to verify first, then variants (without headers and
            footers, without the label paragraphs an exporter or platform added).
        labels: every implicit-label carrier found (a file should hold exactly one).
        findings: problems read past: invalid bytes, a malformed front matter, an unreadable
            part. A reader records them and goes on reading what it can; only a file that
            cannot be read at all raises.
    """

    format: Format
    texts: list[str]
    labels: list[FoundLabel] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def add_text(self, text: str) -> None:
        """Add a text variant unless it is already listed."""
        if text not in self.texts:
            self.texts.append(text)
