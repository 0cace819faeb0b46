"""
The consent store and the opt-out decision: history kept, versions checked, safe under threads.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC
from pathlib import Path

import anyio
import pytest
from aigclabel import LabelPolicy, OptOut
from aigclabel.adapters.asgi import (
    ConsentError,
    ConsentStore,
    ConsentStoreError,
    SQLiteConsentStore,
    decide_consent,
    opt_out_for,
)
from aigclabel.exceptions import AIGCLabelError

from tests.helpers import CHAIN_KEY, KEY, PRODUCER


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> SQLiteConsentStore:
    """
    A file store that accepts opt-outs under ``v1`` and ``v2``.
    """
    return SQLiteConsentStore(tmp_path / "consent.db", accepted_versions=["v1", "v2"])


POLICY = LabelPolicy(producer=PRODUCER, key=KEY, opt_out_agreements=("v2",), audit_chain_key=CHAIN_KEY)


def test_latest_choice_wins_and_history_is_kept(store: SQLiteConsentStore) -> None:
    """
    Every change is appended with a UTC time; ``get`` returns the latest, ``history`` all.
    """
    store.set("u", opted_out=True, agreement_version="v1")
    store.set("u", opted_out=False)
    store.set("u", opted_out=True, agreement_version="v2")
    history = store.history("u")
    assert [(True, "v1"), (False, None), (True, "v2")] == [
        (c.opted_out, c.agreement_version) for c in history
    ]
    assert history[-1] == store.get("u")
    assert all(c.recorded_at.tzinfo == UTC for c in history)
    assert sorted(c.seq for c in history) == [c.seq for c in history]
    assert store.get("other") is None


def test_rows_cannot_be_updated_or_deleted(store: SQLiteConsentStore, tmp_path: Path) -> None:
    """
    The table is append-only: UPDATE and DELETE are refused by the database itself.
    """
    store.set("u", opted_out=True, agreement_version="v1")
    conn = sqlite3.connect(tmp_path / "consent.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE consent_events SET opted_out = 0")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM consent_events")
    finally:
        conn.close()


def test_the_file_keeps_choices_across_opens(store: SQLiteConsentStore, tmp_path: Path) -> None:
    """
    A reopened file store still knows the user's choice.
    """
    store.set("u", opted_out=True, agreement_version="v2")
    store.close()
    with SQLiteConsentStore(tmp_path / "consent.db") as again:
        assert "v2" == again.get("u").agreement_version  # type: ignore[union-attr]


def test_unknown_agreement_version_is_refused(store: SQLiteConsentStore) -> None:
    """
    An opt-out under a version the store does not accept raises and records nothing.
    """
    with pytest.raises(ConsentError, match="'v9' is not accepted; accepted: v1, v2") as info:
        store.set("u", opted_out=True, agreement_version="v9")
    assert "agreement_version" == info.value.field
    assert [] == store.history("u")


@pytest.mark.parametrize(
    ("user", "opted_out", "version", "field"),
    [
        ("", True, "v1", "user"),
        ("   ", False, None, "user"),
        ("x" * 257, False, None, "user"),
        ("a\nb", False, None, "user"),
        (3, False, None, "user"),
        ("u", "yes", "v1", "opted_out"),
        ("u", True, None, "agreement_version"),
        ("u", True, "", "agreement_version"),
    ],
)
def test_bad_input_raises_consent_error(
    store: SQLiteConsentStore, user: object, opted_out: object, version: object, field: str
) -> None:
    """
    Bad ids, a non-bool choice and an opt-out without a version are ConsentErrors (ValueError,
    under the package root) naming the field.
    """
    with pytest.raises(ConsentError) as info:
        store.set(user, opted_out=opted_out, agreement_version=version)  # type: ignore[arg-type]
    assert field == info.value.field
    assert isinstance(info.value, AIGCLabelError)
    assert isinstance(info.value, ValueError)


def test_opt_out_for_needs_an_accepted_version(store: SQLiteConsentStore) -> None:
    """
    An OptOut only under a version the policy accepts; otherwise None with the reason.
    """
    assert opt_out_for("nobody", store, POLICY) is None
    assert "no consent is recorded" in (decide_consent("nobody", store, POLICY).reason or "")
    store.set("old", opted_out=True, agreement_version="v1")
    decision = decide_consent("old", store, POLICY)
    assert (None, "v1") == (decision.opt_out, decision.consent.agreement_version)  # type: ignore[union-attr]
    assert "which the policy does not accept (accepted: v2)" in (decision.reason or "")
    store.set("in", opted_out=False)
    assert "has not opted out" in (decide_consent("in", store, POLICY).reason or "")
    store.set("new", opted_out=True, agreement_version="v2")
    assert OptOut(user="new", agreement_version="v2") == opt_out_for("new", store, POLICY)
    assert decide_consent("new", store, POLICY).reason is None


def test_concurrent_writers_lose_nothing(store: SQLiteConsentStore) -> None:
    """
    8 threads × 25 writes on one store: every write is kept, each user's latest is its last.
    """
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                store.set(f"user-{n}", opted_out=i % 2 == 0, agreement_version="v1" if i % 2 == 0 else None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert [] == errors
    assert [25] * 8 == [len(store.history(f"user-{n}")) for n in range(8)]
    assert {True} == {store.get(f"user-{n}").opted_out for n in range(8)}  # type: ignore[union-attr]


def test_async_helpers_and_memory_store() -> None:
    """
    ``aset`` / ``aget`` run in worker threads; an in-memory store satisfies the protocol.
    """

    async def run() -> tuple[bool, str | None]:
        with SQLiteConsentStore(":memory:") as store:
            await store.aset("u", opted_out=True, agreement_version="any")
            found = await store.aget("u")
            assert isinstance(store, ConsentStore)
            return found.opted_out, found.agreement_version  # type: ignore[union-attr]

    assert (True, "any") == anyio.run(run)


def test_unusable_database_is_a_store_error(tmp_path: Path) -> None:
    """
    A path that cannot hold a database raises ConsentStoreError, chained.
    """
    with pytest.raises(ConsentStoreError, match="cannot open the consent store") as info:
        SQLiteConsentStore(tmp_path)  # a directory
    assert isinstance(info.value.__cause__, sqlite3.Error)
