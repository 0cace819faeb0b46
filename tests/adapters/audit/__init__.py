"""
Helpers shared by the audit store tests: records, and a fresh PostgreSQL schema per test.

The PostgreSQL tests need a server; its URL comes from ``AIGCLABEL_TEST_POSTGRES_URL`` (``.ci/run``
starts one and exports it). The variable is read when this package is imported, before the suite's
autouse fixture clears every ``AIGCLABEL_*`` variable; when it is missing the tests fail, never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aigclabel.audit import AuditRecord
from aigclabel.ids import new_produce_id

from tests.helpers import PRODUCER

POSTGRES_ENV = "AIGCLABEL_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(POSTGRES_ENV)


def record(user: str = "u-1", **fields: object) -> AuditRecord:
    """
    An opt-out release record with a fresh ProduceID; *fields* override any field.
    """
    values: dict[str, object] = {
        "kind": "generated",
        "user": user,
        "produce_id": new_produce_id()[0],
        "content_producer": PRODUCER,
        "label": "1",
        "agreement_version": "2025-09",
        "labels_applied": ("implicit", "marks"),
        "labels_waived": ("explicit",),
        "content_sha256": "ab" * 32,
        "account": "acct-7",
        "ip": "203.0.113.9",
        "client": "web/1.2",
        "request_id": "req-1",
        "conversation_id": "conv-1",
        "model": "gpt-4o-mini",
    }
    values.update(fields)
    return AuditRecord(**values)  # type: ignore[arg-type]


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """
    Yield a URL whose connections use a new, empty PostgreSQL schema; drop it afterwards.
    """
    if not POSTGRES_URL:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: the audit store's PostgreSQL tests need a running server, e.g. "
            f"{POSTGRES_ENV}=postgresql+psycopg://aigc:aigc@127.0.0.1:5432/aigc_test (.ci/run sets it up)"
        )
    import sqlalchemy as sa

    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@contextmanager
def backend_url(backend: str, tmp_path: object) -> Iterator[str]:
    """
    Yield a fresh store URL: a SQLite file under *tmp_path*, or a new PostgreSQL schema.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/audit.db"
    else:
        with postgres_schema_url() as url:
            yield url
