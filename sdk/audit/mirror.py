"""
Mirrors of the record store for existing log pipelines: a structlog JSON-lines file and
OpenTelemetry log events.

The JSON-lines mirror writes one file a day (``aigc-audit-YYYY-MM-DD.jsonl``, UTC) through
a dedicated structlog logger (``structlog.configure()`` is never called); files are only
ever deleted by :func:`purge_mirror`, and only when every record in them is past the
retention period. The store stays the record of truth; the mirrors are for shipping.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, TextIO

import structlog
from opentelemetry import _logs

from .records import AuditRecord

__all__ = ["EVENT_NAME", "JsonLinesMirror", "emit_otel_event", "purge_mirror", "record_fields"]

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

    def write(self, record: AuditRecord) -> None:
        """
        Append *record*; the line is flushed before this returns.
        """
        when = record.time or dt.datetime.now(dt.UTC)
        day = when.astimezone(dt.UTC).date()
        with self._lock:
            if day != self._day:
                self._open(day)
            self._logger.info(record.kind, **record_fields(record))
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
