"""
The Art. 9 decision and its record: whether an opt-out may be honoured, and writing the
record through a :class:`~aigclabel.audit.RecordSink` before any unlabeled text is released.

The recorder builds the record and waits — at most ``audit_timeout_seconds`` — for the sink to
acknowledge it; it never opens a database itself. The sink for ``audit_store`` is found by URL
scheme (:func:`~aigclabel.audit.sink.find_sink_factory`) the first time a record is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import unicodedata
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..exceptions import AIGCLabelError
from ..keymaterial import redact_url
from ..marks.alphabet import ANY_MARK_CHAR
from ..optout import OptOut
from .records import AuditRecord
from .sink import AsyncRecordSink, RecordSink, RecordSinkError, find_sink_factory, url_scheme

if TYPE_CHECKING:
    from ..policy import LabelPolicy
    from .records import EventKind

__all__ = ["Recorder", "RecordingContext", "content_sha256"]

log = logging.getLogger("aigclabel.audit")


class RecordingContext(Protocol):
    """
    The per-request facts a record is built from (a :class:`~aigclabel.LabelContext` has them).
    """

    @property
    def user(self) -> str | None: ...
    @property
    def conversation(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def opt_out(self) -> object: ...


def content_sha256(text: str) -> str:
    """
    Hex SHA-256 of the NFC visible text (invisible marks removed) a record refers to.
    """
    visible = unicodedata.normalize("NFC", ANY_MARK_CHAR.sub("", text))
    return hashlib.sha256(visible.encode("utf-8", "surrogatepass")).hexdigest()


class Recorder:
    """
    Decides Art. 9 opt-outs and writes their records through a sink, each write bounded by
    ``policy.audit_timeout_seconds``.

    Args:
        policy: the labeling policy (``audit_store``, ``audit_timeout_seconds`` …).
        sink: where records go; by default the sink registered for ``audit_store``'s URL
            scheme, opened on the first record. A sink passed here is closed by :meth:`close`.

    Thread-safe and fork-safe: a forked child opens its own sink connections and writer.

    .. versionchanged:: 0.2.0
       Writes through a :class:`~aigclabel.audit.RecordSink`; :meth:`record_async`;
       every write is time-bounded.
    """

    def __init__(self, policy: LabelPolicy, sink: RecordSink | None = None) -> None:
        self.policy = policy
        self._sink: RecordSink | None = sink
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=_weak_call(weakref.WeakMethod(self._forked)))

    def _forked(self) -> None:
        # Another thread of the parent may have held the lock while opening the sink.
        self._lock = threading.Lock()

    @property
    def timeout(self) -> float:
        """
        Seconds one record may take before :class:`RecordSinkError` (``audit_timeout_seconds``).
        """
        return self.policy.audit_timeout_seconds

    def decide(self, context: RecordingContext) -> tuple[OptOut | None, str | None]:
        """
        ``(accepted opt-out, None)`` or ``(None, why it is refused)``.
        """
        opt_out = context.opt_out
        policy = self.policy
        if not isinstance(opt_out, OptOut):
            return None, f"opt_out must be an aigclabel.OptOut, not {type(opt_out).__name__}"
        if not policy.opt_out_allowed:
            return None, "the policy does not allow opting out of the visible label (opt_out_allowed = false)"
        if not opt_out.user:
            return (
                None,
                "OptOut.user is required: Art. 9 records who received content without the visible label",
            )
        if opt_out.agreement_version not in policy.opt_out_agreements:
            accepted = ", ".join(policy.opt_out_agreements) or "none configured"
            return None, (
                f"user agreement version {opt_out.agreement_version!r} is not accepted for opting out "
                f"(accepted: {accepted}); the agreement must state the user's labeling duty (Art. 8, 9)"
            )
        if policy.audit_store is None and self._sink is None:
            return None, (
                "no record store is configured (audit_store): Art. 9 requires a record of who received "
                "content without the visible label, kept at least six months"
            )
        return opt_out, None

    def sink(self) -> RecordSink:
        """
        The sink records go to, opened on first use (no database I/O happens here for the
        package's SQL store: its tables are checked by its writer thread).

        Raises:
            RecordSinkError: no store is configured, none is registered for its URL scheme,
                or it cannot be opened (a missing extra, an invalid URL).
        """
        sink = self._sink
        if sink is not None:
            return sink
        with self._lock:
            if self._sink is None:
                self._sink = self._open()
            return self._sink

    def _open(self) -> RecordSink:
        url = self.policy.audit_store
        if url is None:
            raise RecordSinkError("no record store is configured (audit_store)")
        factory = find_sink_factory(url_scheme(url))
        try:
            return factory(self.policy)
        except RecordSinkError:
            raise
        except (AIGCLabelError, ValueError, OSError, ImportError) as exc:
            raise RecordSinkError(f"the record store {redact_url(url)} cannot be opened: {exc}") from exc

    def build(
        self,
        *,
        kind: EventKind,
        context: RecordingContext | None,
        opt_out: OptOut | None,
        produce_id: str,
        text: str | None,
    ) -> AuditRecord:
        """
        The record of one release (not yet stored): recipient, content and labels.
        """
        policy = self.policy
        user = opt_out.user if opt_out is not None else (context.user if context is not None else None)
        return AuditRecord(
            kind=kind,
            user=user or "",
            produce_id=produce_id,
            content_producer=policy.producer,
            label=policy.label,
            agreement_version=opt_out.agreement_version if opt_out is not None else None,
            labels_applied=("implicit", "marks") if policy.marks else ("implicit",),
            labels_waived=("explicit",) if opt_out is not None else (),
            content_sha256=content_sha256(text) if text is not None else None,
            account=opt_out.account if opt_out is not None else None,
            ip=opt_out.ip if opt_out is not None else None,
            client=opt_out.client if opt_out is not None else None,
            request_id=context.request_id if context is not None else None,
            conversation_id=context.conversation if context is not None else None,
            model=context.model if context is not None else None,
            text=text if (policy.audit_store_text and text is not None) else None,
        )

    def record(
        self,
        *,
        kind: EventKind,
        context: RecordingContext | None,
        opt_out: OptOut | None,
        produce_id: str,
        text: str | None,
    ) -> AuditRecord:
        """
        Durably append one record (the sink mirrors it); return the stored record.

        Waits at most ``audit_timeout_seconds``; never hangs.

        Raises:
            RecordSinkError: nothing was acknowledged in time (unavailable, frozen, full,
                closed, an invalid field, no sink for the URL).
        """
        record = self._checked(kind, context, opt_out, produce_id, text)
        sink = self.sink()
        try:
            return sink.append(record, timeout=self.timeout)
        except RecordSinkError:
            raise
        except Exception as exc:  # a third-party sink: still one error type for the labeler
            raise RecordSinkError(f"the record could not be written: {exc}") from exc

    async def record_async(
        self,
        *,
        kind: EventKind,
        context: RecordingContext | None,
        opt_out: OptOut | None,
        produce_id: str,
        text: str | None,
    ) -> AuditRecord:
        """
        Like :meth:`record`, awaited: the event loop's thread never waits on the store
        (opening the sink and a sync-only sink's append run on worker threads).

        .. versionadded:: 0.2.0
        """
        import asyncio  # here, not at module level: `import aigclabel` stays light

        record = self._checked(kind, context, opt_out, produce_id, text)
        timeout = self.timeout
        try:
            sink = self._sink
            if sink is None:
                sink = await asyncio.wait_for(asyncio.to_thread(self.sink), timeout)
            if isinstance(sink, AsyncRecordSink):
                # The sink bounds its own wait; the outer bound holds for one that does not.
                return await asyncio.wait_for(sink.append_async(record, timeout=timeout), timeout + 1.0)
            return await asyncio.wait_for(asyncio.to_thread(sink.append, record, timeout=timeout), timeout)
        except RecordSinkError:
            raise
        except TimeoutError:
            raise RecordSinkError(
                f"the record was not acknowledged within {timeout} s (audit_timeout_seconds)"
            ) from None
        except Exception as exc:
            raise RecordSinkError(f"the record could not be written: {exc}") from exc

    def _checked(
        self,
        kind: EventKind,
        context: RecordingContext | None,
        opt_out: OptOut | None,
        produce_id: str,
        text: str | None,
    ) -> AuditRecord:
        record = self.build(kind=kind, context=context, opt_out=opt_out, produce_id=produce_id, text=text)
        try:
            record.validate()
        except ValueError as exc:
            raise RecordSinkError(f"the record cannot be written: {exc}") from exc
        return record

    def close(self) -> None:
        """
        Close the sink, if one was opened (bounded by the sink's own timeout). Idempotent.
        """
        with self._lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            sink.close()

    async def aclose(self) -> None:
        """
        Like :meth:`close`, awaited.

        .. versionadded:: 0.2.0
        """
        with self._lock:
            sink, self._sink = self._sink, None
        if isinstance(sink, AsyncRecordSink):
            await sink.aclose()
        elif sink is not None:
            import asyncio  # see record_async

            await asyncio.to_thread(sink.close)


def _weak_call(method: weakref.WeakMethod[Callable[[], None]]) -> Callable[[], None]:
    # An at-fork hook that does not keep its object alive.
    def call() -> None:
        bound = method()
        if bound is not None:
            bound()

    return call
