"""
The Art. 9 decision and its record: whether an opt-out may be honoured, and writing the
record (store first, then the mirrors) before any unlabeled text is released.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from typing import TYPE_CHECKING

from ..marks.alphabet import ANY_MARK_CHAR
from ..optout import OptOut

if TYPE_CHECKING:
    from ..labeler import LabelContext
    from ..policy import LabelPolicy
    from .mirror import JsonLinesMirror
    from .records import AuditRecord, EventKind
    from .store import AuditStore

__all__ = ["Recorder", "content_sha256"]

log = logging.getLogger("aigclabel.audit")


def content_sha256(text: str) -> str:
    """
    Hex SHA-256 of the NFC visible text (invisible marks removed) a record refers to.
    """
    visible = unicodedata.normalize("NFC", ANY_MARK_CHAR.sub("", text))
    return hashlib.sha256(visible.encode("utf-8", "surrogatepass")).hexdigest()


class Recorder:
    """
    Holds a labeler's record store (opened on first use) and mirrors.
    """

    def __init__(self, policy: LabelPolicy) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        self._store: AuditStore | None = None
        self._mirror: JsonLinesMirror | None = None

    def decide(self, context: LabelContext) -> tuple[OptOut | None, str | None]:
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
        if policy.audit_store is None:
            return None, (
                "no record store is configured (audit_store): Art. 9 requires a record of who received "
                "content without the visible label, kept at least six months"
            )
        return opt_out, None

    def store(self) -> AuditStore:
        with self._lock:
            if self._store is None:
                from .store import AuditStore

                policy = self.policy
                assert policy.audit_store is not None
                key = policy.audit_chain_key.get_secret_value().encode() if policy.audit_chain_key else None
                self._store = AuditStore.open(
                    policy.audit_store, chain_key=key, retention_days=policy.audit_retention_days
                )
                if policy.audit_log_dir:
                    from .mirror import JsonLinesMirror

                    self._mirror = JsonLinesMirror(policy.audit_log_dir)
            return self._store

    def record(
        self,
        *,
        kind: EventKind,
        context: LabelContext | None,
        opt_out: OptOut | None,
        produce_id: str,
        text: str | None,
    ) -> AuditRecord:
        """
        Durably append one record, then mirror it. Raises what the store raises.
        """
        from .mirror import emit_otel_event
        from .records import AuditRecord

        policy = self.policy
        user = opt_out.user if opt_out is not None else (context.user if context is not None else None)
        record = AuditRecord(
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
        stored = self.store().append(record)
        if self._mirror is not None:
            try:
                self._mirror.write(stored)
            except OSError:  # the store holds the record; a mirror failure must not undo it
                log.exception("aigc-label: the JSON-lines audit mirror could not be written")
        emit_otel_event(stored)
        return stored

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._mirror is not None:
                self._mirror.close()
                self._mirror = None
