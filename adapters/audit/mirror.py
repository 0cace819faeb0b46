"""
Mirrors of the record store for existing log pipelines: a structlog JSON-lines file and
OpenTelemetry log events, each carrying the records and the chain's signed anchors.

The JSON-lines mirror writes one file a day (``aigc-audit-YYYY-MM-DD.jsonl``, UTC) through
a dedicated structlog logger (``structlog.configure()`` is never called); files are only
ever deleted by :func:`purge_mirror`, and only when every record in them is past the
retention period. The store stays the record of truth; the mirrors are for shipping, and
their anchors are what ``aigclabel audit verify --anchor`` compares the store with.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import structlog
from aigclabel.audit.records import AuditRecord
from opentelemetry import _logs

from .chain import ANCHOR_EVENT, Anchor, make_anchor

__all__ = [
    "ANCHOR_EVENT",
    "EVENT_NAME",
    "JsonLinesMirror",
    "Mirrors",
    "emit_otel_anchor",
    "emit_otel_event",
    "purge_mirror",
    "record_fields",
]

log = logging.getLogger("aigclabel.audit")

#: The OpenTelemetry ``event_name`` of a record.
EVENT_NAME = "aigc.audit.record"
_PREFIX = "aigc-audit-"


def record_fields(record: AuditRecord) -> dict[str, Any]:
    """
    The record as JSON-ready fields (tuples as lists, time as UTC ISO 8601); no text unless stored.
    """
    out: dict[str, Any] = {}
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        if value is not None:
            out[name] = value
    return out


class JsonLinesMirror:
    """
    Appends each record as one JSON line to the day's file in *directory*.
    """

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._file: TextIO | None = None
        self._logger: Any = None
        os.register_at_fork(after_in_child=_weak_call(weakref.WeakMethod(self._after_fork)))

    def _after_fork(self) -> None:
        # A lock held by another thread of the parent would never be released in the child.
        self._lock = threading.Lock()

    def write(self, record: AuditRecord) -> None:
        """
        Append *record*; the line is flushed before this returns.
        """
        self.write_batch([record], None)

    def write_batch(self, records: Sequence[AuditRecord], anchor: Anchor | None) -> None:
        """
        Append *records*, then *anchor* (when given); flushed before this returns.
        """
        with self._lock:
            for record in records:
                day = (record.time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
                if day != self._day:
                    self._open(day)
                self._logger.info(record.kind, **record_fields(record))
            if anchor is not None:
                day = dt.datetime.now(dt.UTC).date()
                if day != self._day:
                    self._open(day)
                self._logger.info(ANCHOR_EVENT, anchor=anchor.to_dict())
            assert self._file is not None
            self._file.flush()

    def _open(self, day: dt.date) -> None:
        if self._file is not None:
            self._file.close()
        self._file = (self._dir / f"{_PREFIX}{day.isoformat()}.jsonl").open("a", encoding="utf-8")
        self._day = day
        self._logger = structlog.wrap_logger(
            structlog.WriteLogger(self._file),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="logged_at"),
                structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True),
            ],
        )

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                self._day = None


def purge_mirror(directory: str | Path, *, retention_days: int, now: dt.datetime | None = None) -> list[Path]:
    """
    Delete the day files whose every record is older than *retention_days*; return them.
    """
    if retention_days < 184:
        raise ValueError("retention_days must be at least 184 (six months)")
    today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    removed = []
    for path in sorted(Path(directory).glob(f"{_PREFIX}*.jsonl")):
        try:
            day = dt.date.fromisoformat(path.stem.removeprefix(_PREFIX))
        except ValueError:
            continue
        if (today - day).days > retention_days:
            path.unlink()
            removed.append(path)
    return removed


def emit_otel_event(record: AuditRecord) -> None:
    """
    Emit *record* as an OpenTelemetry log event (a no-op without a configured logger provider).
    """
    attributes = {
        f"aigc.audit.{k}": (",".join(v) if isinstance(v, list) else v)
        for k, v in record_fields(record).items()
        if k != "text"
    }
    _logs.get_logger("aigclabel.audit").emit(
        event_name=EVENT_NAME,
        body=record.kind,
        attributes=attributes,
        severity_number=_logs.SeverityNumber.INFO,
    )


def emit_otel_anchor(anchor: Anchor) -> None:
    """
    Emit *anchor* as an OpenTelemetry log event ``aigc.audit.anchor``.
    """
    _logs.get_logger("aigclabel.audit").emit(
        event_name=ANCHOR_EVENT,
        body=ANCHOR_EVENT,
        attributes={f"aigc.audit.anchor.{k}": v for k, v in anchor.to_dict().items() if v is not None},
        severity_number=_logs.SeverityNumber.INFO,
    )


class Mirrors:
    """
    What happens after each committed batch: the JSON-lines mirror (when a directory is given)
    and OpenTelemetry events, each with the batch's records and then its signed anchor.

    Runs on the store's writer thread, so no caller (and no event loop) waits on file I/O it
    did not ask for. A mirror failure is logged; it never undoes what the store committed.
    """

    def __init__(self, log_dir: str | Path | None, chain_key: bytes | None) -> None:
        self._file = JsonLinesMirror(log_dir) if log_dir else None
        self._key = chain_key

    def __call__(self, stored: Sequence[AuditRecord]) -> None:
        if not stored:
            return
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        anchor = make_anchor(stored[-1], self._key, time=now)
        if self._file is not None:
            try:
                self._file.write_batch(stored, anchor)
            except OSError:  # the store holds the records; a mirror failure must not undo them
                log.exception("aigc-label: the JSON-lines audit mirror could not be written")
        try:
            for record in stored:
                emit_otel_event(record)
            emit_otel_anchor(anchor)
        except Exception:  # an exporter's failure is not the store's
            log.exception("aigc-label: the OpenTelemetry audit events could not be emitted")

    def close(self) -> None:
        """
        Close the mirror file. Idempotent.
        """
        if self._file is not None:
            self._file.close()


def _weak_call(method: weakref.WeakMethod[Callable[[], None]]) -> Callable[[], None]:
    # An at-fork hook that does not keep its object alive.
    def call() -> None:
        bound = method()
        if bound is not None:
            bound()

    return call
