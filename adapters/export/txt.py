"""
Plain-text export: the visible label plus the in-text invisible marks, UTF-8.

Plain text has no header, so no metadata carrier exists (standard §4): the keyed invisible
marks in the text are its implicit label, and a verifier reads them with ``verify(text)``.
"""

from __future__ import annotations

from . import ExportDocument, explicit_line

__all__ = ["render"]


def render(doc: ExportDocument) -> bytes:
    """
    The text file of *doc* (UTF-8, no byte-order mark).
    """
    body = doc.body_plain() if any(p.role for p in doc.parts) else doc.parts[0].text
    if doc.show_label and not doc.body_has_label:
        body = explicit_line(doc, "plain") + "\n\n" + body
    if doc.title:
        body = f"{doc.title}\n\n{body}"
    return body.encode("utf-8")
