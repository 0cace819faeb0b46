"""
One audit record (Art. 9: who received content without the visible label) and its hash-chain encoding.

A record's ``hash`` covers every other field::

    hash = hex(HMAC-SHA256(chain_key, canonical_bytes))   # keyed chain
    hash = hex(SHA-256(canonical_bytes))                  # unkeyed chain
    canonical_bytes = prev_hash (64 hex, ASCII) + canonical JSON of every field except ``hash``

The canonical JSON has sorted keys, no spaces, ASCII only (``\\uXXXX`` escapes), tuples as
arrays and the time as UTC ISO 8601 with microseconds (``2025-09-01T08:00:00.000000Z``).
The first record of a chain has ``prev_hash`` = 64 zeros.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from ..ids import parse_produce_id

__all__ = [
    "EVENT_KINDS",
    "GENESIS_HASH",
    "RECORD_FIELDS",
    "AuditRecord",
    "EventKind",
    "canonical_bytes",
    "chain_hash",
    "format_time",
    "from_time_us",
    "parse_time",
    "time_us",
]

EventKind = Literal["generated", "completed", "exported", "copied", "downloaded", "checkpoint"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

#: ``prev_hash`` of the first record of a chain.
GENESIS_HASH = "0" * 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LABELS = frozenset({"1", "2", "3"})
_OPTIONAL_STR = (
    "agreement_version",
    "content_sha256",
    "account",
    "ip",
    "client",
    "request_id",
    "conversation_id",
    "model",
    "text",
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """
    One release of AI-generated content, as the audit store keeps it.

    The integrator fills the recipient and content fields; the store sets ``time`` (when
    ``None``), ``seq``, ``prev_hash`` and ``hash`` and returns the stored copy from
    :meth:`~aigclabel.audit.RecordSink.append`. ``text`` is kept only when the integrator
    chooses to store it; ``content_sha256`` is the hex SHA-256 of the NFC visible text.

    ``checkpoint`` records are written by the store itself when it purges records past
    retention; their ``text`` names the last purged record (JSON).

    .. versionadded:: 0.1.0
    """

    kind: EventKind
    user: str
    produce_id: str
    content_producer: str
    label: str
    agreement_version: str | None
    labels_applied: tuple[str, ...] = ()
    labels_waived: tuple[str, ...] = ()
    content_sha256: str | None = None
    account: str | None = None
    ip: str | None = None
    client: str | None = None
    request_id: str | None = None
    conversation_id: str | None = None
    model: str | None = None
    text: str | None = field(default=None, repr=False)
    time: datetime | None = None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None

    def __post_init__(self) -> None:
        # Accept lists for the label tuples; the record stays immutable and hashable.
        for name in ("labels_applied", "labels_waived"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    def mark_id(self) -> str | None:
        """
        Return the 8-hex-digit mark id carried by ``produce_id``, or ``None`` for a ProduceID
        this package did not make.
        """
        parts = parse_produce_id(self.produce_id)
        return None if parts is None else f"{parts.mark_id:08x}"

    def validate(self) -> None:
        """
        Check the integrator-supplied fields; raise :class:`ValueError` naming the field.
        """
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"AuditRecord.kind must be one of {EVENT_KINDS}, not {self.kind!r}")
        if self.kind != "checkpoint" and self.label not in _LABELS:
            raise ValueError(f"AuditRecord.label must be '1', '2' or '3', not {self.label!r}")
        for name in ("user", "produce_id", "content_producer", "label"):
            _check_str(name, getattr(self, name))
        for name in _OPTIONAL_STR:
            value = getattr(self, name)
            if value is not None:
                _check_str(name, value)
        for name in ("labels_applied", "labels_waived"):
            for item in getattr(self, name):
                _check_str(name, item)
        if self.content_sha256 is not None and not _HEX64.fullmatch(self.content_sha256):
            raise ValueError("AuditRecord.content_sha256 must be 64 lower-case hex digits (a SHA-256)")
        if self.time is not None:
            if not isinstance(self.time, datetime):
                raise ValueError(f"AuditRecord.time must be a datetime, not {type(self.time).__name__}")
            if self.time.tzinfo is None or self.time.utcoffset() is None:
                raise ValueError("AuditRecord.time must be timezone-aware (UTC), not a naive datetime")

    def to_dict(self) -> dict[str, Any]:
        """
        Return every field as JSON-ready values (time as UTC ISO 8601, tuples as lists).
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, datetime):
                value = format_time(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """
        Rebuild a record from :meth:`to_dict` output (unknown keys are rejected).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown AuditRecord fields: {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("time"), str):
            values["time"] = parse_time(values["time"])
        for name in ("labels_applied", "labels_waived"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


def _check_str(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"AuditRecord.{name} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"AuditRecord.{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"AuditRecord.{name} is not valid Unicode text ({exc.reason})") from exc


def format_time(value: datetime) -> str:
    """
    Format an aware datetime as UTC ISO 8601 with microseconds and a ``Z`` suffix.
    """
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """
    Parse an ISO 8601 time; a time without an offset is taken as UTC. Raises :class:`ValueError`.
    """
    parsed = datetime.fromisoformat(value.strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def canonical_bytes(record: AuditRecord) -> bytes:
    """
    Return the bytes the record's hash covers: ``prev_hash`` followed by the canonical JSON.

    ``record`` must carry ``time``, ``seq`` and ``prev_hash`` (the store sets them).
    """
    if record.time is None or record.seq is None or record.prev_hash is None:
        raise ValueError("canonical_bytes needs a record with time, seq and prev_hash set")
    body = record.to_dict()
    del body["hash"]
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return record.prev_hash.encode("ascii") + encoded.encode("ascii")


def chain_hash(record: AuditRecord, key: bytes | None) -> str:
    """
    Return the record's chain hash: HMAC-SHA256 under *key*, or SHA-256 without one (hex).
    """
    data = canonical_bytes(record)
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def time_us(value: datetime) -> int:
    """
    Return microseconds since the Unix epoch (UTC) of an aware datetime, exactly.
    """
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_time_us(value: int) -> datetime:
    """
    Return the aware UTC datetime *value* microseconds after the Unix epoch.
    """
    return _EPOCH + timedelta(microseconds=value)


#: Field names in declaration order (the CSV column order).
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AuditRecord))
