"""
Art. 9 consent: who asked for content without the visible label, under which user agreement.

A :class:`ConsentStore` keeps each user's latest choice; :func:`opt_out_for` turns it into the
:class:`~aigclabel.OptOut` a labeler honours, **only** when the recorded agreement version is
one the policy accepts (``LabelPolicy.opt_out_agreements``); otherwise the user gets the
visible label and :func:`decide_consent` says why.

:class:`SQLiteConsentStore` is a store on the standard library's ``sqlite3`` (a file, or
memory): every change is a new row with a UTC timestamp, never updated or deleted (triggers
refuse both), so the history of a user's consent can be shown. One connection behind a lock
makes it safe to share between threads; ``aget`` / ``aset`` run in a worker thread for
async code.

This record of consent is the integrator's; the Art. 9 record of each release without the
label is written by the labeler into its audit store.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio
from aigclabel.exceptions import AIGCLabelError
from aigclabel.optout import OptOut
from aigclabel.policy import LabelPolicy

__all__ = [
    "MAX_ID_CHARS",
    "Consent",
    "ConsentDecision",
    "ConsentError",
    "ConsentStore",
    "ConsentStoreError",
    "SQLiteConsentStore",
    "decide_consent",
    "opt_out_for",
]

#: The longest user id or agreement version accepted.
MAX_ID_CHARS = 256


class ConsentError(AIGCLabelError, ValueError):
    """
    Bad consent input: an empty or overlong user id, an opt-out without an agreement version,
    an agreement version the store does not accept.

    Attributes:
        field: the offending argument (``"user"``, ``"agreement_version"``, ``"opted_out"``).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ConsentStoreError(AIGCLabelError, RuntimeError):
    """
    The consent store cannot be read or written (a locked, read-only or corrupt database).
    """


@dataclass(frozen=True, slots=True)
class Consent:
    """
    One recorded consent choice.

    Attributes:
        user: the user id.
        opted_out: the user asked for content without the visible label.
        agreement_version: the user-agreement version the user accepted (``None`` when not
            opted out).
        recorded_at: when the choice was recorded (UTC).
        seq: the store's sequence number of the change (increasing).
    """

    user: str
    opted_out: bool
    agreement_version: str | None
    recorded_at: datetime
    seq: int = 0

    def to_dict(self) -> dict[str, object]:
        """
        A JSON-ready dict (``recorded_at`` in ISO 8601).
        """
        return {
            "user": self.user,
            "opted_out": self.opted_out,
            "agreement_version": self.agreement_version,
            "recorded_at": self.recorded_at.isoformat(),
            "seq": self.seq,
        }


@runtime_checkable
class ConsentStore(Protocol):
    """
    Where users' consent choices are kept. Implementations must be safe to call from several
    threads; :func:`opt_out_for` only needs :meth:`get`.
    """

    def get(self, user: str) -> Consent | None:
        """
        The user's latest choice, or ``None`` if none was recorded.
        """
        ...

    def set(self, user: str, *, opted_out: bool, agreement_version: str | None = None) -> Consent:
        """
        Record a new choice (appended; earlier ones stay) and return it.
        """
        ...


def _check_id(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ConsentError(f"{field} must be a str, not {type(value).__name__}", field=field)
    if not value.strip():
        raise ConsentError(f"{field} must not be empty", field=field)
    if len(value) > MAX_ID_CHARS:
        raise ConsentError(f"{field} is {len(value)} characters; the limit is {MAX_ID_CHARS}", field=field)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ConsentError(f"{field} must not contain control characters", field=field)
    return value


def check_choice(
    user: object, opted_out: object, agreement_version: object, accepted: frozenset[str] | None
) -> tuple[str, bool, str | None]:
    """
    Validate one consent choice; return it normalised.

    Raises:
        ConsentError: see :class:`ConsentError`.
    """
    user = _check_id(user, "user")
    if not isinstance(opted_out, bool):
        raise ConsentError(f"opted_out must be a bool, not {type(opted_out).__name__}", field="opted_out")
    if not opted_out:
        if agreement_version is not None:
            _check_id(agreement_version, "agreement_version")
        return user, False, agreement_version  # type: ignore[return-value]
    if agreement_version is None:
        raise ConsentError(
            "an opt-out needs the user-agreement version the user accepted (agreement_version=)",
            field="agreement_version",
        )
    version = _check_id(agreement_version, "agreement_version")
    if accepted is not None and version not in accepted:
        raise ConsentError(
            f"agreement version {version!r} is not accepted; "
            f"accepted: {', '.join(sorted(accepted)) or 'none'}",
            field="agreement_version",
        )
    return user, True, version


_SCHEMA = """
CREATE TABLE IF NOT EXISTS consent_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    opted_out INTEGER NOT NULL CHECK (opted_out IN (0, 1)),
    agreement_version TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_events_user ON consent_events (user, seq);
CREATE TRIGGER IF NOT EXISTS consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END;
"""


class SQLiteConsentStore:
    """
    An append-only :class:`ConsentStore` in SQLite (stdlib ``sqlite3``).

    >>> store = SQLiteConsentStore(":memory:", accepted_versions=["v1"])
    >>> store.set("u-1", opted_out=True, agreement_version="v1").opted_out
    True
    >>> store.get("u-1").agreement_version
    'v1'
    >>> store.close()

    Args:
        path: a database file (created if missing) or ``":memory:"``.
        accepted_versions: when given, :meth:`set` refuses an opt-out under any other
            agreement version (pass ``policy.opt_out_agreements``).
        timeout: seconds to wait for another process's lock on the file.

    Raises:
        ConsentStoreError: the database cannot be opened or initialised.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        accepted_versions: Iterable[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.path = str(path) if str(path) == ":memory:" else str(Path(path))
        self.accepted_versions = frozenset(accepted_versions) if accepted_versions is not None else None
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"cannot open the consent store {self.path!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteConsentStore({self.path!r})"

    def __enter__(self) -> SQLiteConsentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """
        Close the connection (idempotent).
        """
        with self._lock:
            self._conn.close()

    def get(self, user: str) -> Consent | None:
        """
        The user's latest choice, or ``None``.

        Raises:
            ConsentError: *user* is not a valid id.
            ConsentStoreError: the database cannot be read.
        """
        user = _check_id(user, "user")
        rows = self._read(
            "SELECT seq, user, opted_out, agreement_version, recorded_at FROM consent_events "
            "WHERE user = ? ORDER BY seq DESC LIMIT 1",
            (user,),
        )
        return rows[0] if rows else None

    def history(self, user: str) -> list[Consent]:
        """
        Every choice the user made, oldest first.

        Raises:
            ConsentError: *user* is not a valid id.
            ConsentStoreError: the database cannot be read.
        """
        user = _check_id(user, "user")
        return self._read(
            "SELECT seq, user, opted_out, agreement_version, recorded_at FROM consent_events "
            "WHERE user = ? ORDER BY seq",
            (user,),
        )

    def set(self, user: str, *, opted_out: bool, agreement_version: str | None = None) -> Consent:
        """
        Append a choice with the current UTC time and return it.

        Raises:
            ConsentError: a bad user id, an opt-out without an agreement version, or one
                under a version not in ``accepted_versions``.
            ConsentStoreError: the database cannot be written.
        """
        user, opted_out, version = check_choice(user, opted_out, agreement_version, self.accepted_versions)
        now = datetime.now(UTC)
        try:
            with self._lock:
                cur = self._conn.execute(
                    "INSERT INTO consent_events (user, opted_out, agreement_version, recorded_at) "
                    "VALUES (?, ?, ?, ?)",
                    (user, int(opted_out), version, now.isoformat(timespec="microseconds")),
                )
                seq = cur.lastrowid
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"cannot write to the consent store {self.path!r}: {exc}") from exc
        return Consent(user, opted_out, version, now, seq or 0)

    async def aget(self, user: str) -> Consent | None:
        """
        :meth:`get` in a worker thread.
        """
        return await anyio.to_thread.run_sync(self.get, user)

    async def aset(self, user: str, *, opted_out: bool, agreement_version: str | None = None) -> Consent:
        """
        :meth:`set` in a worker thread.
        """
        return await anyio.to_thread.run_sync(
            lambda: self.set(user, opted_out=opted_out, agreement_version=agreement_version)
        )

    def _read(self, sql: str, args: tuple[object, ...]) -> list[Consent]:
        try:
            with self._lock:
                rows = self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"cannot read the consent store {self.path!r}: {exc}") from exc
        return [Consent(row[1], bool(row[2]), row[3], datetime.fromisoformat(row[4]), row[0]) for row in rows]


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """
    What a user's recorded consent means for one request under one policy.

    Attributes:
        opt_out: the opt-out to bind (``LabelContext.opt_out``), or ``None``: visible label.
        reason: why there is no opt-out (``None`` when there is one).
        consent: the consent the decision was made from, if any.
    """

    opt_out: OptOut | None
    reason: str | None
    consent: Consent | None = None


def decide_consent(user: str, store: ConsentStore, policy: LabelPolicy) -> ConsentDecision:
    """
    Read *user*'s consent from *store* and decide under *policy*; see :func:`opt_out_for`.

    Raises:
        ConsentError: *user* is not a valid id.
        ConsentStoreError: the store cannot be read.
    """
    user = _check_id(user, "user")
    consent = store.get(user)
    if consent is None:
        return ConsentDecision(None, f"no consent is recorded for user {user!r}")
    if not consent.opted_out:
        return ConsentDecision(None, f"user {user!r} has not opted out of the visible label", consent)
    accepted = tuple(policy.opt_out_agreements)
    if consent.agreement_version not in accepted:
        return ConsentDecision(
            None,
            f"user {user!r} opted out under agreement version {consent.agreement_version!r}, which the "
            f"policy does not accept (accepted: {', '.join(accepted) or 'none'}); ask the user to "
            "accept the current agreement",
            consent,
        )
    assert consent.agreement_version is not None  # an accepted version is a str
    return ConsentDecision(OptOut(user=user, agreement_version=consent.agreement_version), None, consent)


def opt_out_for(user: str, store: ConsentStore, policy: LabelPolicy) -> OptOut | None:
    """
    The Art. 9 opt-out to bind for *user*, or ``None`` (the visible label applies).

    An :class:`~aigclabel.OptOut` is returned only when the user's latest recorded consent is
    an opt-out under an agreement version in ``policy.opt_out_agreements``; use
    :func:`decide_consent` for the reason when it is not. The labeler still decides and
    records each release (it also needs an audit store).

    Raises:
        ConsentError: *user* is not a valid id.
        ConsentStoreError: the store cannot be read.

    .. versionadded:: 0.3.0
    """
    return decide_consent(user, store, policy).opt_out
