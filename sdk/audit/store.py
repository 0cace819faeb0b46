"""
The audit record store: append-only, hash-chained, durable on return; SQLite or PostgreSQL.

Built on SQLAlchemy Core (the ``audit`` extra; PostgreSQL also needs the ``postgresql`` extra).
Four tables, created on first open:

``aigc_audit_records``
    one row per record, ``seq`` the primary key (``user`` is stored as ``user_id`` and the
    time as ``time_us``, microseconds since the Unix epoch, UTC);
``aigc_audit_head``
    one row: the last ``seq`` and ``hash``. Every append locks it (SQLite ``BEGIN IMMEDIATE``,
    PostgreSQL ``SELECT … FOR UPDATE``), so writers in any number of threads and processes
    extend one chain, and ``verify()`` notices rows cut off the end;
``aigc_audit_checkpoints``
    one row per purge: the ``seq`` and ``hash`` of the last purged record, where the remaining
    chain starts. Each purge also appends a ``checkpoint`` record to the chain naming them;
``aigc_audit_meta``
    the format version and whether the chain is keyed (plus an HMAC key check value).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from ..exceptions import AIGCLabelError, KeyMaterialError, MissingDependencyError
from ..metadata import AIGCMetadata
from .records import (
    ALL_TABLES,
    CHECKPOINTS_TABLE,
    GENESIS_HASH,
    HEAD_TABLE,
    META_TABLE,
    RECORDS_TABLE,
    AuditRecord,
    EventKind,
    StoreTables,
    chain_hash,
    define_tables,
    from_row,
    time_us,
    to_row,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

__all__ = [
    "CHECKPOINTS_TABLE",
    "HEAD_TABLE",
    "META_TABLE",
    "MIN_RETENTION_DAYS",
    "RECORDS_TABLE",
    "AuditStore",
    "AuditStoreError",
    "ChainReport",
    "PurgeReport",
]

#: Art. 9 keeps logs at least six months; six calendar months can be 184 days.
MIN_RETENTION_DAYS = 184

_FORMAT = "aigclabel-audit/1"
_KEY_CHECK_INPUT = b"aigclabel/audit/key-check/v1"
_PG_INIT_LOCK = 0x4149_4743  # advisory lock id serialising schema creation
_BATCH_MAX = 2048  # records committed in one group-commit transaction at most
_PAGE = 1000  # rows read per round trip by verify() and query()


class AuditStoreError(AIGCLabelError, RuntimeError):
    """
    The audit store cannot record (or read): unavailable, full disk, read-only, a schema problem,
    a chain key that does not match the store's. Chained from the original exception; nothing
    was recorded by the failing call.
    """


@dataclass(frozen=True, slots=True)
class ChainReport:
    """
    The result of :meth:`AuditStore.verify`: ``ok``, how many records were checked, and the
    first broken record's ``seq`` with the reason when the chain is not intact.
    """

    ok: bool
    records: int
    first_broken_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """
    The result of :meth:`AuditStore.purge`: records deleted, the last purged ``seq``, the
    ``seq`` of the checkpoint record that documents the purge, and the cutoff time used.
    """

    deleted: int
    purged_through_seq: int | None
    checkpoint_seq: int | None
    cutoff: datetime


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), not a naive one")
    return value


def _hint(message: str) -> str:
    low = message.lower()
    if "disk is full" in low or "no space" in low or "database or disk is full" in low:
        return "free disk space (or raise the database's size limit), then retry"
    if "readonly" in low or "read-only" in low or "read only" in low:
        return "the store is read-only: open a writable file or database (check permissions and the URL)"
    if "locked" in low or "busy" in low:
        return "another writer held the lock longer than the busy timeout; retry or look for a stuck process"
    if "connect" in low or "refused" in low or "timeout" in low or "could not translate" in low:
        return "is the database server running and reachable at this URL?"
    if "no such table" in low or "does not exist" in low or "no such column" in low:
        return "the store's tables are missing or of another version; check the URL or open with create=True"
    return "check the store URL, permissions and free space"


class _Pending:
    __slots__ = ("done", "error", "record", "result")

    def __init__(self, record: AuditRecord) -> None:
        self.record = record
        self.done = threading.Event()
        self.result: AuditRecord | None = None
        self.error: BaseException | None = None


_STOP = object()


class AuditStore:
    """
    An append-only, hash-chained store of :class:`AuditRecord` on any SQLAlchemy URL
    (``sqlite:///path.db``, ``postgresql+psycopg://user:pw@host/db``).

    It is also a :class:`~aigclabel.Resolver`: :meth:`resolve` maps a mark id to the implicit
    label of the newest record whose ProduceID carries it. Thread-safe; one instance per
    process is enough. Open it with :meth:`open`.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        _engine: Engine,
        _tables: StoreTables,
        _key: bytes | None,
        _group: bool,
        _retention: int,
        _url: str,
        _dialect: str,
    ) -> None:
        self._engine = _engine
        self._t = _tables
        self._key = _key
        self._group = _group
        self._retention = _retention
        self._url = _url
        self._dialect = _dialect
        self._key_problem: str | None = None
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        chain_key: bytes | None = None,
        group_commit: bool = True,
        retention_days: int = MIN_RETENTION_DAYS,
        create: bool = True,
    ) -> AuditStore:
        """
        Open (and with ``create=True`` create) the store at *url*.

        Args:
            url: a SQLAlchemy URL; ``postgresql://`` means ``postgresql+psycopg://``.
                In-memory SQLite is refused (not durable).
            chain_key: HMAC-SHA256 key for a keyed chain (≥ 16 bytes); ``None`` for SHA-256.
                A store keeps the kind of chain it was created with. Never logged.
            group_commit: batch concurrent ``append()`` calls from threads into one transaction.
            retention_days: how long :meth:`purge` keeps records, at least 184.
            create: create the tables when missing; with ``False`` a missing store is an error.

        Raises:
            ValueError: retention under 184 days, an unsupported or in-memory URL.
            KeyMaterialError: a chain key shorter than 16 bytes.
            MissingDependencyError: SQLAlchemy (extra ``audit``) or psycopg (``postgresql``) missing.
            AuditStoreError: the store cannot be opened or created.
        """
        if isinstance(retention_days, bool) or not isinstance(retention_days, int):
            raise ValueError(f"retention_days must be an integer, not {type(retention_days).__name__}")
        if retention_days < MIN_RETENTION_DAYS:
            raise ValueError(
                f"retention_days={retention_days} is too short: Art. 9 logs are kept at least six months "
                f"(retention_days >= {MIN_RETENTION_DAYS})"
            )
        if chain_key is not None:
            if not isinstance(chain_key, bytes | bytearray):
                raise KeyMaterialError("chain_key must be bytes")
            if len(chain_key) < 16:
                raise KeyMaterialError("chain_key must be at least 16 bytes")
            chain_key = bytes(chain_key)
        try:
            import sqlalchemy as sa_mod
        except ImportError as exc:
            raise MissingDependencyError("sqlalchemy", "audit") from exc

        parsed = sa_mod.engine.make_url(url)
        backend = parsed.get_backend_name()
        if backend == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported audit store URL {backend!r}: use sqlite:///… or postgresql+psycopg://…"
            )
        if backend == "sqlite" and (
            parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
        ):
            raise ValueError("an in-memory SQLite audit store is not durable: use sqlite:///path/to/file.db")
        safe_url = parsed.render_as_string(hide_password=True)
        if backend == "sqlite" and not create:
            path = (parsed.database or "").removeprefix("file:").split("?", 1)[0]
            if not os.path.exists(path):
                raise AuditStoreError(f"no audit store at {safe_url} (no such file); check the URL")
        try:
            engine = cls._make_engine(sa_mod, parsed, backend)
        except ImportError as exc:
            raise MissingDependencyError(exc.name or "psycopg", "postgresql") from exc
        except sa_mod.exc.ArgumentError as exc:
            raise ValueError(f"invalid audit store URL {safe_url!r}: {exc}") from exc
        _, tables = define_tables(sa_mod)
        store = cls(
            _engine=engine,
            _tables=tables,
            _key=chain_key,
            _group=group_commit,
            _retention=retention_days,
            _url=safe_url,
            _dialect=backend,
        )
        try:
            store._init_schema(create)
        except BaseException:
            engine.dispose()
            raise
        return store

    @staticmethod
    def _make_engine(sa_mod: Any, parsed: Any, backend: str) -> Engine:
        if backend == "sqlite":
            engine = sa_mod.create_engine(parsed, connect_args={"timeout": 30})

            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                try:
                    cur.execute("PRAGMA busy_timeout = 30000")
                    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        cur.execute("PRAGMA journal_mode = WAL")
                    cur.execute("PRAGMA synchronous = FULL")
                finally:
                    cur.close()

            def _on_begin(conn: Connection) -> None:
                write = conn.get_execution_options().get("aigc_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            sa_mod.event.listen(engine, "connect", _on_connect)
            sa_mod.event.listen(engine, "begin", _on_begin)
            return cast("Engine", engine)
        return cast(
            "Engine",
            sa_mod.create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10}),
        )

    def _init_schema(self, create: bool) -> None:
        import sqlalchemy as sa_mod

        t = self._t
        try:
            with self._engine.connect() as conn:
                present = {name for name in ALL_TABLES if sa_mod.inspect(conn).has_table(name)}
                conn.rollback()
            if len(present) < 4:
                if not create:
                    raise AuditStoreError(
                        f"no audit store at {self._url} (missing tables: "
                        f"{', '.join(sorted(set(ALL_TABLES) - present))}); check the URL"
                    )
                with self._write_conn() as conn:
                    if self._dialect == "postgresql":
                        conn.execute(sa_mod.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_INIT_LOCK})
                    t.records.metadata.create_all(conn, checkfirst=True)
                    if conn.execute(sa_mod.select(t.head.c.seq)).first() is None:
                        conn.execute(t.head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
                    if conn.execute(sa_mod.select(t.meta.c.name)).first() is None:
                        keyed = self._key is not None
                        conn.execute(
                            t.meta.insert(),
                            [
                                {"name": "format", "value": _FORMAT},
                                {"name": "chain", "value": "hmac-sha256" if keyed else "sha256"},
                                {"name": "key_check", "value": self._key_check() if keyed else ""},
                            ],
                        )
            with self._engine.connect() as conn:
                meta = {
                    str(r[0]): str(r[1]) for r in conn.execute(sa_mod.select(t.meta.c.name, t.meta.c.value))
                }
                conn.rollback()
        except AuditStoreError:
            raise
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot open", exc) from exc
        if meta.get("format") != _FORMAT:
            raise AuditStoreError(f"{self._url} is not an aigc-label audit store of format {_FORMAT!r}")
        self._key_problem = self._check_key(meta)

    def _key_check(self) -> str:
        assert self._key is not None
        return hmac.new(self._key, _KEY_CHECK_INPUT, hashlib.sha256).hexdigest()

    def _check_key(self, meta: dict[str, str]) -> str | None:
        keyed = meta.get("chain") == "hmac-sha256"
        if keyed and self._key is None:
            return "this store's chain is keyed (HMAC-SHA256): open it with its chain key"
        if not keyed and self._key is not None:
            return "this store's chain is not keyed (SHA-256): open it without a chain key"
        if keyed and not hmac.compare_digest(meta.get("key_check", ""), self._key_check()):
            return "the chain key does not match the key this store was created with"
        return None

    def _error(self, action: str, exc: BaseException) -> AuditStoreError:
        detail = (
            str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
        )
        return AuditStoreError(f"audit store {self._url} {action}: {detail} — {_hint(detail)}")

    @contextmanager
    def _write_conn(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if self._dialect == "sqlite":
                conn.execution_options(aigc_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read_conn(self, *, snapshot: bool = False) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if snapshot and self._dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def __repr__(self) -> str:
        chain = "hmac-sha256" if self._key is not None else "sha256"
        return f"AuditStore({self._url!r}, chain={chain!r}, retention_days={self._retention})"

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def retention_days(self) -> int:
        """
        How many days :meth:`purge` keeps records.
        """
        return self._retention

    # -- appending --------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> AuditRecord:
        """
        Record one release; return the stored record (``time``, ``seq``, ``prev_hash``, ``hash`` set).

        Durable when it returns: committed, and on SQLite fsync'd (WAL, ``synchronous=FULL``).
        With group commit, concurrent calls from threads share one transaction; each still
        returns only after its own record is committed.

        Raises:
            ValueError: an invalid record field (named in the message).
            AuditStoreError: nothing was recorded (store unavailable, full, read-only, closed,
                or a chain key that does not match the store's).
        """
        record.validate()
        if self._closed:
            raise AuditStoreError(f"audit store {self._url} is closed")
        if self._key_problem is not None:
            raise AuditStoreError(f"audit store {self._url} cannot record: {self._key_problem}")
        if not self._group:
            return self._commit([record])[0]
        pending = _Pending(record)
        self._ensure_writer()
        self._queue.put(pending)
        pending.done.wait()
        if isinstance(pending.error, AuditStoreError):  # one error per caller, same cause
            raise AuditStoreError(str(pending.error)) from pending.error.__cause__
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _ensure_writer(self) -> None:
        if self._writer is not None:
            return
        with self._lock:
            if self._closed:
                raise AuditStoreError(f"audit store {self._url} is closed")
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="aigclabel-audit-writer", daemon=True
                )
                self._writer.start()

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [cast(_Pending, item)]
            while len(batch) < _BATCH_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(cast(_Pending, item))
            try:
                stored = self._commit([p.record for p in batch])
            except BaseException as exc:
                for p in batch:
                    p.error = exc
                    p.done.set()
            else:
                for p, rec in zip(batch, stored, strict=True):
                    p.result = rec
                    p.done.set()

    def _commit(self, records: list[AuditRecord]) -> list[AuditRecord]:
        import sqlalchemy as sa_mod

        try:
            with self._write_conn() as conn:
                return self._append_in(conn, records)
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot record", exc) from exc

    def _append_in(self, conn: Connection, records: list[AuditRecord]) -> list[AuditRecord]:
        import sqlalchemy as sa_mod

        t = self._t
        head_q = sa_mod.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
        if self._dialect == "postgresql":
            head_q = head_q.with_for_update()
        head = conn.execute(head_q).one()
        seq, prev = int(head[0]), str(head[1])
        now = datetime.now(UTC)
        stored: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        for record in records:
            seq += 1
            when = (record.time or now).astimezone(UTC)
            rec = dataclasses.replace(record, time=when, seq=seq, prev_hash=prev, hash=None)
            rec = dataclasses.replace(rec, hash=chain_hash(rec, self._key))
            prev = cast(str, rec.hash)
            stored.append(rec)
            rows.append(to_row(rec))
        conn.execute(t.records.insert(), rows)
        conn.execute(t.head.update().where(t.head.c.id == 1).values(seq=seq, hash=prev))
        return stored

    # -- reading ----------------------------------------------------------------------------

    def query(
        self,
        *,
        user: str | None = None,
        produce_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: EventKind | Iterable[EventKind] | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditRecord]:
        """
        Yield matching records in ``seq`` order (``since <= time < until``), a page at a time.

        Raises:
            ValueError: a naive datetime, ``since`` after ``until``, a negative limit.
            AuditStoreError: the store cannot be read.
        """
        import sqlalchemy as sa_mod

        _aware("since", since)
        _aware("until", until)
        if since is not None and until is not None and since > until:
            raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        c = self._t.records.c
        conds: list[Any] = []
        if user is not None:
            conds.append(c.user_id == user)
        if produce_id is not None:
            conds.append(c.produce_id == produce_id)
        if since is not None:
            conds.append(c.time_us >= time_us(since))
        if until is not None:
            conds.append(c.time_us < time_us(until))
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            conds.append(c.kind.in_(kinds))
        remaining = limit
        last = None
        while remaining is None or remaining > 0:
            page = _PAGE if remaining is None else min(_PAGE, remaining)
            q = sa_mod.select(self._t.records).where(*conds)
            if last is not None:
                q = q.where(c.seq > last)
            rows = self._fetch(q.order_by(c.seq).limit(page))
            for row in rows:
                yield from_row(row)
            if len(rows) < page:
                return
            last = rows[-1].seq
            if remaining is not None:
                remaining -= len(rows)

    def _fetch(self, q: Any) -> list[Row[Any]]:
        import sqlalchemy as sa_mod

        try:
            with self._read_conn() as conn:
                return list(conn.execute(q).all())
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot be read", exc) from exc

    def resolve(self, mark_id: str) -> AIGCMetadata | None:
        """
        Return the implicit label of the newest record whose ProduceID carries *mark_id*, or ``None``.
        """
        import sqlalchemy as sa_mod

        mark = mark_id.lower()
        if len(mark) != 8 or any(ch not in "0123456789abcdef" for ch in mark):
            return None
        c = self._t.records.c
        q = (
            sa_mod.select(c.content_producer, c.produce_id, c.label)
            .where(c.mark_id == mark, c.kind != "checkpoint")
            .order_by(c.seq.desc())
            .limit(1)
        )
        rows = self._fetch(q)
        if not rows or rows[0].label not in ("1", "2", "3"):
            return None
        producer, produce_id, label = rows[0].content_producer, rows[0].produce_id, rows[0].label
        try:
            return AIGCMetadata.first_write(
                producer=producer, produce_id=produce_id, label=cast(Literal["1", "2", "3"], label)
            )
        except ValueError:
            return None

    # -- verifying --------------------------------------------------------------------------

    def verify(self) -> ChainReport:
        """
        Recompute the chain in ``seq`` order (a page at a time, one consistent snapshot) and
        report the first broken record: an edited field, a deleted, inserted or reordered row,
        rows cut off the end, or a purge checkpoint not confirmed by the chain.

        Raises:
            AuditStoreError: the store cannot be read.
        """
        import sqlalchemy as sa_mod

        try:
            with self._read_conn(snapshot=True) as conn:
                return self._verify_in(conn)
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot be read", exc) from exc

    def _verify_in(self, conn: Connection) -> ChainReport:
        import sqlalchemy as sa_mod

        t = self._t
        c = t.records.c
        cp = conn.execute(
            sa_mod.select(t.checkpoints.c.through_seq, t.checkpoints.c.through_hash)
            .order_by(t.checkpoints.c.through_seq.desc())
            .limit(1)
        ).first()
        anchor_seq, anchor_hash = (0, GENESIS_HASH) if cp is None else (int(cp[0]), str(cp[1]))
        confirmed = cp is None
        expected, prev, count = anchor_seq + 1, anchor_hash, 0
        if self._key_problem is not None:
            first = conn.execute(sa_mod.select(sa_mod.func.min(c.seq))).scalar()
            return ChainReport(False, 0, None if first is None else int(first), self._key_problem)
        last: int | None = None
        while True:
            q = sa_mod.select(t.records).order_by(c.seq).limit(_PAGE)
            if last is not None:
                q = q.where(c.seq > last)
            rows = conn.execute(q).all()
            for row in rows:
                rec = from_row(row)
                seq = cast(int, rec.seq)
                if seq != expected:
                    why = (
                        f"record {expected} is missing (the next record is {seq})"
                        if seq > expected
                        else f"record {seq} precedes the purge checkpoint at {anchor_seq}"
                    )
                    return ChainReport(False, count, min(seq, expected), why)
                if rec.prev_hash != prev:
                    return ChainReport(
                        False,
                        count,
                        seq,
                        "prev_hash does not match the previous record's "
                        "hash: a record was deleted, inserted or reordered",
                    )
                if chain_hash(rec, self._key) != rec.hash:
                    return ChainReport(
                        False, count, seq, "hash mismatch: the record was edited (or the chain key is wrong)"
                    )
                if row.mark_id != rec.mark_id():
                    return ChainReport(False, count, seq, "mark_id does not match the record's produce_id")
                if rec.kind == "checkpoint" and not confirmed:
                    confirmed = _confirms(rec, anchor_seq, anchor_hash)
                prev, expected, count = str(rec.hash), expected + 1, count + 1
            if len(rows) < _PAGE:
                break
            last = rows[-1].seq
        head = conn.execute(sa_mod.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)).first()
        if head is None:
            return ChainReport(False, count, None, "the chain head row is missing")
        head_seq, head_hash = int(head[0]), str(head[1])
        if head_seq > expected - 1:
            return ChainReport(
                False,
                count,
                expected,
                f"records {expected}..{head_seq} are missing from the end of the chain",
            )
        if head_seq < expected - 1:
            return ChainReport(False, count, head_seq + 1, "records after the chain head were inserted")
        if head_hash != prev:
            return ChainReport(False, count, head_seq, "the chain head's hash does not match the last record")
        if not confirmed:
            return ChainReport(
                False,
                count,
                anchor_seq + 1,
                f"the purge checkpoint through record {anchor_seq} "
                "is not confirmed by a checkpoint record in the chain",
            )
        return ChainReport(True, count)

    # -- retention --------------------------------------------------------------------------

    def purge(self, *, now: datetime | None = None) -> PurgeReport:
        """
        Delete the records older than ``retention_days`` (from the start of the chain up to the
        first record inside retention), record a checkpoint and append a ``checkpoint`` record,
        so that :meth:`verify` still proves the rest of the chain. Never deletes inside retention.

        Raises:
            ValueError: a naive ``now``.
            AuditStoreError: the store cannot be written.
        """
        import sqlalchemy as sa_mod

        _aware("now", now)
        if self._key_problem is not None:
            raise AuditStoreError(f"audit store {self._url} cannot purge: {self._key_problem}")
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self._retention)
        t, c = self._t, self._t.records.c
        try:
            with self._write_conn() as conn:
                head_q = sa_mod.select(t.head.c.seq).where(t.head.c.id == 1)
                if self._dialect == "postgresql":
                    head_q = head_q.with_for_update()
                head_seq = int(conn.execute(head_q).scalar_one())
                recent = conn.execute(
                    sa_mod.select(sa_mod.func.min(c.seq)).where(c.time_us >= time_us(cutoff))
                )
                first_recent = recent.scalar()
                through = head_seq if first_recent is None else int(first_recent) - 1
                oldest = conn.execute(sa_mod.select(sa_mod.func.min(c.seq))).scalar()
                if oldest is None or through < int(oldest):
                    return PurgeReport(0, None, None, cutoff)
                through_hash = conn.execute(sa_mod.select(c.hash).where(c.seq == through)).scalar_one()
                deleted = conn.execute(t.records.delete().where(c.seq <= through)).rowcount
                now_us = time_us(datetime.now(UTC))
                conn.execute(
                    t.checkpoints.insert().values(
                        through_seq=through,
                        through_hash=through_hash,
                        deleted=deleted,
                        cutoff_us=time_us(cutoff),
                        purged_at_us=now_us,
                    )
                )
                note = json.dumps(
                    {
                        "purged_through_seq": through,
                        "purged_through_hash": through_hash,
                        "deleted": deleted,
                        "cutoff": cutoff.astimezone(UTC).isoformat(),
                    },
                    sort_keys=True,
                )
                marker = AuditRecord(
                    kind="checkpoint",
                    user="aigclabel:purge",
                    produce_id="",
                    content_producer="",
                    label="",
                    agreement_version=None,
                    request_id=f"purge-through-{through}",
                    text=note,
                )
                checkpoint = self._append_in(conn, [marker])[0]
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot purge", exc) from exc
        return PurgeReport(int(deleted), through, checkpoint.seq, cutoff)

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """
        Finish pending appends, stop the writer thread and release connections. Idempotent.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer
        if writer is not None:
            self._queue.put(_STOP)
            writer.join()
        # Anything queued after the stop marker (a racing append) is failed, not lost silently.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Pending):
                item.error = AuditStoreError(f"audit store {self._url} is closed")
                item.done.set()
        self._engine.dispose()


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
