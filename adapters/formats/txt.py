"""
Plain text: no header, so no metadata carrier in the file itself (standard §4).

The keyed invisible marks in the text are its implicit channel, a digital watermark in the
sense of Art. 5 ¶2; the verifier reads them as the implicit label of a ``.txt``. Where a
deployment must ship plain text, a **sidecar** carries the metadata label beside it:
``answer.txt`` → ``answer.txt.aigc.json`` holding ``{"AIGC": {…seven keys…}}``
(:func:`sidecar`); ``aigclabel export --to txt`` writes one, ``verify_file`` and
``propagate_file`` read and write it. :func:`set_label` adds only the prompt to the text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .document import ExportDocument
from .extracted import Extracted, FoundLabel, found_label
from .text import decode

__all__ = [
    "MAX_SIDECAR_BYTES",
    "SIDECAR_SUFFIX",
    "read",
    "read_sidecar",
    "render",
    "set_label",
    "sidecar",
]

#: The sidecar of ``answer.txt`` is ``answer.txt.aigc.json``.
SIDECAR_SUFFIX = ".aigc.json"
#: A sidecar is a label, not a document: larger ones are refused.
MAX_SIDECAR_BYTES = 64 * 1024


def sidecar(fields: Mapping[str, Any]) -> bytes:
    """The sidecar file of a label: ``{"AIGC": {...}}`` as UTF-8 JSON, one line."""
    return (json.dumps({"AIGC": dict(fields)}, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def read_sidecar(data: bytes) -> FoundLabel:
    """The label a sidecar holds, read leniently (an unreadable one is a trace, not a label)."""
    where = f"sidecar:{SIDECAR_SUFFIX}"
    if len(data) > MAX_SIDECAR_BYTES:
        return FoundLabel(where, error=f"{where}: {len(data)} bytes exceeds the {MAX_SIDECAR_BYTES} byte cap")
    text, _ = decode(data)
    return found_label(text, where)


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
