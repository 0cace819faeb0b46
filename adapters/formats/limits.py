"""
The error every file reader raises, and the caps that bound the work a hostile file can cause.
"""

from __future__ import annotations

from aigclabel.exceptions import AIGCLabelError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_FRONT_MATTER",
    "MAX_NODES",
    "MAX_PART_BYTES",
    "MAX_PDF_OBJECTS",
    "MAX_PDF_PAGES",
    "MAX_TEXT_BYTES",
    "MAX_XML_PART_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_TOTAL",
    "CarrierError",
]

#: Any file larger than this is not read at all.
MAX_FILE_BYTES = 100 * 1024 * 1024
#: The text of one file (UTF-8 bytes).
MAX_TEXT_BYTES = 20 * 1024 * 1024
#: The declared uncompressed size of an OOXML package (docx, xlsx, pptx).
MAX_ZIP_TOTAL = 256 * 1024 * 1024
#: One part of an OOXML package that a reader parses (its declared uncompressed size).
MAX_PART_BYTES = 50 * 1024 * 1024
#: Members of an OOXML package.
MAX_ZIP_MEMBERS = 10_000
#: One XML part parsed into a tree (relationships, content types, custom properties).
MAX_XML_PART_BYTES = 16 * 1024 * 1024

#: Elements (tags) read from one HTML file or one OOXML part before the reader gives up.
MAX_NODES = 4_000_000
#: Nesting depth of elements in an HTML file or an OOXML part.
MAX_DEPTH = 4096
#: A Markdown front matter is a header: larger ones are refused, not parsed.
MAX_FRONT_MATTER = 1 << 20
#: Pages read from one PDF.
MAX_PDF_PAGES = 10_000
#: Objects in the cross-reference tables of one PDF.
MAX_PDF_OBJECTS = 1_000_000


class CarrierError(AIGCLabelError, ValueError):
    """
    The file cannot be read safely (hostile, broken or over a size cap).

    .. versionchanged:: 0.2.0
       Derives from :class:`~aigclabel.exceptions.AIGCLabelError` and ``ValueError``.
    """
