"""
Engine set-up for the record store: dialects, SQLite pragmas, and a time bound on every wait.

Every way a database can stall a writer has a bound derived from one ``timeout`` (seconds):

SQLite
    the busy timeout (a lock held by another writer), WAL with ``synchronous = FULL`` (a
    commit is fsync'd before it returns), ``BEGIN IMMEDIATE`` for writes (the write lock is
    taken up front, so a writer never fails half-way on a lock upgrade).
PostgreSQL (psycopg 3)
    ``connect_timeout``, ``statement_timeout`` and ``lock_timeout`` (sent as ``options``; any
    ``options`` already in the URL, such as a ``search_path``, are kept), ``tcp_user_timeout``
    and TCP keepalives (a peer that vanished from the network), and a pre-ping on checkout.

A server that is frozen but whose kernel still acknowledges packets (``SIGSTOP``) defeats
every client-side socket option; the group-commit writer's bounded futures cover that case
(see :mod:`aigclabel.adapters.audit.group`).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, cast

from aigclabel.audit.sink import RecordSinkError
from aigclabel.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = ["DEFAULT_TIMEOUT", "AuditStoreError", "StoreURL", "make_engine", "parse_url", "store_error"]

#: Seconds any single database wait may take when no timeout is given (the command line's).
DEFAULT_TIMEOUT = 30.0


class AuditStoreError(RecordSinkError):
    """
    The audit store cannot record (or read): unavailable, frozen, full disk, read-only, a schema
    problem, a chain key that does not match the store's. Chained from the original exception;
    nothing was acknowledged by the failing call.

    .. versionchanged:: 0.2.0
       A :class:`~aigclabel.audit.RecordSinkError`; moved to :mod:`aigclabel.adapters.audit`.
    """


class StoreURL:
    """
    A parsed, checked store URL: the SQLAlchemy ``URL``, the backend and a password-free form.
    """

    __slots__ = ("backend", "safe", "url")

    def __init__(self, url: URL, backend: str, safe: str) -> None:
        self.url = url
        self.backend = backend
        self.safe = safe


def parse_url(url: str, *, create: bool = True) -> StoreURL:
    """
    Check *url* (``postgresql://`` means ``postgresql+psycopg://``).

    Raises:
        ValueError: an unsupported, invalid or in-memory (not durable) URL.
        MissingDependencyError: SQLAlchemy is not installed (extra ``audit``).
        AuditStoreError: ``create=False`` and no SQLite file exists at the URL.
    """
    try:
        import sqlalchemy as sa_mod
    except ImportError as exc:
        raise MissingDependencyError("sqlalchemy", "audit") from exc
    try:
        parsed = sa_mod.engine.make_url(url)
    except sa_mod.exc.ArgumentError as exc:
        raise ValueError(f"invalid audit store URL: {exc}") from None
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
    safe = parsed.render_as_string(hide_password=True)
    if backend == "sqlite" and not create:
        path = (parsed.database or "").removeprefix("file:").split("?", 1)[0]
        if not os.path.exists(path):
            raise AuditStoreError(f"no audit store at {safe} (no such file); check the URL")
    return StoreURL(parsed, backend, safe)


def make_engine(store_url: StoreURL, *, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """
    An engine for *store_url* whose every wait is bounded by *timeout* seconds (see the module).

    Raises:
        MissingDependencyError: psycopg is not installed (extra ``postgresql``).
        ValueError: the URL's driver arguments are invalid.
    """
    import sqlalchemy as sa_mod

    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    try:
        if store_url.backend == "sqlite":
            return _sqlite_engine(sa_mod, store_url.url, timeout)
        return _postgresql_engine(sa_mod, store_url.url, timeout)
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "psycopg", "postgresql") from exc
    except sa_mod.exc.ArgumentError as exc:
        raise ValueError(f"invalid audit store URL {store_url.safe!r}: {exc}") from exc


def _sqlite_engine(sa_mod: Any, url: URL, timeout: float) -> Engine:
    busy_ms = max(1, int(timeout * 1000))
    engine = sa_mod.create_engine(url, connect_args={"timeout": timeout})

    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
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


def _postgresql_engine(sa_mod: Any, url: URL, timeout: float) -> Engine:
    ms = max(1, int(timeout * 1000))
    options = " ".join(
        part
        for part in (
            str(url.query.get("options") or ""),
            f"-c statement_timeout={ms}",
            f"-c lock_timeout={ms}",
            f"-c idle_in_transaction_session_timeout={max(ms * 2, 1000)}",
        )
        if part
    )
    connect_args = {
        # libpq's connect_timeout is whole seconds, at least 2.
        "connect_timeout": max(2, math.ceil(timeout)),
        "options": options,
        "tcp_user_timeout": ms,
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeout)),
        "keepalives_interval": max(1, math.ceil(timeout / 3)),
        "keepalives_count": 3,
    }
    engine = sa_mod.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    return cast("Engine", engine)


def _hint(message: str) -> str:
    low = message.lower()
    if "disk is full" in low or "no space" in low or "database or disk is full" in low:
        return "free disk space (or raise the database's size limit), then retry"
    if "readonly" in low or "read-only" in low or "read only" in low:
        return "the store is read-only: open a writable file or database (check permissions and the URL)"
    if "locked" in low or "busy" in low:
        return "another writer held the lock longer than the busy timeout; retry or look for a stuck process"
    if "statement timeout" in low or "lock timeout" in low or "canceling statement" in low:
        return "the database did not answer within the store's timeout; is it overloaded or stuck?"
    if "connect" in low or "refused" in low or "timeout" in low or "could not translate" in low:
        return "is the database server running and reachable at this URL?"
    if "no such table" in low or "does not exist" in low or "no such column" in low:
        return "the store's tables are missing or of another version; check the URL or open with create=True"
    return "check the store URL, permissions and free space"


def store_error(safe_url: str, action: str, exc: BaseException) -> AuditStoreError:
    """
    An :class:`AuditStoreError` for a failed *action* on the store at *safe_url*, with a hint.
    """
    detail = (
        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
    )
    return AuditStoreError(f"audit store {safe_url} {action}: {detail} — {_hint(detail)}")
