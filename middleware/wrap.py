"""
``wrap(client, labeler)``: label every completion an existing client returns.

``wrap()`` is sugar over the public transports (:mod:`aigclabel.middleware.httpx`,
:mod:`aigclabel.middleware.httpx2`). It never changes what another holder of a shared HTTP
client gets:

* An SDK client (openai, anthropic) gets **its own copy** of its HTTP client, whose
  transports label; the HTTP client it was given — which other SDK clients may share, as
  langchain-openai's default client per base URL is shared by every ``ChatOpenAI`` — is left
  as it was, so a client that was never wrapped stays unlabeled. The copy shares the
  original's connection pool and settings; closing the copy does not close that pool (its
  owner, the original HTTP client, does).
* An ``httpx`` / ``httpx2`` client passed directly is the client asked for: its transports
  are wrapped in place.
* An HTTP client that already labels with the same labeler is left alone (wrapping twice is
  a no-op); one that labels with a **different** labeler raises
  :class:`~aigclabel.middleware.AlreadyWrappedError` instead of silently switching keys.
"""

from __future__ import annotations

import copy
import importlib
import sys
import types
import weakref
from typing import Any, TypeVar

from aigclabel.labeler import Labeler
from opentelemetry.trace import TracerProvider

from .common import AlreadyWrappedError, Reasoning
from .transport import Labeling

__all__ = ["transport_classes", "wrap"]

C = TypeVar("C")

#: HTTP client copy -> the shared original, kept alive while the copy lives: an original that
#: closes itself when collected (openai's and langchain-openai's default clients do) would
#: otherwise close the connection pool the copy still uses.
_ORIGINS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

_LIBS = ("httpx", "httpx2")


def wrap(
    client: C,
    labeler: Labeler,
    *,
    tracer_provider: TracerProvider | None = None,
    history_hygiene: bool = True,
    reasoning: Reasoning = "label",
) -> C:
    """
    Make *client* label every generated text it returns; return the same client.

    Works for ``openai.OpenAI`` / ``AsyncOpenAI``, ``anthropic.Anthropic`` /
    ``AsyncAnthropic`` and ``httpx`` / ``httpx2`` ``Client`` / ``AsyncClient`` pointed at
    any OpenAI-compatible server. The HTTP client's own transport (and any mounted ones) is
    wrapped in a labeling transport, so plain calls, ``stream=True``,
    ``with_raw_response``, ``with_streaming_response``, ``with_options()`` copies made
    afterwards and the SDKs' stream helpers all return labeled content with the SDK's own
    types. An SDK client gets its own copy of its HTTP client: other clients sharing that
    HTTP client are not changed (see the module docstring). Wrapping twice with the same
    labeler is a no-op.

    Args:
        client: the client to label; it is modified in place and returned.
        labeler: labels each text.
        tracer_provider: OpenTelemetry provider for the per-call span (the global one by default).
        history_hygiene: drop this labeler's own invisible marks from assistant turns sent
            back upstream (about 40 tokens a packet); responses are always labeled.
        reasoning: reasoning text shown to users (chat ``reasoning_content`` / ``reasoning``,
            Responses reasoning summaries and ``reasoning_text``): ``"label"`` it as its own
            labeled text with its own ``aigc`` item (the default), or ``"pass"`` it through
            unchanged; the span's ``aigc.reasoning`` says which happened. Anthropic
            ``thinking`` blocks always pass through: their signature covers the text.

    Raises:
        AlreadyWrappedError: *client*'s HTTP client already labels with another labeler.
        TypeError: *client* is none of the supported types.
        ValueError: *reasoning* is neither ``"label"`` nor ``"pass"``.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *reasoning*; 2xx bodies are labeled whatever their Content-Type, or refused with
       :class:`~aigclabel.middleware.UnlabelableResponseError`; Batch output is labeled.
       An SDK client gets its own copy of its HTTP client; a different labeler raises
       :class:`~aigclabel.middleware.AlreadyWrappedError`.
    """
    if reasoning not in ("label", "pass"):
        raise ValueError(f"reasoning must be 'label' or 'pass', not {reasoning!r}")
    http, owner, lib, is_async = _http_client(client)
    current = http._transport
    mounts: dict[Any, Any] = dict(getattr(http, "_mounts", None) or {})
    transports = [current, *(t for t in mounts.values() if t is not None)]
    for transport in transports:
        if isinstance(transport, Labeling) and transport.labeler is not labeler:
            raise AlreadyWrappedError(type(client).__qualname__, labeler, transport.labeler)
    if all(isinstance(t, Labeling) for t in transports):
        return client  # already labels with this labeler
    module = importlib.import_module(f"aigclabel.middleware.{lib}")
    cls = module.AsyncLabelingTransport if is_async else module.LabelingTransport
    target = http
    if owner is not None:
        # The HTTP client may be shared: label a copy that only this SDK client uses.
        target = copy.copy(http)
        _ORIGINS[target] = http
        owner._client = target

    def labeling(transport: Any) -> Any:
        if transport is None or isinstance(transport, Labeling):
            return transport
        return cls(
            transport,
            labeler,
            tracer_provider=tracer_provider,
            history_hygiene=history_hygiene,
            reasoning=reasoning,
            close_transport=owner is None,
        )

    target._transport = labeling(current)
    if mounts:
        target._mounts = {pattern: labeling(mounted) for pattern, mounted in mounts.items()}
    return client


def _http_client(client: Any) -> tuple[Any, Any, str, bool]:
    """
    ``(HTTP client, SDK client that holds it or None, library name, is async)``: the client
    itself when it is an HTTP client, else the ``_client`` an openai / anthropic client keeps.
    """
    for name in _LIBS:
        lib = sys.modules.get(name)  # a client of a library that was never imported cannot exist
        if lib is None:
            continue
        for obj, owner in ((client, None), (getattr(client, "_client", None), client)):
            if isinstance(obj, lib.Client):
                return obj, owner, name, False
            if isinstance(obj, lib.AsyncClient):
                return obj, owner, name, True
    raise TypeError(
        f"wrap() supports openai, anthropic and httpx/httpx2 clients, not {type(client).__qualname__}; "
        "for other code, label text directly with Labeler.label() or Labeler.stream()"
    )


def transport_classes(lib: types.ModuleType) -> tuple[type, type]:
    """
    ``(LabelingTransport, AsyncLabelingTransport)`` for the ``httpx`` or ``httpx2`` module.

    .. deprecated:: 0.2.0
       Import the classes: ``from aigclabel.middleware.httpx2 import LabelingTransport``.
    """
    if lib.__name__ not in _LIBS:
        raise TypeError(f"labeling transports exist for httpx and httpx2, not {lib.__name__}")
    module = importlib.import_module(f"aigclabel.middleware.{lib.__name__}")
    return module.LabelingTransport, module.AsyncLabelingTransport
