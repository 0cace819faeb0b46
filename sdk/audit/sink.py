"""
Where Art. 9 records go: the :class:`RecordSink` protocol (and its async twin) the core writes
through, and how it finds one for a store URL.

The core never opens a database. A sink is found by the scheme of ``LabelPolicy.audit_store``
among the entry points of group ``aigclabel.record_sinks`` (``postgresql+psycopg://…`` looks up
``postgresql``); the package registers its SQL store (``aigclabel.adapters.audit``) for
``sqlite`` and ``postgresql``. Another package can add a scheme::

    [project.entry-points."aigclabel.record_sinks"]
    kafka = "mypackage.audit:open_record_sink"     # open_record_sink(policy) -> RecordSink
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..exceptions import AIGCLabelError

if TYPE_CHECKING:
    from ..policy import LabelPolicy
    from .records import AuditRecord

__all__ = [
    "ENTRY_POINT_GROUP",
    "AsyncRecordSink",
    "RecordSink",
    "RecordSinkError",
    "find_sink_factory",
    "url_scheme",
]

#: The entry-point group naming record sinks by URL scheme.
ENTRY_POINT_GROUP = "aigclabel.record_sinks"


class RecordSinkError(AIGCLabelError, RuntimeError):
    """
    A record could not be written within its time bound: the store is unavailable, frozen,
    full, read-only or closed, the record is invalid, or no sink serves the store's URL.

    Nothing released depends on a record that raised this: the labeler labels the text as
    usual instead (or raises :class:`~aigclabel.OptOutError`, as the policy says). A record
    that timed out may still be committed later, when a frozen store recovers; it then
    over-states what was released unlabeled, never under-states it.

    .. versionadded:: 0.2.0
    """


@runtime_checkable
class RecordSink(Protocol):
    """
    Durably appends Art. 9 records, synchronously.

    .. versionadded:: 0.2.0
    """

    def append(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        """
        Durably record *record*; return the stored copy (``time``, ``seq``, ``prev_hash``, ``hash`` set).

        Args:
            record: the record to append.
            timeout: seconds to wait at most; ``None`` waits as long as the store's own timeouts.

        Raises:
            RecordSinkError: nothing was acknowledged (unavailable, timed out, closed, invalid).
        """
        ...

    def close(self) -> None:
        """
        Finish pending appends and release the store. Idempotent.
        """
        ...


@runtime_checkable
class AsyncRecordSink(Protocol):
    """
    The async twin of :class:`RecordSink`: awaiting an append never blocks the event loop.

    .. versionadded:: 0.2.0
    """

    async def append_async(self, record: AuditRecord, *, timeout: float | None = None) -> AuditRecord:
        """
        Like :meth:`RecordSink.append`, awaited; the commit runs off the event loop's thread.
        """
        ...

    async def aclose(self) -> None:
        """
        Like :meth:`RecordSink.close`, awaited.
        """
        ...


def url_scheme(url: str) -> str:
    """
    The entry-point name for a store URL: the scheme without its driver
    (``postgresql+psycopg://…`` → ``postgresql``), lower-case.
    """
    scheme = url.partition(":")[0] if ":" in url else ""
    return scheme.partition("+")[0].strip().lower()


@functools.lru_cache(maxsize=32)
def find_sink_factory(scheme: str) -> Callable[[LabelPolicy], RecordSink]:
    """
    The ``open_record_sink(policy)`` registered for *scheme* (see the module docstring).

    Raises:
        RecordSinkError: no installed package registers a sink for *scheme*.
    """
    from importlib import metadata  # entry points are read when a store is opened, not at import

    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in found:
        if ep.name == scheme:
            factory: Callable[[LabelPolicy], RecordSink] = ep.load()
            return factory
    known = ", ".join(sorted({ep.name for ep in found})) or "none"
    raise RecordSinkError(
        f"no record sink is registered for audit_store URLs of scheme {scheme or '(none)'!r} "
        f"(registered: {known}); use sqlite:///path.db or postgresql+psycopg://…, or install the "
        f"package that provides it (entry-point group {ENTRY_POINT_GROUP!r})"
    )
