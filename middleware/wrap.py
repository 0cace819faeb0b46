"""
``wrap(client, labeler)``: label every completion an existing client returns.
"""

from __future__ import annotations

import importlib
import types
from typing import Any, TypeVar

from aigclabel.labeler import Labeler
from opentelemetry.trace import TracerProvider

from .common import Reasoning
from .transport import transport_classes

__all__ = ["wrap"]

C = TypeVar("C")


def _http_libs() -> list[types.ModuleType]:
    libs = []
    for name in ("httpx", "httpx2"):
        try:
            libs.append(importlib.import_module(name))
        except ImportError:
            continue
    return libs


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
    any OpenAI-compatible server. The client's own transport (and any mounted ones) is
    wrapped in a labeling transport, so plain calls, ``stream=True``,
    ``with_raw_response``, ``with_streaming_response``, ``with_options()`` copies and the
    SDKs' stream helpers all return labeled content with the SDK's own types. Wrapping
    twice is a no-op.

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
        TypeError: *client* is none of the supported types.
        ValueError: *reasoning* is neither ``"label"`` nor ``"pass"``.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *reasoning*; 2xx bodies are labeled whatever their Content-Type, or refused with
       :class:`~aigclabel.middleware.UnlabelableResponseError`; Batch output is labeled.
    """
    lib, is_async, target = _http_client(client)
    sync_cls, async_cls = transport_classes(lib)
    cls = async_cls if is_async else sync_cls
    current = target._transport
    if not isinstance(current, cls):
        target._transport = cls(
            current,
            labeler,
            tracer_provider=tracer_provider,
            history_hygiene=history_hygiene,
            reasoning=reasoning,
        )
    mounts = getattr(target, "_mounts", None)
    if isinstance(mounts, dict):
        for pattern, mounted in list(mounts.items()):
            if mounted is not None and not isinstance(mounted, cls):
                mounts[pattern] = cls(
                    mounted,
                    labeler,
                    tracer_provider=tracer_provider,
                    history_hygiene=history_hygiene,
                    reasoning=reasoning,
                )
    return client


def _http_client(client: Any) -> tuple[types.ModuleType, bool, Any]:
    """
    The HTTP library, whether it is async, and the HTTP client object to wrap: the client
    itself, or the ``_client`` an openai / anthropic client keeps.
    """
    candidates = [client, getattr(client, "_client", None)]
    for lib in _http_libs():
        for obj in candidates:
            if isinstance(obj, lib.Client):
                return lib, False, obj
            if isinstance(obj, lib.AsyncClient):
                return lib, True, obj
    raise TypeError(
        f"wrap() supports openai, anthropic and httpx/httpx2 clients, not {type(client).__qualname__}; "
        "for other code, label text directly with Labeler.label() or Labeler.stream()"
    )
