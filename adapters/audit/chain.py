"""
Checking a hash chain of records, with no database: :func:`verify_chain` and external anchors.

An **anchor** is a signed statement "record *seq* of this chain has hash *h*", written outside
the store — to the JSON-lines mirror and as an OpenTelemetry event — after every committed
batch. Someone who can rewrite the database but not the log pipeline cannot hide the newest
records: deleting them and rewriting the head row leaves a chain that is consistent in itself,
but shorter than (or different from) what the anchor says. The signature is
``HMAC-SHA256(chain_key, "aigclabel/audit/anchor/v1\\n" + canonical JSON of chain, hash, seq, time)``;
an unkeyed chain writes unsigned anchors.

:func:`verify_chain` takes records from anywhere — the store, an ``aigclabel audit export``
file, the mirror's day files (:func:`read_jsonl`) — so the same checks run on all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigclabel.audit.records import GENESIS_HASH, AuditRecord, chain_hash

__all__ = [
    "ANCHOR_EVENT",
    "Anchor",
    "ChainReport",
    "iter_jsonl",
    "jsonl_files",
    "make_anchor",
    "read_anchors",
    "verify_chain",
]

#: The ``event`` of an anchor line in the mirror and the OpenTelemetry ``event_name``.
ANCHOR_EVENT = "aigc.audit.anchor"
_ANCHOR_DOMAIN = b"aigclabel/audit/anchor/v1\n"
# Keys the JSON-lines mirror adds around a record's fields.
_ENVELOPE = frozenset({"event", "level", "logged_at"})


@dataclass(frozen=True, slots=True)
class ChainReport:
    """
    The result of a chain check: ``ok``, how many records were checked, and the first broken
    record's ``seq`` with the reason when the chain is not intact.

    .. versionchanged:: 0.2.0
       Checked by :func:`verify_chain`, which also compares the chain with external anchors.
    """

    ok: bool
    records: int
    first_broken_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Anchor:
    """
    A signed checkpoint of a chain: its record *seq* has hash *hash* (at *time*, UTC ISO 8601).

    ``chain`` is ``"hmac-sha256"`` (``signature`` is then the hex HMAC, see the module) or
    ``"sha256"`` (unsigned).

    .. versionadded:: 0.2.0
    """

    seq: int
    hash: str
    time: str
    chain: str
    signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """
        The anchor as JSON-ready fields.
        """
        return {
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "chain": self.chain,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Anchor:
        """
        Rebuild an anchor from :meth:`to_dict` output. Raises :class:`ValueError` when malformed.
        """
        if not isinstance(data, dict):
            raise ValueError("an anchor must be a JSON object")
        try:
            seq, digest, time, chain = data["seq"], data["hash"], data["time"], data["chain"]
        except KeyError as exc:
            raise ValueError(f"an anchor lacks {exc.args[0]!r}") from None
        signature = data.get("signature")
        if (
            isinstance(seq, bool)
            or not isinstance(seq, int)
            or not all(isinstance(v, str) for v in (digest, time, chain))
            or not (signature is None or isinstance(signature, str))
        ):
            raise ValueError("an anchor has a field of the wrong type")
        return cls(seq, digest, time, chain, signature)

    def is_signed_by(self, key: bytes) -> bool:
        """
        Whether the signature is this chain key's (constant time).
        """
        return self.signature is not None and hmac.compare_digest(self.signature, _sign(key, self))


def _sign(key: bytes, anchor: Anchor) -> str:
    body = json.dumps(
        {"chain": anchor.chain, "hash": anchor.hash, "seq": anchor.seq, "time": anchor.time},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hmac.new(key, _ANCHOR_DOMAIN + body.encode("ascii"), hashlib.sha256).hexdigest()


def make_anchor(record: AuditRecord, key: bytes | None, *, time: str) -> Anchor:
    """
    The anchor of a stored *record* (``seq`` and ``hash`` set), signed with *key* when given.
    """
    if record.seq is None or record.hash is None:
        raise ValueError("an anchor needs a stored record (seq and hash set)")
    unsigned = Anchor(record.seq, record.hash, time, "hmac-sha256" if key is not None else "sha256")
    if key is None:
        return unsigned
    return Anchor(unsigned.seq, unsigned.hash, time, unsigned.chain, _sign(key, unsigned))


class _Broken(Exception):
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def verify_chain(
    records: Iterable[AuditRecord],
    key: bytes | None = None,
    anchor: Anchor | Iterable[Anchor] | None = None,
    *,
    start: tuple[int, str] | None = None,
    head: tuple[int, str] | None = None,
) -> ChainReport:
    """
    Recompute a chain and report the first broken record.

    Args:
        records: the chain's records in ``seq`` order (the store's, an export's, the mirror's).
        key: the chain key of a keyed (HMAC) chain; ``None`` for a SHA-256 chain.
        anchor: external anchors; each one's record must be in the chain with the anchored hash
            (anchors of purged records are skipped). With *key*, an anchor not signed by it is
            an error.
        start: ``(seq, hash)`` of the last purged record, where the chain resumes; a
            ``checkpoint`` record in the chain must confirm it. ``None``: the chain starts at 1.
        head: ``(seq, hash)`` the store's head row names; checked against the last record.

    Returns:
        A :class:`ChainReport`: an edited field, a deleted, inserted or reordered record, records
        cut off the end (by the head row or an anchor), an unconfirmed purge, a forged anchor.
    """
    start_seq, start_hash = start if start is not None else (0, GENESIS_HASH)
    anchors = [anchor] if isinstance(anchor, Anchor) else list(anchor or ())
    want: dict[int, list[Anchor]] = {}
    for a in anchors:
        if key is not None and not a.is_signed_by(key):
            return ChainReport(
                False,
                0,
                a.seq,
                f"the anchor of record {a.seq} ({a.time}) is not signed with this chain's key: "
                "a forged anchor, or one of another chain",
            )
        if a.seq == start_seq and a.hash != start_hash:
            return ChainReport(False, 0, a.seq, f"record {a.seq} differs from its external anchor ({a.time})")
        if a.seq > start_seq:
            want.setdefault(a.seq, []).append(a)
    expected, prev, count = start_seq + 1, start_hash, 0
    confirmed = start_seq == 0
    try:
        for rec in records:
            seq = rec.seq
            if seq != expected:
                if seq is None:
                    raise _Broken(expected, f"record {expected} has no seq")
                why = (
                    f"record {expected} is missing (the next record is {seq})"
                    if seq > expected
                    else f"record {seq} precedes the purge checkpoint at {start_seq}"
                    if seq <= start_seq
                    else f"record {seq} appears twice or out of order"
                )
                raise _Broken(min(seq, expected), why)
            if rec.prev_hash != prev:
                raise _Broken(
                    seq,
                    "prev_hash does not match the previous record's hash: "
                    "a record was deleted, inserted or reordered",
                )
            if chain_hash(rec, key) != rec.hash:
                raise _Broken(seq, "hash mismatch: the record was edited (or the chain key is wrong)")
            for pinned in want.get(seq, ()):
                if pinned.hash != rec.hash:
                    raise _Broken(
                        seq,
                        f"record {seq} differs from its external anchor ({pinned.time}): "
                        "the chain was rewritten from here on",
                    )
            if rec.kind == "checkpoint" and not confirmed:
                confirmed = _confirms(rec, start_seq, start_hash)
            prev, expected, count = str(rec.hash), expected + 1, count + 1
    except _Broken as broken:
        return ChainReport(False, count, broken.seq, broken.reason)
    last = expected - 1
    if head is not None:
        head_seq, head_hash = head
        if head_seq > last:
            return ChainReport(
                False,
                count,
                expected,
                f"records {expected}..{head_seq} are missing from the end of the chain",
            )
        if head_seq < last:
            return ChainReport(False, count, head_seq + 1, "records after the chain head were inserted")
        if head_hash != prev:
            return ChainReport(False, count, head_seq, "the chain head's hash does not match the last record")
    if want and max(want) > last:
        newest = want[max(want)][0]
        return ChainReport(
            False,
            count,
            last + 1,
            f"records {last + 1}..{newest.seq} are missing from the end of the chain: the external "
            f"anchor of {newest.time} names record {newest.seq}, the chain ends at {last}",
        )
    if not confirmed:
        return ChainReport(
            False,
            count,
            start_seq + 1,
            f"the purge checkpoint through record {start_seq} "
            "is not confirmed by a checkpoint record in the chain",
        )
    return ChainReport(True, count)


def _confirms(rec: AuditRecord, anchor_seq: int, anchor_hash: str) -> bool:
    try:
        note = json.loads(rec.text or "")
    except ValueError:
        return False
    return (
        isinstance(note, dict)
        and note.get("purged_through_seq") == anchor_seq
        and note.get("purged_through_hash") == anchor_hash
    )


def jsonl_files(path: str | Path) -> list[Path]:
    """
    *path* itself, or for a directory its mirror day files (``aigc-audit-*.jsonl``) in date order.
    """
    p = Path(path)
    return sorted(p.glob("aigc-audit-*.jsonl")) if p.is_dir() else [p]


def iter_jsonl(path: str | Path) -> Iterator[AuditRecord | Anchor]:
    """
    The records and anchors of a JSON-lines file (an ``aigclabel audit export`` or a mirror day
    file) or of a mirror directory, in file order.

    Raises:
        ValueError: a line that is not JSON, or neither a record nor an anchor (line number named).
        OSError: a file cannot be read.
    """
    for file in jsonl_files(path):
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                    if "anchor" in data:
                        yield Anchor.from_dict(data["anchor"])
                        continue
                    yield AuditRecord.from_dict({k: v for k, v in data.items() if k not in _ENVELOPE})
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{file}:{number}: not an audit record or anchor ({exc})") from None


def read_anchors(path: str | Path) -> list[Anchor]:
    """
    Every anchor in a JSON-lines file or mirror directory (records in it are skipped).
    """
    return [item for item in iter_jsonl(path) if isinstance(item, Anchor)]
