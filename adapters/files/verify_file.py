"""
verify_bytes() and verify_file(): classify a received file into the Art. 6 tiers from every
channel it holds, by the one verdict table of :mod:`aigclabel.tiers`.

Both implicit channels count in every format: the file's metadata label (read leniently:
another vendor's label that strays from the strict charset is still a label, its
deviations listed in ``findings``) and the in-text seal or packets. They are cross-checked;
a disagreement (another producer, another ProduceID, another Label, two carriers that
disagree) is a reported ``conflict`` and never lowers the tier. Without a key, an untouched
file is ``unverified`` (the seal's keyless hint matches), never ``tampered``.

The verifier sees the text a reader would: variants without headers and footers and without
the label paragraphs an exporter or platform added are tried when the first text does not
verify; an exported conversation is verified message by message (the seal of each assistant
message binds that message) when the whole text does not verify.

Unreadable or hostile input gives a verdict with ``error`` set; nothing raises. Input that
is only partly readable (an invalid byte, a broken front matter, a custom part with a DTD)
is read as far as it goes, with a finding: a label is never hidden by a broken header.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from aigclabel.canonical import text_digest
from aigclabel.exceptions import KeyMaterialError
from aigclabel.ids import parse_produce_id
from aigclabel.keyring import Keyring
from aigclabel.metadata import AIGCMetadata
from aigclabel.tiers import LABEL_OF_TIER, TIER_OF_LABEL, Tier, decide_tier, exit_code
from aigclabel.verification import KeyInput, KeysArg, PublicKeysArg, Resolver, Verdict, verify

if TYPE_CHECKING:  # numpy-only extra, never imported here
    from aigclabel.watermark import WatermarkDetector

from ..formats import CarrierError, Extracted, Format, FoundLabel, detect_format, read
from ..formats.document import ROLE_NAMES
from ..formats.limits import MAX_FILE_BYTES
from ..formats.txt import SIDECAR_SUFFIX, read_sidecar

__all__ = [
    "PROMPTS",
    "FileVerdict",
    "MessageVerdict",
    "binding_digest",
    "labels_disagree",
    "read_sidecar_of",
    "read_upload",
    "reserved_code2",
    "sidecar_path",
    "verify_bytes",
    "verify_extracted",
    "verify_file",
]

#: The visible prompt a platform shows per tier (Art. 6).
PROMPTS: dict[str, str] = {
    "confirmed": "本内容由人工智能生成",
    "possible": "可能为人工智能生成内容",
    "suspected": "疑似为人工智能生成内容",
}
_STATUS_RANK = {
    "forged": 0,
    "tampered": 1,
    "corrupt": 2,
    "not_found": 3,
    "unverified": 4,
    "valid": 5,
    "intact": 6,
}


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """The in-text verdict of one message of an exported conversation."""

    index: int
    role: Literal["user", "assistant", "system"]
    verdict: Verdict


@dataclass(slots=True)
class FileVerdict:
    """
    The outcome of :func:`verify_bytes` / :func:`verify_file` for one file.

    Attributes:
        path: the file name (``None`` for bytes without one).
        format: ``md``, ``docx``, ``xlsx``, ``pptx``, ``html``, ``txt``, ``pdf`` or ``unknown``.
        tier: ``confirmed``, ``possible``, ``suspected`` or ``none``.
        label: the Annex E ``Label`` matching *tier* (``None`` for ``none``).
        metadata: the implicit label that decided (file metadata as read, else the seal's).
        metadata_where: where it was found (``docProps/custom.xml#AIGC``,
            ``front-matter:AIGC``, ``meta[name=AIGC]``, ``pdf:/Info/AIGC``,
            ``pdf:XMP/TC260:AIGC``, ``in-text-marks``).
        text_verdict: :func:`aigclabel.verify` of the visible text (marks included).
        labels: every label carrier found.
        messages: per-message verdicts of an exported conversation (empty otherwise).
        conflicts: disagreements between channels.
        findings: deviations read past (a label outside the strict charset, an invalid
            byte, a broken front matter, an unreadable part).
        notes: other observations (which text variant was verified, unchecked bindings).
        error: why the file could not be read (then tier is ``none``).
        sidecar: a label sidecar to write beside the file (set by propagation of a ``.txt``).
    """

    path: str | None
    format: Format | Literal["unknown"]
    tier: Tier = "none"
    label: Literal["1", "2", "3"] | None = None
    metadata: AIGCMetadata | None = None
    metadata_where: str | None = None
    text_verdict: Verdict | None = None
    labels: list[FoundLabel] = field(default_factory=list)
    messages: list[MessageVerdict] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    sidecar: bytes | None = field(default=None, repr=False)

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

    @property
    def exit_code(self) -> int:
        """The ``aigclabel verify`` exit code (:func:`aigclabel.tiers.exit_code`)."""
        text_status = self.text_verdict.status if self.text_verdict is not None else "not_found"
        return exit_code(self.tier, text_status, conflict=bool(self.conflicts), error=self.error is not None)

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-ready dict (metadata in the bare Annex E shape, values as read).
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
            "labels": [
                {
                    "where": f.where,
                    "label": f.metadata.label if f.metadata is not None else None,
                    "findings": list(f.reading.findings) if f.reading is not None else [],
                    "error": f.error,
                }
                for f in self.labels
            ],
            "messages": [
                {
                    "index": m.index,
                    "role": m.role,
                    "status": m.verdict.status,
                    "produce_id": m.verdict.produce_id,
                }
                for m in self.messages
            ],
            "conflicts": list(self.conflicts),
            "findings": list(self.findings),
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
    bare = metadata.model_copy(update={"reserved_code2": ""}).to_json("bare")
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


def _check_rc2(metadata: AIGCMetadata, texts: Sequence[str], keys: list[KeyInput], fv: FileVerdict) -> None:
    rc2 = metadata.reserved_code2
    version = 1 if rc2.startswith("v1.") else 2 if rc2.startswith("v2.") else None
    if version is None:
        return
    if rc2.startswith(f"v{version}.sha256."):
        if not any(rc2 == reserved_code2(metadata, t, version=version) for t in texts):
            fv.conflicts.append(
                "ReservedCode2 does not match the label and visible text (edited after propagation)"
            )
    elif rc2.startswith(f"v{version}.hs256."):
        if not keys:
            fv.notes.append("ReservedCode2 is keyed; not checked (no key)")
        elif not any(
            hmac.compare_digest(rc2, reserved_code2(metadata, t, k, version=version))
            for k in keys
            for t in texts
        ):
            fv.conflicts.append("ReservedCode2 does not match under any given key (edited or forged)")


def _as_list(key: Any) -> list[KeyInput]:
    if key is None:
        return []
    if isinstance(key, str | bytes):
        return [key]
    if isinstance(key, Mapping):
        return [k for v in key.values() for k in _as_list(v)]
    return list(key)


def _good(v: Verdict, *, whole: bool = False) -> bool:
    """
    Whether *v* needs no further reading. A seal no keyring key made (binding ``unmatched``) and,
    for a *whole* document, an unchecked micro seal (it has no hint to say what it binds) do not
    count: the seal of an exported conversation binds one message, not the document.
    """
    seal = v.evidence.seal
    return v.status in ("intact", "valid") or (
        v.status == "unverified"
        and (seal is None or seal.binding == "unchecked")
        and not (whole and seal is not None and seal.form == "micro")
    )


_ROLE_BY_NAME = {name: role for names in ROLE_NAMES.values() for role, name in names.items()}
_ROLE_LINE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]+)?(" + "|".join(map(re.escape, _ROLE_BY_NAME)) + r")[ \t]*[:：]?[ \t]*$",
    re.MULTILINE,
)


def _messages(text: str, **kw: Any) -> list[MessageVerdict]:
    """The turns of an exported conversation (role headings as the exporter writes them)."""
    heads = list(_ROLE_LINE.finditer(text))
    out = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() : end].strip("\n")
        out.append(MessageVerdict(i, _ROLE_BY_NAME[m.group(1)], verify(body, **kw)))
    return out


def _text_verdict(texts: list[str], fv: FileVerdict, **kw: Any) -> tuple[Verdict, list[str]]:
    """
    The in-text verdict of the first text that verifies well: the texts the reader gave,
    then without a platform's prompt lines, then message by message. Returns the verdict and
    the texts a ReservedCode2 may bind.
    """
    first = verify(texts[0], **kw)
    if _good(first, whole=True) or first.status == "not_found":
        return first, texts
    variants = list(texts[1:])
    for text in texts:
        lines = text.split("\n")
        stripped = [ln for ln in lines if ln.strip().strip("*>【】[] ") not in PROMPTS.values()]
        if len(stripped) != len(lines):
            variants.append("\n".join(stripped))
    for text in variants:
        v = verify(text, **kw)
        if _good(v, whole=True):
            fv.notes.append("the seal binds the text without headers, footers or added label lines")
            return v, [text, *texts]
    for text in texts:
        messages = _messages(text, **kw)
        sealed = [m for m in messages if m.verdict.status != "not_found"]
        if sealed and all(_good(m.verdict) for m in sealed):
            fv.messages = messages
            fv.notes.append(f"verified message by message: {len(sealed)} sealed messages")
            unsealed = [
                m.index for m in messages if m.role == "assistant" and m.verdict.status == "not_found"
            ]
            if unsealed:
                fv.notes.append(f"assistant messages {unsealed} carry no marks: no seal vouches for them")
            head = _ROLE_LINE.search(text)
            if head is not None and text[: head.start()].strip():
                fv.notes.append("text before the first message is not covered by any seal")
            return sealed[-1].verdict, texts
        if sealed and len(messages) > 1:
            worst = min(sealed, key=lambda m: _STATUS_RANK[m.verdict.status])
            if _STATUS_RANK[worst.verdict.status] > _STATUS_RANK[first.status]:
                fv.messages = messages
                return worst.verdict, texts
    return first, texts


def labels_disagree(labels: Sequence[FoundLabel]) -> bool:
    """Whether readable label carriers hold different producer elements (a conflict)."""
    elements = [f.reading.producer_elements() for f in labels if f.reading is not None]
    return any(e != elements[0] for e in elements[1:])


def verify_extracted(
    doc: Extracted,
    *,
    path: str | None = None,
    key: KeysArg = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
    declared: bool = False,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
    watermark: WatermarkDetector | None = None,
) -> FileVerdict:
    """
    Classify an already-read document by the verdict table (see the module docstring).

    *watermark*: a statistical watermark detector, passed to :func:`~aigclabel.verify` for
    the document's text (a significant score is a trace: tier ``suspected`` at least).
    """
    fv = FileVerdict(path, doc.format, labels=list(doc.labels), findings=list(doc.findings))
    kw: dict[str, Any] = {
        "key": key,
        "public_key": public_key,
        "resolver": resolver,
        "keyring": keyring,
        "watermark": watermark,
    }
    tv, texts = _text_verdict(doc.texts or [""], fv, **kw)
    fv.text_verdict = tv
    readable = [f for f in doc.labels if f.reading is not None]
    unreadable = [f for f in doc.labels if f.reading is None]
    for found in readable:
        assert found.reading is not None
        fv.findings.extend(f"{found.where}: {finding}" for finding in found.reading.findings)
    for found in unreadable:
        fv.conflicts.append(f"unreadable implicit label: {found.error}")
    if readable:
        first = readable[0].metadata
        assert first is not None
        fv.metadata, fv.metadata_where = first, readable[0].where
        if labels_disagree(readable):
            fv.conflicts.append(
                f"{len(readable)} implicit labels disagree ({', '.join(f.where for f in readable)}); "
                "a file keeps exactly one"
            )
        elif len(readable) > 1:
            fv.findings.append(
                f"{len(readable)} carriers hold the same label ({', '.join(f.where for f in readable)}); "
                "a file keeps exactly one"
            )
        _conflicts(first, tv, fv)
        _check_rc2(first, texts, _as_list(key), fv)
    elif tv.metadata is not None and tv.status in ("intact", "valid", "unverified"):
        fv.metadata, fv.metadata_where = tv.metadata, "in-text-marks"
    if tv.status in ("tampered", "forged", "corrupt"):
        fv.notes.append(f"in-text marks are {tv.status}")
    tier = decide_tier(
        labels=[f.metadata.label for f in readable if f.metadata is not None],
        status=tv.status,
        mark_label=tv.label if tv.status != "not_found" else None,
        declared=declared,
        traces=bool(unreadable)
        or bool(tv.evidence.explicit)
        or (tv.evidence.watermark is not None and tv.evidence.watermark.significant),
    )
    fv.tier = tier
    fv.label = LABEL_OF_TIER.get(tier)
    return fv


def _conflicts(meta: AIGCMetadata, tv: Verdict, fv: FileVerdict) -> None:
    seals = [m.verdict for m in fv.messages if m.verdict.evidence.seal is not None] or [tv]
    for v in seals:
        seal = v.evidence.seal
        if seal is None or v.status == "forged":
            continue
        if meta.content_producer and seal.producer and seal.producer != meta.content_producer:
            fv.conflicts.append(
                f"metadata ContentProducer {meta.content_producer!r} "
                f"!= in-text seal producer {seal.producer!r}"
            )
        if len(seals) == 1 and meta.produce_id and seal.produce_id and seal.produce_id != meta.produce_id:
            fv.conflicts.append(
                f"metadata ProduceID {meta.produce_id!r} != in-text seal ProduceID {seal.produce_id!r}"
            )
        if seal.label != meta.label:
            fv.conflicts.append(
                f"metadata Label {meta.label!r} ({TIER_OF_LABEL[meta.label]}) != in-text seal Label "
                f"{seal.label!r} ({TIER_OF_LABEL.get(seal.label, '?')}); the higher tier is reported"
            )
    if tv.evidence.seal is None and tv.mark_id is not None and tv.status != "forged":
        parts = parse_produce_id(meta.produce_id)
        if parts is not None and f"{parts.mark_id:08x}" != tv.mark_id:
            fv.conflicts.append(
                f"metadata ProduceID {meta.produce_id!r} does not match "
                f"the in-text marks (mark id {tv.mark_id})"
            )


def verify_bytes(
    data: bytes | bytearray | memoryview | BinaryIO,
    filename: str | None = None,
    *,
    key: KeysArg = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
    declared: bool = False,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
    sidecar: bytes | None = None,
    watermark: WatermarkDetector | None = None,
) -> FileVerdict:
    """
    Classify the bytes of an upload (see the module docstring); *filename* (optional) helps
    tell text formats apart; binary formats are recognised by content whatever the name.
    *sidecar* is the content of the upload's label sidecar (``answer.txt.aigc.json``, see
    :mod:`aigclabel.adapters.formats.txt`): one more implicit-label carrier. *watermark* is a
    statistical watermark detector for the text (see :func:`~aigclabel.verify`).

    *data* may also be a binary file object (an upload framework's spooled file): it is read
    from its current position, at most the size cap plus one byte.

    Never raises for damaged or hostile input: ``error`` says what is wrong.

    Raises:
        TypeError: *data* is neither bytes nor a binary file object.
        KeyMaterialError: a given key is unusable.
    """
    if hasattr(data, "read"):
        chunk = data.read(MAX_FILE_BYTES + 1)
        if not isinstance(chunk, bytes):
            raise TypeError(f"verify_bytes() needs a binary file object; read() gave {type(chunk).__name__}")
        data = chunk
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"verify_bytes() takes bytes or a binary file object, not {type(data).__name__}")
    data = bytes(data)
    fmt, finding = detect_format(filename, data)
    if fmt is None:
        return FileVerdict(filename, "unknown", error=finding)
    if len(data) > MAX_FILE_BYTES:
        return FileVerdict(
            filename, fmt, error=f"{len(data)} bytes exceeds the {MAX_FILE_BYTES // 2**20} MB cap"
        )
    try:
        doc = read(data, fmt)
    except CarrierError as exc:
        return FileVerdict(filename, fmt, error=str(exc))
    except (MemoryError, RecursionError) as exc:
        return FileVerdict(filename, fmt, error=f"resource limit while reading: {type(exc).__name__}")
    if finding is not None:
        doc.findings.insert(0, finding)
    if sidecar is not None:
        doc.labels.append(read_sidecar(sidecar))
    try:
        return verify_extracted(
            doc,
            path=filename,
            key=key,
            public_key=public_key,
            keyring=keyring,
            declared=declared,
            resolver=resolver,
            watermark=watermark,
        )
    except KeyMaterialError:
        raise
    except (ValueError, TypeError) as exc:
        return FileVerdict(filename, fmt, error=f"cannot verify: {exc}")


def read_upload(path: str | Path) -> bytes:
    """
    The bytes of a regular file, refusing what could block or exhaust a verifier: a FIFO,
    a device or a socket (opened without blocking, checked after opening) and files larger
    than the cap.

    Raises:
        CarrierError: not a regular file, larger than the cap, or unreadable.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CarrierError(f"cannot read file: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CarrierError("not a regular file (a FIFO, device or socket is not read)")
        if info.st_size > MAX_FILE_BYTES:
            raise CarrierError(f"file size {info.st_size} bytes exceeds the {MAX_FILE_BYTES // 2**20} MB cap")
        try:
            data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CarrierError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CarrierError(f"file grew past the {MAX_FILE_BYTES // 2**20} MB cap while being read")
    return data


def verify_file(
    path: str | Path,
    *,
    key: KeysArg = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
    declared: bool = False,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
    watermark: WatermarkDetector | None = None,
) -> FileVerdict:
    """
    Read the file at *path* and classify it: :func:`verify_bytes` of its bytes.

    Never raises for a damaged or hostile file (including a FIFO or a device): ``error`` says
    what is wrong.
    """
    try:
        data = read_upload(path)
    except CarrierError as exc:
        return FileVerdict(str(path), "unknown", error=str(exc))
    problem: str | None = None
    try:
        side = read_sidecar_of(path)
    except CarrierError as exc:  # the file is still verified; the sidecar is reported
        side, problem = None, f"the label sidecar cannot be read: {exc}"
    fv = verify_bytes(
        data,
        str(path),
        key=key,
        public_key=public_key,
        keyring=keyring,
        declared=declared,
        resolver=resolver,
        sidecar=side,
        watermark=watermark,
    )
    if problem is not None:
        fv.findings.append(problem)
    return fv


def sidecar_path(path: str | Path) -> Path:
    """Where the label sidecar of *path* lives (``answer.txt`` → ``answer.txt.aigc.json``)."""
    return Path(f"{path}{SIDECAR_SUFFIX}")


def read_sidecar_of(path: str | Path) -> bytes | None:
    """
    The bytes of *path*'s label sidecar, or ``None`` when there is none.

    Raises:
        CarrierError: the sidecar exists but is not a regular file or cannot be read.
    """
    side = sidecar_path(path)
    if not os.path.lexists(side):
        return None
    try:
        return read_upload(side)
    except CarrierError as exc:
        raise CarrierError(f"{side.name}: {exc}") from exc
