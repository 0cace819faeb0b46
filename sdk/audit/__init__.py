"""
Art. 9 records: who received AI-generated content without the visible label.

The core's part is pure: the record and its hash-chain encoding (:mod:`.records`), the
:class:`RecordSink` protocol records are written through (:mod:`.sink`), and the
:class:`~aigclabel.audit.recorder.Recorder` that decides an opt-out and waits, time-bounded,
for its record. The SQL store, its mirrors and the chain verifier are an adapter:
:mod:`aigclabel.adapters.audit` (``AuditStore``, ``verify_chain``, ``read_anchors``), found by
URL scheme through the ``aigclabel.record_sinks`` entry points.

>>> from aigclabel.audit import AuditRecord, RecordSink
>>> from aigclabel.adapters.audit import AuditStore
>>> store: RecordSink = AuditStore.open("sqlite:///aigc-audit.db", chain_key=key)  # doctest: +SKIP
>>> stored = store.append(AuditRecord(kind="generated", user="u-1", produce_id=pid,
...     content_producer=producer, label="1", agreement_version="2025-09",
...     labels_applied=("implicit", "marks"), labels_waived=("explicit",)), timeout=5.0)  # doctest: +SKIP

Importing this package loads no database library.

.. versionchanged:: 0.2.0
   ``AuditStore``, ``AuditStoreError``, ``ChainReport``, ``PurgeReport`` and
   ``MIN_RETENTION_DAYS`` moved to :mod:`aigclabel.adapters.audit`.
"""

from __future__ import annotations

from .records import EVENT_KINDS, GENESIS_HASH, AuditRecord, EventKind
from .sink import AsyncRecordSink, RecordSink, RecordSinkError

__all__ = [
    "EVENT_KINDS",
    "GENESIS_HASH",
    "AsyncRecordSink",
    "AuditRecord",
    "EventKind",
    "RecordSink",
    "RecordSinkError",
]
