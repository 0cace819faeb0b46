"""
propagate_bytes() and propagate_file(): a platform adds its propagation elements (Art. 6).

The file is classified first (:func:`~aigclabel.adapters.files.verify_bytes`). Its implicit
label is then set so that exactly one remains, holding:

* the producer's elements **as they came** (``ContentProducer``, ``ProduceID``,
  ``ReservedCode1``, any extra key, in their order and spelling, byte for byte), from the
  file's label, else from the in-text seal, else empty (the file had no implicit label);
* the tier's ``Label`` and the platform's ``ContentPropagator``, ``PropagateID`` and
  ``ReservedCode2``, replacing an earlier platform's.

A file whose label cannot be parsed completely, or whose carriers hold labels that
disagree, is refused with :class:`PropagationError` and nothing is written: this module
never blanks or overwrites a label it could not read (Art. 10).

A visible prompt for the tier is added at the top unless the file is confirmed and already
shows an explicit label. ``ReservedCode2`` is ``v2.sha256.<hex>`` (or ``v2.hs256.<hex>`` with
a platform key): see :func:`~aigclabel.adapters.files.verify_file.reserved_code2`; it binds
the seven fields (ReservedCode2 empty) and the canonical form of the written file's text.
Plain text has no metadata carrier: the prompt is added to the text and the label goes to its
sidecar (``answer.txt.aigc.json``, written by :func:`propagate_file`). Art. 6(4): pass
``declared=True`` to record a user's declaration (tier ``possible`` at least).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from aigclabel.exceptions import AIGCLabelError
from aigclabel.keyring import Keyring
from aigclabel.metadata import FIELD_NAMES, read_label
from aigclabel.producer import validate_producer_code
from aigclabel.verification import KeyInput, PublicKeysArg

from ..formats import CarrierError, read, set_label, txt
from .verify_file import (
    PROMPTS,
    FileVerdict,
    labels_disagree,
    read_sidecar_of,
    read_upload,
    reserved_code2,
    sidecar_path,
    verify_bytes,
)

__all__ = ["PropagationError", "propagate_bytes", "propagate_file"]

_NO_PROMPT_FORMATS = frozenset({"xlsx", "pptx"})


class PropagationError(AIGCLabelError):
    """
    The file was not propagated and nothing was written: unreadable, hostile, a label that
    cannot be parsed completely, labels that disagree, or no AI traces and not declared.

    .. versionchanged:: 0.2.0
       Derives from :class:`~aigclabel.exceptions.AIGCLabelError`.
    """


def propagate_bytes(
    data: bytes,
    filename: str | None = None,
    *,
    propagator: str,
    propagate_id: str | None = None,
    declared: bool = False,
    key: KeyInput | None = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
    sidecar: bytes | None = None,
) -> tuple[bytes, FileVerdict]:
    """
    The file *data* with the platform's propagation elements and tier prompt, and its verdict.

    Args:
        filename: the upload's name (helps tell text formats apart).
        propagator: the platform's TC260 code (validated).
        propagate_id: the platform's ID for the content; a new UUID when ``None``.
        declared: the uploader declared the content AI-generated (Art. 6(4)).
        key: the platform's secret for a keyed ReservedCode2, also tried on in-text marks.
        public_key, keyring: producers' keys for the in-text marks.
        sidecar: the label sidecar of a ``.txt`` upload (read as one more carrier); the new
            sidecar is in the verdict's ``sidecar`` and :func:`propagate_file` writes it.

    Raises:
        ProducerCodeError: *propagator* is not a valid code.
        MetadataError: *propagate_id* breaks the Annex E character rule.
        PropagationError: see the class; nothing is returned then.
    """
    validate_producer_code(propagator, field="propagator", role="propagator")
    before = verify_bytes(
        data, filename, declared=declared, key=key, public_key=public_key, keyring=keyring, sidecar=sidecar
    )
    where = filename or "the upload"
    if before.error is not None:
        raise PropagationError(f"{where}: {before.error}; nothing was written")
    if before.tier == "none":
        raise PropagationError(f"{where}: no AI label or trace found and not declared; nothing to propagate")
    unreadable = [f for f in before.labels if f.reading is None]
    if unreadable:
        raise PropagationError(
            f"{where}: the implicit label cannot be parsed completely ({unreadable[0].error}); "
            "propagating would overwrite it, so nothing was written"
        )
    if labels_disagree(before.labels):
        raise PropagationError(
            f"{where}: the file holds implicit labels that disagree "
            f"({', '.join(f.where for f in before.labels)}); keeping one would drop another "
            "producer's label, so nothing was written"
        )
    assert before.label is not None
    assert before.text_verdict is not None
    pid = propagate_id if propagate_id is not None else str(uuid.uuid4())
    if before.labels:
        reading = before.labels[0].reading
        assert reading is not None
    else:
        seal = before.text_verdict.metadata if before.metadata_where == "in-text-marks" else None
        base = seal.to_dict("bare") if seal is not None else dict.fromkeys(FIELD_NAMES, "")
        reading = read_label({**base, "Label": before.label})
    explicit = bool(before.text_verdict.evidence.explicit)
    prompt = None if before.tier == "confirmed" and explicit else PROMPTS[before.tier]
    fmt = before.format
    assert fmt != "unknown"

    def fields(rc2: str) -> dict[str, Any]:
        return reading.propagated(
            label=before.label or "3", propagator=propagator, propagate_id=pid, reserved_code2=rc2
        )

    try:
        # Two passes: the binding covers the visible text as a verifier will read it.
        draft = read(set_label(data, fmt, fields(""), prompt), fmt)
        unbound = read_label(fields("")).metadata
        final = fields(reserved_code2(unbound, draft.texts[0], key))
        written = set_label(data, fmt, final, prompt)
    except CarrierError as exc:
        raise PropagationError(f"{where}: {exc}; nothing was written") from exc
    new_sidecar = txt.sidecar(final) if fmt == "txt" else None
    after = verify_bytes(
        written,
        filename,
        declared=declared,
        key=key,
        public_key=public_key,
        keyring=keyring,
        sidecar=new_sidecar,
    )
    after.sidecar = new_sidecar
    if fmt == "txt":
        after.notes.append(
            "plain text has no metadata carrier: the propagation fields go in the label sidecar"
        )
    if prompt and fmt in _NO_PROMPT_FORMATS:
        after.notes.append(f"the prompt {prompt!r} is not drawn into a {fmt} file: show it in the interface")
    return written, after


def propagate_file(
    path: str | Path,
    out_path: str | Path,
    *,
    propagator: str,
    propagate_id: str | None = None,
    declared: bool = False,
    key: KeyInput | None = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
) -> FileVerdict:
    """
    Write *path* to *out_path* with the platform's propagation elements and tier prompt
    (:func:`propagate_bytes`); *out_path* is replaced atomically and only on success.

    Returns:
        The verdict of the written file.

    Raises:
        ProducerCodeError, MetadataError, PropagationError: see :func:`propagate_bytes`.
    """
    try:
        data = read_upload(path)
        side = read_sidecar_of(path)
    except CarrierError as exc:
        raise PropagationError(f"{path}: {exc}; nothing was written") from exc
    written, after = propagate_bytes(
        data,
        str(path),
        sidecar=side,
        propagator=propagator,
        propagate_id=propagate_id,
        declared=declared,
        key=key,
        public_key=public_key,
        keyring=keyring,
    )
    if after.sidecar is not None:
        _atomic_write(sidecar_path(out_path), after.sidecar)
    _atomic_write(Path(out_path), written)
    after.path = str(out_path)
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
