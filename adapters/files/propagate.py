"""
propagate_file(): a platform adds its propagation elements to a received file (Art. 6).

The file is classified first (:func:`verify_file`); its implicit label is then
**replaced** (exactly one remains) by one that keeps the production fields (or, when the
file had none, leaves them empty), carries the tier's ``Label`` and the platform's
``ContentPropagator``, ``PropagateID`` and ``ReservedCode2``. A visible prompt for the
tier is added at the top unless the file is confirmed and already shows an explicit label.

``ReservedCode2`` is ``v2.sha256.<hex>`` (or ``v2.hs256.<hex>`` with a platform key; ``v1.``
values written by 0.1 are still checked): see
:func:`~aigclabel.adapters.files.verify_file.reserved_code2`; it binds the seven fields
(ReservedCode2 empty) and the canonical form of the written file's visible text.
Plain text has no metadata carrier: only the prompt is added there.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from aigclabel.exceptions import AIGCLabelError
from aigclabel.metadata import AIGCMetadata
from aigclabel.producer import validate_producer_code
from aigclabel.verification import KeyInput

from .carriers import CarrierError, parse_bytes, rewrite
from .verify_file import PROMPTS, FileVerdict, reserved_code2, verify_extracted, verify_file

__all__ = ["PropagationError", "propagate_file"]


class PropagationError(AIGCLabelError):
    """
    The file could not be propagated (unreadable, hostile or no AI traces to label).

    .. versionchanged:: 0.2.0
       Derives from :class:`~aigclabel.exceptions.AIGCLabelError`.
    """


def propagate_file(
    path: str | Path,
    out_path: str | Path,
    *,
    propagator: str,
    propagate_id: str | None = None,
    declared: bool = False,
    key: KeyInput | None = None,
) -> FileVerdict:
    """
    Write *path* to *out_path* with the platform's propagation elements and tier prompt.

    Args:
        propagator: the platform's TC260 code (validated).
        propagate_id: the platform's ID for the content; a new UUID when ``None``.
        declared: the uploader declared the content AI-generated.
        key: the platform's secret for a keyed ReservedCode2 (also used to check in-text marks).

    Returns:
        The verdict of the written file.

    Raises:
        ProducerCodeError: *propagator* is not a valid code.
        MetadataError: *propagate_id* breaks the Annex E character rule.
        PropagationError: the file cannot be read or rewritten, or it has no AI traces
            and was not declared (tier ``none``: nothing to label).
    """
    validate_producer_code(propagator, field="propagator")
    src = Path(path)
    before = verify_file(src, key=key, declared=declared)
    if before.error is not None:
        raise PropagationError(f"{src}: {before.error}")
    if before.tier == "none":
        raise PropagationError(f"{src}: no AI label or trace found and not declared; nothing to propagate")
    assert before.label is not None
    assert before.text_verdict is not None
    pid = propagate_id if propagate_id is not None else str(uuid.uuid4())
    old = before.metadata
    if old is None and before.text_verdict.status in ("intact", "valid", "unverified"):
        old = before.text_verdict.metadata  # production fields from the in-text seal
    base = AIGCMetadata(
        label=before.label,
        content_producer=old.content_producer if old else "",
        produce_id=old.produce_id if old else "",
        reserved_code1=old.reserved_code1 if old else "",
        content_propagator=propagator,
        propagate_id=pid,
    )
    explicit = bool(before.text_verdict.evidence.explicit)
    prompt: str | None = None if before.tier == "confirmed" and explicit else PROMPTS[before.tier]
    data = src.read_bytes()
    fmt = before.format
    try:
        # Two passes: the binding covers the visible text as a verifier will extract it.
        draft = rewrite(fmt, data, base, prompt)
        doc = parse_bytes(fmt, draft)
        _, text = verify_extracted(str(out_path), doc, key=key)
        final = base.with_propagation(
            propagator=propagator, propagate_id=pid, reserved_code2=reserved_code2(base, text, key)
        )
        written = rewrite(fmt, data, final, prompt)
    except CarrierError as exc:
        raise PropagationError(f"{src}: {exc}") from exc
    _atomic_write(Path(out_path), written)
    after = verify_file(out_path, key=key, declared=declared)
    if fmt == "txt":
        after.notes.append("plain text has no metadata carrier: propagation fields were not stored")
    return after


def _atomic_write(dest: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent or ".", prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
