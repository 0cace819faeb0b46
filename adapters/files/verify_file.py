"""
verify_file(): classify a received file into the Art. 6 tiers from every channel it holds.

The tier (GB 45438 §7 of the project notes, Art. 6 of the Measures):

1. the file's implicit label (metadata) says AI, ``Label "1"`` → ``confirmed``;
2. else the uploader declared AI content (``declared=True``) → ``possible``;
3. else an explicit label phrase, in-text marks or other traces (an unreadable AIGC
   carrier) → ``suspected``;
4. else ``none``.

A metadata ``Label "2"`` or ``"3"`` (written by an earlier platform) maps to possible or
suspected. Plain text has no metadata carrier: there an authenticated in-text seal (or a
resolver record) is the implicit label, ``metadata_where == "in-text-marks"``.

Disagreements between channels (the metadata names one producer, the in-text seal
another; a ProduceID that does not match the marks; two AIGC carriers) are listed in
``conflicts``: reported, never hidden. Unreadable or hostile files give a verdict with
``error`` set; nothing raises.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigclabel.canonical import text_digest
from aigclabel.ids import parse_produce_id
from aigclabel.metadata import AIGCMetadata
from aigclabel.verification import KeyInput, PublicKeyInput, Resolver, Tier, Verdict, verify

from .carriers import CarrierError, Extracted, Format, read_document

__all__ = [
    "PROMPTS",
    "FileVerdict",
    "binding_digest",
    "reserved_code2",
    "verify_extracted",
    "verify_file",
]

#: The visible prompt a platform shows per tier (Art. 6).
PROMPTS: dict[str, str] = {
    "confirmed": "本内容由人工智能生成",
    "possible": "可能为人工智能生成内容",
    "suspected": "疑似为人工智能生成内容",
}
_RANK: dict[Tier, int] = {"none": 0, "suspected": 1, "possible": 2, "confirmed": 3}
_TIER_OF_LABEL: dict[str, Tier] = {"1": "confirmed", "2": "possible", "3": "suspected"}
_LABEL_OF_TIER: dict[Tier, Literal["1", "2", "3"]] = {"confirmed": "1", "possible": "2", "suspected": "3"}
_GOOD = ("intact", "valid", "unverified")


@dataclass(slots=True)
class FileVerdict:
    """
    The outcome of :func:`verify_file` for one file.

    Attributes:
        path: the file.
        format: ``docx``, ``md``, ``html``, ``txt``, ``pdf`` or ``unknown``.
        tier: ``confirmed``, ``possible``, ``suspected`` or ``none``.
        label: the Annex E ``Label`` matching *tier* (``None`` for ``none``).
        metadata: the implicit label read from the file's carrier.
        metadata_where: where it was found (``docProps/custom.xml#AIGC``, ``front-matter:AIGC``,
            ``meta[name=AIGC]``, ``pdf:/Info/AIGC``, ``in-text-marks`` for plain text).
        text_verdict: :func:`aigclabel.verify` of the visible text (marks included).
        conflicts: disagreements between channels.
        notes: other observations (which text variant was verified, unchecked bindings).
        error: why the file could not be read (then tier is ``none``).
    """

    path: str
    format: Format
    tier: Tier = "none"
    label: Literal["1", "2", "3"] | None = None
    metadata: AIGCMetadata | None = None
    metadata_where: str | None = None
    text_verdict: Verdict | None = None
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        """
        ``error``, ``conflict``, or the in-text status (``intact``, ``tampered``, …).
        """
        if self.error is not None:
            return "error"
        if self.conflicts:
            return "conflict"
        return self.text_verdict.status if self.text_verdict is not None else "not_found"

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-ready dict (metadata in the bare Annex E shape).
        """
        return {
            "path": self.path,
            "format": self.format,
            "tier": self.tier,
            "label": self.label,
            "status": self.status,
            "metadata": self.metadata.to_dict("bare") if self.metadata is not None else None,
            "metadata_where": self.metadata_where,
            "text_verdict": self.text_verdict.to_dict() if self.text_verdict is not None else None,
            "conflicts": list(self.conflicts),
            "notes": list(self.notes),
            "error": self.error,
        }


#: The ReservedCode2 version written; version 1 (canonical form 1, written by 0.1) is read.
RC2_VERSION = 2


def binding_digest(metadata: AIGCMetadata, text: str, *, version: int = RC2_VERSION) -> bytes:
    """
    What ReservedCode2 binds: SHA-256 over the bare label JSON with ReservedCode2 empty,
    a newline, and the hex text digest (canonical form *version*, see ``aigclabel.canonical``).
    """
    bare = metadata.with_propagation(
        propagator=metadata.content_propagator, propagate_id=metadata.propagate_id, reserved_code2=""
    ).to_json("bare")
    return hashlib.sha256(f"{bare}\n{text_digest(text, version=version).hex()}".encode()).digest()


def reserved_code2(
    metadata: AIGCMetadata, text: str, key: KeyInput | None = None, *, version: int = RC2_VERSION
) -> str:
    """
    The platform's integrity data: ``v2.sha256.<hex>`` of :func:`binding_digest`, or with
    a platform key ``v2.hs256.<hex>``, HMAC-SHA256 of it. Printable ASCII, no space,
    quote or backslash (Annex E). ``v1.`` values (0.1, canonical form 1) are still checked.
    """
    digest = binding_digest(metadata, text, version=version)
    if key is None:
        return f"v{version}.sha256.{digest.hex()}"
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return f"v{version}.hs256.{hmac.new(secret, digest, hashlib.sha256).hexdigest()}"


def _check_rc2(metadata: AIGCMetadata, text: str, keys: list[KeyInput], fv: FileVerdict) -> None:
    rc2 = metadata.reserved_code2
    version = 1 if rc2.startswith("v1.") else 2 if rc2.startswith("v2.") else None
    if version is None:
        return
    if rc2.startswith(f"v{version}.sha256."):
        if rc2 != reserved_code2(metadata, text, version=version):
            fv.conflicts.append(
                "ReservedCode2 does not match the label and visible text (edited after propagation)"
            )
    elif rc2.startswith(f"v{version}.hs256."):
        if not keys:
            fv.notes.append("ReservedCode2 is keyed; not checked (no key)")
        elif not any(
            hmac.compare_digest(rc2, reserved_code2(metadata, text, k, version=version)) for k in keys
        ):
            fv.conflicts.append("ReservedCode2 does not match under any given key (edited or forged)")


def _as_list(key: KeyInput | Sequence[KeyInput] | None) -> list[KeyInput]:
    if key is None:
        return []
    if isinstance(key, str | bytes):
        return [key]
    return list(key)


def _text_verdict(texts: list[str], fv: FileVerdict, **kw: Any) -> tuple[Verdict, str]:
    """
    Verify the first text variant; when its seal reports ``tampered``, try the others and
    the texts without a platform prompt line (added by :func:`propagate_file`, not sealed).
    """
    first = verify(texts[0], **kw)
    if first.status != "tampered":
        return first, texts[0]
    variants = list(texts[1:])
    for text in texts:
        lines = text.split("\n")
        stripped = [ln for ln in lines if ln.strip().strip("*> ") not in PROMPTS.values()]
        if len(stripped) != len(lines):
            variants.append("\n".join(stripped))
    for text in variants:
        v = verify(text, **kw)
        if v.status == "intact":
            fv.notes.append("the seal binds the text without headers, footers or platform prompts")
            return v, text
    return first, texts[0]


def verify_extracted(
    path: str,
    doc: Extracted,
    *,
    key: KeyInput | Sequence[KeyInput] | None = None,
    public_key: PublicKeyInput | Sequence[PublicKeyInput] | None = None,
    declared: bool = False,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
) -> tuple[FileVerdict, str]:
    """
    Classify an already-read document; returns the verdict and the text that was verified.
    """
    fv = FileVerdict(path, doc.format, metadata=doc.metadata, metadata_where=doc.where)
    fv.notes.extend(doc.notes)
    tv, text = _text_verdict(doc.texts, fv, key=key, public_key=public_key, resolver=resolver)
    fv.text_verdict = tv
    if doc.labels > 1:
        fv.conflicts.append(f"{doc.labels} AIGC carriers found; a file keeps exactly one implicit label")
    if doc.metadata_error is not None:
        fv.conflicts.append(f"unreadable implicit label: {doc.metadata_error}")
    meta = doc.metadata
    if meta is None and doc.format == "txt" and tv.metadata is not None and tv.status in ("intact", "valid"):
        meta = fv.metadata = tv.metadata
        fv.metadata_where = "in-text-marks"
    tier: Tier = "none"
    if meta is not None:
        tier = _TIER_OF_LABEL[meta.label]
        if fv.metadata_where != "in-text-marks":
            _conflicts(meta, tv, fv)
            _check_rc2(meta, text, _as_list(key), fv)
    if declared and _RANK[tier] < _RANK["possible"]:
        tier = "possible"
    traces = tv.tier != "none" or doc.labels > 0
    if traces and _RANK[tier] < _RANK["suspected"]:
        tier = "suspected"
    fv.tier = tier
    fv.label = _LABEL_OF_TIER.get(tier)
    return fv, text


def _conflicts(meta: AIGCMetadata, tv: Verdict, fv: FileVerdict) -> None:
    seal = tv.evidence.seal
    if seal is not None and tv.status != "forged":
        if meta.content_producer and seal.producer != meta.content_producer:
            fv.conflicts.append(
                f"metadata ContentProducer {meta.content_producer!r} "
                f"!= in-text seal producer {seal.producer!r}"
            )
        if meta.produce_id and seal.produce_id != meta.produce_id:
            fv.conflicts.append(
                f"metadata ProduceID {meta.produce_id!r} != in-text seal ProduceID {seal.produce_id!r}"
            )
        if seal.label != meta.label and meta.content_propagator == meta.content_producer:
            fv.conflicts.append(f"metadata Label {meta.label!r} != in-text seal Label {seal.label!r}")
    elif tv.mark_id is not None:
        parts = parse_produce_id(meta.produce_id)
        if parts is not None and f"{parts.mark_id:08x}" != tv.mark_id:
            fv.conflicts.append(
                f"metadata ProduceID {meta.produce_id!r} does not match "
                f"the in-text marks (mark id {tv.mark_id})"
            )
    if tv.status in ("tampered", "forged", "corrupt"):
        fv.notes.append(f"in-text marks are {tv.status}")


def verify_file(
    path: str | Path,
    *,
    key: KeyInput | Sequence[KeyInput] | None = None,
    public_key: PublicKeyInput | Sequence[PublicKeyInput] | None = None,
    declared: bool = False,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
) -> FileVerdict:
    """
    Read *path* (docx, md, html, txt or pdf) and classify it (see module docstring).

    Never raises for a damaged or hostile file: ``error`` says what is wrong.
    """
    p = Path(path)
    try:
        doc = read_document(p)
    except CarrierError as exc:
        from .carriers import detect_format

        return FileVerdict(str(path), detect_format(p, b""), error=str(exc))
    except (MemoryError, RecursionError) as exc:
        return FileVerdict(str(path), "unknown", error=f"resource limit while reading: {type(exc).__name__}")
    try:
        return verify_extracted(
            str(path), doc, key=key, public_key=public_key, declared=declared, resolver=resolver
        )[0]
    except (ValueError, TypeError) as exc:
        return FileVerdict(str(path), doc.format, error=f"cannot verify: {exc}")
