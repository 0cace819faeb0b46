"""
The Art. 9 audit record store: who received AI-generated content without the visible label.

>>> from aigclabel.audit import AuditRecord, AuditStore
>>> store = AuditStore.open("sqlite:///aigc-audit.db")          # doctest: +SKIP
>>> stored = store.append(AuditRecord(kind="generated", user="u-1", produce_id=pid,
...     content_producer=producer, label="1", agreement_version="2025-09",
...     labels_applied=("implicit", "marks"), labels_waived=("explicit",)))  # doctest: +SKIP
>>> store.verify().ok                                              # doctest: +SKIP
True

Needs the ``audit`` extra (SQLAlchemy); PostgreSQL also the ``postgresql`` extra (psycopg).
"""

from __future__ import annotations

from .records import EVENT_KINDS, GENESIS_HASH, AuditRecord, EventKind
from .store import MIN_RETENTION_DAYS, AuditStore, AuditStoreError, ChainReport, PurgeReport

__all__ = [
    "EVENT_KINDS",
    "GENESIS_HASH",
    "MIN_RETENTION_DAYS",
    "AuditRecord",
    "AuditStore",
    "AuditStoreError",
    "ChainReport",
    "EventKind",
    "PurgeReport",
]
