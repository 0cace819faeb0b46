"""
Art. 9 opt-out: a user's request for content without the visible label.

The provider may honour it only after the user agreement states the user's labeling
duty (the policy lists the accepted agreement versions), and must keep a record of who
received the content for at least six months. Only the explicit label is waived: the
implicit label (metadata and in-text marks) stays.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OptOut"]


@dataclass(frozen=True, slots=True)
class OptOut:
    """
    One recipient's request for content without the visible label.

    Attributes:
        user: the recipient's user id (required: the record says who received the content).
        agreement_version: the version of the user agreement the user accepted; it must be
            one of ``LabelPolicy.opt_out_agreements``.
        reason: why the user asked (free text, recorded).
        account: the integrator's account id for the user, if different from ``user``.
        ip: the recipient's IP address, when the integrator records it.
        client: the client application or device, when known.

    .. versionadded:: 0.1.0
    """

    user: str
    agreement_version: str
    reason: str | None = None
    account: str | None = None
    ip: str | None = None
    client: str | None = None
