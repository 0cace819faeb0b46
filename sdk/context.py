"""
Per-request context: who receives the content, in which conversation, with which Art. 9 opt-out.

Two bindings, both in :mod:`contextvars` (so each thread and each asyncio task sees its own):

* :func:`request_context` binds facts **for every labeler** (a web framework's middleware
  or dependency binds it once per request);
* :meth:`Labeler.context() <aigclabel.Labeler.context>` binds them **for one labeler**
  (two tenants' labelers in one request do not see each other's opt-out).

A labeler reads its own binding first, then the request's (:meth:`Labeler.current_context`).
A binding lasts while its ``with`` block runs: a streamed web response that is iterated after
the handler returned must be produced inside the block (bind it in the code that iterates, or
pass ``context=`` explicitly).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from .exceptions import PolicyError
from .explicit import Language
from .optout import OptOut

__all__ = ["LabelContext", "current_context", "request_context"]


@dataclass(frozen=True, slots=True)
class LabelContext:
    """
    Per-request facts: who receives the content and in which conversation.

    Attributes:
        user: the recipient's user id, as the integrator knows it.
        conversation: conversation or session id.
        request_id: the integrator's request id.
        opt_out: an Art. 9 request (:class:`~aigclabel.OptOut`) for content without the
            visible label; honoured only with an accepted agreement version and a record
            store, and recorded before any unlabeled text is released.
        model: the model that generated the content (recorded with an opt-out).
        language: the language of the labels and the interface tag for this request
            (``"zh"`` or ``"en"``: the product's interface language), instead of the one
            read from the text; a stream with a known language holds nothing back.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *language*.
    """

    user: str | None = None
    conversation: str | None = None
    request_id: str | None = None
    opt_out: OptOut | None = None
    model: str | None = None
    language: Language | None = None

    def __post_init__(self) -> None:
        if self.language not in (None, "zh", "en"):
            raise PolicyError(f"LabelContext.language must be 'zh', 'en' or None, not {self.language!r}")


_REQUEST: contextvars.ContextVar[LabelContext | None] = contextvars.ContextVar(
    "aigclabel_request_context", default=None
)
# One variable for every labeler's own binding: an immutable mapping from the labeler's
# binding key to its context (a ContextVar per labeler would never be freed).
_EMPTY: Mapping[object, LabelContext] = MappingProxyType({})
_PER_LABELER: contextvars.ContextVar[Mapping[object, LabelContext]] = contextvars.ContextVar(
    "aigclabel_labeler_contexts", default=_EMPTY
)


@contextmanager
def request_context(
    *,
    user: str | None = None,
    conversation: str | None = None,
    request_id: str | None = None,
    opt_out: OptOut | None = None,
    model: str | None = None,
    language: Language | None = None,
) -> Iterator[LabelContext]:
    """
    Bind per-request facts for **every** labeler inside the ``with`` block.

    .. versionadded:: 0.2.0
    """
    ctx = LabelContext(
        user=user,
        conversation=conversation,
        request_id=request_id,
        opt_out=opt_out,
        model=model,
        language=language,
    )
    token = _REQUEST.set(ctx)
    try:
        yield ctx
    finally:
        _REQUEST.reset(token)


def current_context() -> LabelContext | None:
    """
    The context bound by :func:`request_context` here, or ``None``.

    .. versionadded:: 0.2.0
    """
    return _REQUEST.get()


@contextmanager
def bind_for(owner: object, ctx: LabelContext) -> Iterator[LabelContext]:
    """
    Bind *ctx* for the labeler whose binding key is *owner* (see :meth:`Labeler.context`).
    """
    bound = dict(_PER_LABELER.get())
    bound[owner] = ctx
    token = _PER_LABELER.set(MappingProxyType(bound))
    try:
        yield ctx
    finally:
        _PER_LABELER.reset(token)


def bound_for(owner: object) -> LabelContext | None:
    """
    The context bound for *owner*, else the request's, else ``None``.
    """
    own = _PER_LABELER.get().get(owner)
    return own if own is not None else _REQUEST.get()
