"""
Plain text: no header, so no metadata carrier (standard §4).

The keyed invisible marks in the text are its implicit channel, a digital watermark in the
sense of Art. 5 ¶2; the verifier reads them as the implicit label of a ``.txt``. A platform's
propagation fields cannot be stored in plain text: :func:`set_label` adds only the prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .document import ExportDocument
from .extracted import Extracted
from .text import decode

__all__ = ["CARRIES_LABEL", "read", "render", "set_label"]

#: Plain text has no place for the metadata label.
CARRIES_LABEL = False


def read(data: bytes) -> Extracted:
    """The whole text (invalid bytes are a finding, see :func:`.text.decode`)."""
    text, findings = decode(data)
    return Extracted("txt", [text], findings=findings)


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The text with *prompt* (when given) as its first paragraph; *fields* have no carrier
    here and are not stored (the caller reports it).

    Raises:
        CarrierError: not valid text.
    """
    del fields
    text, _ = decode(data, strict=True)
    return (f"{prompt}\n\n{text}" if prompt else text).encode("utf-8")


def render(doc: ExportDocument) -> bytes:
    """
    The text file of *doc* (UTF-8, no byte-order mark).
    """
    body = doc.body_plain() if any(p.role for p in doc.parts) else doc.parts[0].text
    if doc.show_label and not doc.body_has_label:
        body = doc.explicit_line("plain") + "\n\n" + body
    if doc.title:
        body = f"{doc.title}\n\n{body}"
    return body.encode("utf-8")
