"""
The error every file reader raises, and the caps that bound the work a hostile file can cause.
"""

from __future__ import annotations

from aigclabel.exceptions import AIGCLabelError

__all__ = ["MAX_DEPTH", "MAX_FRONT_MATTER", "MAX_NODES", "MAX_PDF_OBJECTS", "MAX_PDF_PAGES", "CarrierError"]

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
