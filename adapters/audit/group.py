"""
Group commit: one writer thread per process turns concurrent appends into one transaction.

Callers hand a record to :meth:`GroupCommitter.submit` and wait on the returned
:class:`concurrent.futures.Future` — threads with a bound (:meth:`~GroupCommitter.wait`), coroutines
by awaiting it (:meth:`~GroupCommitter.wait_async`, which never blocks the event loop). The
writer takes everything queued (up to a batch limit), commits it in one transaction and
resolves each future with its own stored record or the batch's error.

Time-bounded: a caller waits at most its timeout; a record whose caller gave up before the
writer took it is never written; while a batch has been in flight longer than a caller's
timeout (a frozen database), new appends fail at once instead of queueing behind it.

Fork-safe: a forked child (gunicorn ``--preload``, multiprocessing, Celery prefork) inherits no
writer thread. The committer notices the new process (an at-fork hook, and the pid on every
submit), starts with a fresh queue and lock, calls ``on_fork`` (the store drops the inherited
connection pool there) and starts its own writer on the first append.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from aigclabel.audit.records import AuditRecord

__all__ = ["BATCH_MAX", "GroupCommitter"]

#: Records committed in one transaction at most.
BATCH_MAX = 2048
_STOP = object()
_Item = tuple[AuditRecord, "Future[AuditRecord]"]


class GroupCommitter:
    """
    A writer thread committing batches of records with *commit* (which returns the stored
    records in order, or raises for the whole batch).

    Args:
        commit: commits a batch in one transaction; runs on the writer thread only.
        error: builds the exception for a caller that cannot be served (closed, timed out,
            the store stalled), from a message.
        on_fork: called in a forked child before it writes (drop inherited connections).
        name: the writer thread's name.
    """

    def __init__(
        self,
        commit: Callable[[list[AuditRecord]], list[AuditRecord]],
        *,
        error: Callable[[str], Exception],
        on_fork: Callable[[], None] | None = None,
        name: str = "aigclabel-audit-writer",
    ) -> None:
        self._commit = commit
        self._error = error
        self._on_fork = on_fork
        self._name = name
        self._closed = False
        self._reset()
        os.register_at_fork(after_in_child=_weak_call(weakref.WeakMethod(self._forked)))

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._busy_since: float | None = None

    def _forked(self) -> None:
        if self._pid == os.getpid():
            return
        # The parent's writer thread does not exist here and its lock may be held forever;
        # its queued records are the parent's to write.
        self._reset()
        if self._on_fork is not None:
            self._on_fork()

    @property
    def closed(self) -> bool:
        """
        Whether :meth:`close` was called.
        """
        return self._closed

    def submit(self, record: AuditRecord, *, timeout: float | None = None) -> Future[AuditRecord]:
        """
        Queue *record* for the writer; the future resolves once it is committed.

        Raises:
            Exception: built by ``error`` when closed, or when a batch has been in flight
                longer than *timeout* (the store is not answering).
        """
        if self._pid != os.getpid():
            self._forked()
        if self._closed:
            raise self._error("is closed")
        busy = self._busy_since
        if timeout is not None and busy is not None and time.monotonic() - busy > timeout:
            raise self._error(
                f"has not answered for {time.monotonic() - busy:.1f} s (a commit is still in flight); "
                "the record was not written"
            )
        future: Future[AuditRecord] = Future()
        self._ensure_writer()
        self._queue.put((record, future))
        return future

    def wait(self, future: Future[AuditRecord], timeout: float | None) -> AuditRecord:
        """
        The stored record, waiting at most *timeout* seconds.

        Raises:
            Exception: the batch's error (a fresh copy for each caller of a store error), or
                one built by ``error`` on timeout (the record is withdrawn if not yet taken).
        """
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise self._timeout(timeout) from None

    async def wait_async(self, future: Future[AuditRecord], timeout: float | None) -> AuditRecord:
        """
        Like :meth:`wait`, awaited: the event loop keeps running while the writer commits.
        """
        try:
            # wrap_future cancels *future* when the wait is cancelled or times out.
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise self._timeout(timeout) from None

    def _timeout(self, timeout: float | None) -> Exception:
        return self._error(f"did not commit the record within {timeout} s; the record was not acknowledged")

    def _ensure_writer(self) -> None:
        if self._writer is not None:
            return
        with self._lock:
            if self._closed:
                raise self._error("is closed")
            if self._writer is None:
                writer = threading.Thread(target=self._run, args=(self._queue,), name=self._name, daemon=True)
                writer.start()
                self._writer = writer

    def _run(self, items: queue.SimpleQueue[Any]) -> None:
        while True:
            item = items.get()
            if item is _STOP:
                return
            batch: list[_Item] = [item]
            stop = False
            while len(batch) < BATCH_MAX:
                try:
                    item = items.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            # A caller that gave up before now has cancelled its future: its record is not written.
            live = [(rec, fut) for rec, fut in batch if fut.set_running_or_notify_cancel()]
            if live:
                self._busy_since = time.monotonic()
                try:
                    stored = self._commit([rec for rec, _ in live])
                except BaseException as exc:
                    for _, fut in live:
                        fut.set_exception(exc)
                else:
                    for (_, fut), rec in zip(live, stored, strict=True):
                        fut.set_result(rec)
                finally:
                    self._busy_since = None
            if stop:
                return

    def close(self, timeout: float | None = None) -> None:
        """
        Let the writer finish what is queued (waiting at most *timeout* seconds), then fail
        anything that raced in after. Idempotent; never blocks longer than *timeout*.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer
        if writer is not None:
            self._queue.put(_STOP)
            writer.join(timeout)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP and item[1].set_running_or_notify_cancel():
                item[1].set_exception(self._error("is closed"))


def _weak_call(method: weakref.WeakMethod[Callable[[], None]]) -> Callable[[], None]:
    # An at-fork hook that does not keep its object alive.
    def call() -> None:
        bound = method()
        if bound is not None:
            bound()

    return call
