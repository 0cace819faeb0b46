"""
The store's tables and rows: how an :class:`~aigclabel.audit.AuditRecord` is kept in SQL.

``aigc_audit_records``
    one row per record, ``seq`` the primary key (``user`` is stored as ``user_id`` and the
    time as ``time_us``, microseconds since the Unix epoch, UTC);
``aigc_audit_head``
    one row: the last ``seq`` and ``hash``. Every append locks it (SQLite ``BEGIN IMMEDIATE``,
    PostgreSQL ``SELECT … FOR UPDATE``), so writers in any number of threads and processes
    extend one chain;
``aigc_audit_checkpoints``
    one row per purge: the ``seq`` and ``hash`` of the last purged record, where the remaining
    chain starts. Each purge also appends a ``checkpoint`` record to the chain naming them;
``aigc_audit_meta``
    the format version and whether the chain is keyed (plus an HMAC key check value).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from aigclabel.audit.records import AuditRecord, from_time_us, time_us

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "ALL_TABLES",
    "CHECKPOINTS_TABLE",
    "FORMAT",
    "HEAD_TABLE",
    "META_TABLE",
    "RECORDS_TABLE",
    "StoreTables",
    "define_tables",
    "from_row",
    "to_row",
]

RECORDS_TABLE = "aigc_audit_records"
HEAD_TABLE = "aigc_audit_head"
CHECKPOINTS_TABLE = "aigc_audit_checkpoints"
META_TABLE = "aigc_audit_meta"
ALL_TABLES = (RECORDS_TABLE, HEAD_TABLE, CHECKPOINTS_TABLE, META_TABLE)
#: The ``format`` row of ``aigc_audit_meta``.
FORMAT = "aigclabel-audit/1"


class StoreTables(NamedTuple):
    records: sa.Table
    head: sa.Table
    checkpoints: sa.Table
    meta: sa.Table


def define_tables(sa_mod: Any) -> tuple[Any, StoreTables]:
    """
    Build the store's tables with the given ``sqlalchemy`` module (imported lazily by the store).
    """
    m = sa_mod.MetaData()
    col, big, text = sa_mod.Column, sa_mod.BigInteger, sa_mod.Text
    records = sa_mod.Table(
        RECORDS_TABLE,
        m,
        col("seq", big, primary_key=True, autoincrement=False),
        col("time_us", big, nullable=False, index=True),
        col("kind", sa_mod.String(16), nullable=False),
        col("user_id", text, nullable=False, index=True),
        col("produce_id", text, nullable=False, index=True),
        col("mark_id", sa_mod.String(8), nullable=True, index=True),
        col("content_producer", text, nullable=False),
        col("label", sa_mod.String(1), nullable=False),
        col("agreement_version", text),
        col("labels_applied", text, nullable=False),
        col("labels_waived", text, nullable=False),
        col("content_sha256", sa_mod.String(64)),
        col("account", text),
        col("ip", text),
        col("client", text),
        col("request_id", text),
        col("conversation_id", text),
        col("model", text),
        col("text", text),
        col("prev_hash", sa_mod.String(64), nullable=False),
        col("hash", sa_mod.String(64), nullable=False),
    )
    head = sa_mod.Table(
        HEAD_TABLE,
        m,
        col("id", sa_mod.Integer, primary_key=True, autoincrement=False),
        col("seq", big, nullable=False),
        col("hash", sa_mod.String(64), nullable=False),
    )
    checkpoints = sa_mod.Table(
        CHECKPOINTS_TABLE,
        m,
        col("through_seq", big, primary_key=True, autoincrement=False),
        col("through_hash", sa_mod.String(64), nullable=False),
        col("deleted", big, nullable=False),
        col("cutoff_us", big, nullable=False),
        col("purged_at_us", big, nullable=False),
    )
    meta = sa_mod.Table(
        META_TABLE,
        m,
        col("name", sa_mod.String(64), primary_key=True),
        col("value", text, nullable=False),
    )
    return m, StoreTables(records, head, checkpoints, meta)


def to_row(rec: AuditRecord) -> dict[str, Any]:
    """
    Return the stored record as the store's row (``user_id``, ``time_us``, ``mark_id``, JSON label lists).
    """
    return {
        "seq": rec.seq,
        "time_us": time_us(cast(datetime, rec.time)),
        "kind": rec.kind,
        "user_id": rec.user,
        "produce_id": rec.produce_id,
        "mark_id": rec.mark_id(),
        "content_producer": rec.content_producer,
        "label": rec.label,
        "agreement_version": rec.agreement_version,
        "labels_applied": json.dumps(list(rec.labels_applied), ensure_ascii=False),
        "labels_waived": json.dumps(list(rec.labels_waived), ensure_ascii=False),
        "content_sha256": rec.content_sha256,
        "account": rec.account,
        "ip": rec.ip,
        "client": rec.client,
        "request_id": rec.request_id,
        "conversation_id": rec.conversation_id,
        "model": rec.model,
        "text": rec.text,
        "prev_hash": rec.prev_hash,
        "hash": rec.hash,
    }


def _labels(value: object) -> tuple[str, ...]:
    try:
        items = json.loads(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (str(value),)  # not our JSON: keep it visible so the hash check fails loudly
    return tuple(str(i) for i in items) if isinstance(items, list) else (str(items),)


def from_row(row: Any) -> AuditRecord:
    """
    Rebuild a stored record from a row of the store (a SQLAlchemy ``Row``).
    """
    m = row._mapping
    return AuditRecord(
        kind=m["kind"],
        user=m["user_id"],
        produce_id=m["produce_id"],
        content_producer=m["content_producer"],
        label=m["label"],
        agreement_version=m["agreement_version"],
        labels_applied=_labels(m["labels_applied"]),
        labels_waived=_labels(m["labels_waived"]),
        content_sha256=m["content_sha256"],
        account=m["account"],
        ip=m["ip"],
        client=m["client"],
        request_id=m["request_id"],
        conversation_id=m["conversation_id"],
        model=m["model"],
        text=m["text"],
        time=from_time_us(int(m["time_us"])),
        seq=int(m["seq"]),
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )
