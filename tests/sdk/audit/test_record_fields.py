"""
An AuditRecord's fields as an integrator supplies and reads them: label lists, invalid times and text,
rebuilding from a dict, and the hash input of a record the store has not sealed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aigclabel.audit import AuditRecord
from aigclabel.audit.records import canonical_bytes

from tests.helpers import PRODUCER


def _record(**extra: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "kind": "generated",
        "user": "u-1",
        "produce_id": "pid-1",
        "content_producer": PRODUCER,
        "label": "1",
        "agreement_version": None,
    }
    values.update(extra)
    return AuditRecord(**values)


def test_label_lists_become_tuples_and_the_record_stays_hashable() -> None:
    """
    `labels_applied` and `labels_waived` given as lists are kept as tuples, so the record can be hashed.
    """
    record = _record(labels_applied=["implicit", "marks"], labels_waived=["explicit"])

    assert (("implicit", "marks"), ("explicit",), True) == (
        record.labels_applied,
        record.labels_waived,
        isinstance(hash(record), int),
    )


def test_a_time_that_is_not_a_datetime_is_refused() -> None:
    """
    `validate` refuses a `time` given as text, naming the type.
    """
    with pytest.raises(ValueError, match=r"AuditRecord\.time must be a datetime, not str"):
        _record(time="2026-01-01T00:00:00Z").validate()


def test_text_with_a_lone_surrogate_is_refused() -> None:
    """
    `validate` refuses a field holding a lone surrogate (not valid Unicode text), naming the field.
    """
    with pytest.raises(ValueError, match=r"AuditRecord\.user is not valid Unicode text"):
        _record(user="u-\ud800").validate()


def test_from_dict_refuses_unknown_fields() -> None:
    """
    `from_dict` names the keys that are not AuditRecord fields.
    """
    with pytest.raises(ValueError, match=r"unknown AuditRecord fields: \['colour', 'size'\]"):
        AuditRecord.from_dict({**_record().to_dict(), "size": 1, "colour": "red"})


def test_from_dict_reads_a_minimal_dict_without_time_or_labels() -> None:
    """
    A dict with only the required fields (no time, no label lists) rebuilds the record with the defaults.
    """
    data = {
        "kind": "generated",
        "user": "u-1",
        "produce_id": "pid-1",
        "content_producer": PRODUCER,
        "label": "1",
        "agreement_version": None,
    }

    assert _record() == AuditRecord.from_dict(data)


def test_from_dict_takes_an_aware_datetime_as_is() -> None:
    """
    A `time` that is already a datetime is kept; label lists become tuples.
    """
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    record = AuditRecord.from_dict({**_record().to_dict(), "time": when, "labels_applied": ["implicit"]})

    assert (when, ("implicit",)) == (record.time, record.labels_applied)


def test_canonical_bytes_needs_a_record_the_store_has_sealed() -> None:
    """
    The hash input of a record without `time`, `seq` and `prev_hash` is refused (the store sets them).
    """
    with pytest.raises(ValueError, match="canonical_bytes needs a record with time, seq and prev_hash set"):
        canonical_bytes(_record(time=datetime(2026, 1, 1, tzinfo=UTC), seq=1))
