"""
The Art. 9 record store (SQLite, PostgreSQL) and its mirrors: the I/O edge of :mod:`aigclabel.audit`.

>>> from aigclabel.adapters.audit import AuditStore, read_anchors
>>> store = AuditStore.open("sqlite:///aigc-audit.db", chain_key=chain_key)   # doctest: +SKIP
>>> stored = store.append(record, timeout=5.0)                                 # doctest: +SKIP
>>> store.verify(anchor=read_anchors("audit-logs/")).ok                        # doctest: +SKIP
True

The labeler never imports this package: it finds :func:`open_record_sink` through the
``aigclabel.record_sinks`` entry points (``sqlite``, ``postgresql``). :func:`verify_chain` and
:func:`read_anchors` need no database, so an exported JSON-lines file can be checked anywhere.

Needs the ``audit`` extra (SQLAlchemy); PostgreSQL also the ``postgresql`` extra (psycopg).
SQLAlchemy is imported only when a store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigclabel.audit.records import EVENT_KINDS, GENESIS_HASH, AuditRecord, EventKind

from .chain import ANCHOR_EVENT, Anchor, ChainReport, iter_jsonl, read_anchors, verify_chain
from .engine import AuditStoreError
from .mirror import EVENT_NAME, JsonLinesMirror, Mirrors, purge_mirror
from .store import MIN_RETENTION_DAYS, AuditStore, PurgeReport

if TYPE_CHECKING:
    from aigclabel.policy import LabelPolicy

__all__ = [
    "ANCHOR_EVENT",
    "EVENT_KINDS",
    "EVENT_NAME",
    "GENESIS_HASH",
    "MIN_RETENTION_DAYS",
    "Anchor",
    "AuditRecord",
    "AuditStore",
    "AuditStoreError",
    "ChainReport",
    "EventKind",
    "JsonLinesMirror",
    "Mirrors",
    "PurgeReport",
    "iter_jsonl",
    "open_record_sink",
    "purge_mirror",
    "read_anchors",
    "verify_chain",
]


def open_record_sink(policy: LabelPolicy) -> AuditStore:
    """
    The record sink for ``policy.audit_store``: the SQL store, with the JSON-lines mirror
    (``audit_log_dir``) and OpenTelemetry events, each carrying signed anchors.

    Nothing here touches the database: the tables are checked (and created) by the writer
    thread on the first append, within ``audit_timeout_seconds``. Registered as the
    ``sqlite`` and ``postgresql`` entry points of group ``aigclabel.record_sinks``.

    Raises:
        ValueError: ``audit_store`` is missing or not a usable URL.
        MissingDependencyError: SQLAlchemy or psycopg is not installed.

    .. versionadded:: 0.2.0
    """
    if policy.audit_store is None:
        raise ValueError("the policy has no audit_store")
    key = policy.audit_chain_key.get_secret_value().encode() if policy.audit_chain_key else None
    return AuditStore.open(
        policy.audit_store,
        chain_key=key,
        retention_days=policy.audit_retention_days,
        timeout=policy.audit_timeout_seconds,
        connect=False,
        after_commit=Mirrors(policy.audit_log_dir, key),
    )
