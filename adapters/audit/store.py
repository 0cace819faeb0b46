"""
The audit record store: append-only, hash-chained, durable on return; SQLite or PostgreSQL.

A thin layer over its parts: :mod:`~aigclabel.adapters.audit.engine` (dialects, pragmas,
timeouts), :mod:`~aigclabel.adapters.audit.schema` (tables and rows),
:mod:`~aigclabel.adapters.audit.group` (the writer thread) and
:mod:`~aigclabel.adapters.audit.chain` (the pure chain check). Built on SQLAlchemy Core (the
``audit`` extra; PostgreSQL also needs the ``postgresql`` extra).

An :class:`AuditStore` is a :class:`~aigclabel.audit.RecordSink` and an
:class:`~aigclabel.audit.AsyncRecordSink`: what :func:`~aigclabel.adapters.audit.open_record_sink`
gives the labeler for ``sqlite:`` and ``postgresql:`` URLs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from aigclabel.audit.records import GENESIS_HASH, AuditRecord, EventKind, chain_hash, time_us
from aigclabel.audit.sink import RecordSinkError
from aigclabel.exceptions import KeyMaterialError
from aigclabel.metadata import AIGCMetadata

from .chain import Anchor, ChainReport, verify_chain
from .engine import DEFAULT_TIMEOUT, AuditStoreError, make_engine, parse_url, store_error
from .group import GroupCommitter
from .schema import ALL_TABLES, FORMAT, StoreTables, define_tables, from_row, to_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

__all__ = ["MIN_RETENTION_DAYS", "AuditStore", "PurgeReport"]

#: Art. 9 keeps logs at least six months; six calendar months can be 184 days.
MIN_RETENTION_DAYS = 184

_KEY_CHECK_INPUT = b"aigclabel/audit/key-check/v1"
_PG_INIT_LOCK = 0x4149_4743  # advisory lock id serialising schema creation
_PAGE = 1000  # rows read per round trip by verify() and query()
log = logging.getLogger("aigclabel.audit")


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


def _fresh(exc: BaseException) -> BaseException:
    # One batch error reaches many callers: each raises its own copy (same class, message, cause).
    if isinstance(exc, RecordSinkError):
        copy = type(exc)(str(exc))
        copy.__cause__ = exc.__cause__
        return copy
    return exc


class _RowProblem(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


class AuditStore:
    """
    An append-only, hash-chained store of :class:`~aigclabel.audit.AuditRecord` on any SQLAlchemy URL
    (``sqlite:///path.db``, ``postgresql+psycopg://user:pw@host/db``).

    It is also a :class:`~aigclabel.Resolver`: :meth:`resolve` maps a mark id to the implicit
    label of the newest record whose ProduceID carries it. Thread-safe, fork-safe (a child
    process starts its own writer and connections); one instance per process is enough.
    Open it with :meth:`open`.

    .. versionchanged:: 0.2.0
       Moved to :mod:`aigclabel.adapters.audit`; every wait is bounded (``timeout``);
       :meth:`append_async`; anchors (:meth:`verify` ``anchor=``).

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
        _create: bool,
        _timeout: float,
        _after_commit: Callable[[Sequence[AuditRecord]], None] | None,
    ) -> None:
        self._engine = _engine
        self._t = _tables
        self._key = _key
        self._group = _group
        self._retention = _retention
        self._url = _url
        self._dialect = _dialect
        self._create = _create
        self._timeout = _timeout
        self._after_commit = _after_commit
        self._key_problem: str | None = None
        self._ready = False
        self._ready_lock = threading.Lock()
        self._closed = False
        self._committer = GroupCommitter(
            self._commit_batch,
            error=lambda message: AuditStoreError(f"audit store {self._url} {message}"),
            on_fork=self._forked,
        )
        self._pid = os.getpid()

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
        timeout: float = DEFAULT_TIMEOUT,
        connect: bool = True,
        after_commit: Callable[[Sequence[AuditRecord]], None] | None = None,
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
            timeout: seconds any one database wait may take (connect, lock, statement).
            connect: check (and create) the tables now; ``False`` defers that to the first use,
                on the writer thread for appends (nothing here touches the database).
            after_commit: called on the writer with each committed batch (the mirrors).

        Raises:
            ValueError: retention under 184 days, an unsupported or in-memory URL, a bad timeout.
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
        import sqlalchemy as sa_mod  # parse_url raised MissingDependencyError if it is missing

        store_url = parse_url(url, create=create)
        engine = make_engine(store_url, timeout=timeout)
        _, tables = define_tables(sa_mod)
        store = cls(
            _engine=engine,
            _tables=tables,
            _key=chain_key,
            _group=group_commit,
            _retention=retention_days,
            _url=store_url.safe,
            _dialect=store_url.backend,
            _create=create,
            _timeout=timeout,
            _after_commit=after_commit,
        )
        if connect:
            try:
                store._ensure_ready()
            except BaseException:
                engine.dispose()
                raise
        return store

    def _forked(self) -> None:
        # Connections inherited from the parent belong to it: forget them without closing them.
        self._engine.dispose(close=False)
        self._ready_lock = threading.Lock()
        self._pid = os.getpid()

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                self._init_schema(self._create)
                self._ready = True

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
                                {"name": "format", "value": FORMAT},
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
            raise store_error(self._url, "cannot open", exc) from exc
        if meta.get("format") != FORMAT:
            raise AuditStoreError(f"{self._url} is not an aigc-label audit store of format {FORMAT!r}")
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
        return store_error(self._url, action, exc)

    @contextmanager
    def _write_conn(self) -> Iterator[Connection]:
        if self._pid != os.getpid():
            self._forked()
        with self._engine.connect() as conn:
            if self._dialect == "sqlite":
                conn.execution_options(aigc_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read_conn(self, *, snapshot: bool = False) -> Iterator[Connection]:
        if self._pid != os.getpid():
            self._forked()
        self._ensure_ready()
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

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        """
        Record one release; return the stored record (``time``, ``seq``, ``prev_hash``, ``hash`` set).

        Durable when it returns: committed, and on SQLite fsync'd (WAL, ``synchronous=FULL``).
        With group commit, concurrent calls from threads share one transaction; each still
        returns only after its own record is committed.

        Args:
            record: the record.
            timeout: seconds to wait at most (group commit); ``None``: the store's own timeouts.

        Raises:
            ValueError: an invalid record field (named in the message).
            AuditStoreError: nothing was acknowledged (store unavailable, frozen past *timeout*,
                full, read-only, closed, or a chain key that does not match the store's).
        """
        record.validate()
        self._check_open()
        if not self._group:
            return self._commit_batch([record])[0]
        future = self._committer.submit(record, timeout=timeout)
        try:
            return self._committer.wait(future, timeout)
        except RecordSinkError as exc:
            raise _fresh(exc) from exc.__cause__

    async def append_async(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        """
        Like :meth:`append`, awaited: the commit runs on the writer thread, never on the event loop.

        .. versionadded:: 0.2.0
        """
        record.validate()
        self._check_open()
        future = self._committer.submit(record, timeout=timeout)
        try:
            return await self._committer.wait_async(future, timeout)
        except RecordSinkError as exc:
            raise _fresh(exc) from exc.__cause__

    def _check_open(self) -> None:
        if self._closed:
            raise AuditStoreError(f"audit store {self._url} is closed")
        if self._key_problem is not None:
            raise AuditStoreError(f"audit store {self._url} cannot record: {self._key_problem}")

    def _commit_batch(self, records: list[AuditRecord]) -> list[AuditRecord]:
        import sqlalchemy as sa_mod

        self._ensure_ready()
        if self._key_problem is not None:
            raise AuditStoreError(f"audit store {self._url} cannot record: {self._key_problem}")
        try:
            with self._write_conn() as conn:
                stored = self._append_in(conn, records)
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot record", exc) from exc
        if self._after_commit is not None:
            try:
                self._after_commit(stored)
            except Exception:  # the records are committed: a mirror failure must not undo them
                log.exception("aigc-label: the audit mirrors could not be written")
        return stored

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

    def verify(self, *, anchor: Anchor | Iterable[Anchor] | None = None) -> ChainReport:
        """
        Recompute the chain in ``seq`` order (a page at a time, one consistent snapshot) and
        report the first broken record: an edited field, a deleted, inserted or reordered row,
        rows cut off the end, or a purge checkpoint not confirmed by the chain.

        Args:
            anchor: external anchors (from the JSON-lines mirror or OpenTelemetry events, see
                :func:`~aigclabel.adapters.audit.read_anchors`): rows cut off the end *and* a
                head row rewritten to match are detected against them.

        Raises:
            AuditStoreError: the store cannot be read.

        .. versionchanged:: 0.2.0
           ``anchor``.
        """
        import sqlalchemy as sa_mod

        try:
            with self._read_conn(snapshot=True) as conn:
                return self._verify_in(conn, anchor)
        except (sa_mod.exc.SQLAlchemyError, OSError) as exc:
            raise self._error("cannot be read", exc) from exc

    def _verify_in(self, conn: Connection, anchor: Anchor | Iterable[Anchor] | None) -> ChainReport:
        import sqlalchemy as sa_mod

        t = self._t
        c = t.records.c
        if self._key_problem is not None:
            first = conn.execute(sa_mod.select(sa_mod.func.min(c.seq))).scalar()
            return ChainReport(False, 0, None if first is None else int(first), self._key_problem)
        cp = conn.execute(
            sa_mod.select(t.checkpoints.c.through_seq, t.checkpoints.c.through_hash)
            .order_by(t.checkpoints.c.through_seq.desc())
            .limit(1)
        ).first()
        start = None if cp is None else (int(cp[0]), str(cp[1]))
        head_row = conn.execute(sa_mod.select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)).first()
        if head_row is None:
            return ChainReport(False, 0, None, "the chain head row is missing")

        def rows() -> Iterator[AuditRecord]:
            last: int | None = None
            while True:
                q = sa_mod.select(t.records).order_by(c.seq).limit(_PAGE)
                if last is not None:
                    q = q.where(c.seq > last)
                page = conn.execute(q).all()
                for row in page:
                    rec = from_row(row)
                    if row.mark_id != rec.mark_id():
                        raise _RowProblem(int(row.seq), "mark_id does not match the record's produce_id")
                    yield rec
                if len(page) < _PAGE:
                    return
                last = page[-1].seq

        try:
            return verify_chain(
                rows(),
                self._key,
                anchor,
                start=start,
                head=(int(head_row[0]), str(head_row[1])),
            )
        except _RowProblem as problem:
            return ChainReport(False, problem.seq - (start or (0, ""))[0] - 1, problem.seq, problem.reason)

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
        self._ensure_ready()
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
        if self._after_commit is not None:
            try:
                self._after_commit([checkpoint])
            except Exception:
                log.exception("aigc-label: the audit mirrors could not be written")
        return PurgeReport(int(deleted), through, checkpoint.seq, cutoff)

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """
        Finish pending appends (waiting at most the store's timeout), stop the writer thread and
        release connections. Idempotent; never hangs on a frozen database.
        """
        if self._closed:
            return
        self._closed = True
        self._committer.close(self._timeout)
        self._engine.dispose()
        closer = getattr(self._after_commit, "close", None)
        if callable(closer):
            closer()

    async def aclose(self) -> None:
        """
        Like :meth:`close`, awaited (the waiting happens on a worker thread).

        .. versionadded:: 0.2.0
        """
        await asyncio.to_thread(self.close)
