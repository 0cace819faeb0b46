"""
``wrap(client, labeler)``: label every completion an existing client returns.
"""

from __future__ import annotations

import importlib
import types
from typing import Any, TypeVar

from aigclabel.labeler import Labeler
from opentelemetry.trace import TracerProvider

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

    Raises:
        TypeError: *client* is none of the supported types.

    .. versionadded:: 0.1.0
    """
    lib, is_async, target = _http_client(client)
    sync_cls, async_cls = transport_classes(lib)
    cls = async_cls if is_async else sync_cls
    current = target._transport
    if not isinstance(current, cls):
        target._transport = cls(
            current, labeler, tracer_provider=tracer_provider, history_hygiene=history_hygiene
        )
    mounts = getattr(target, "_mounts", None)
    if isinstance(mounts, dict):
        for pattern, mounted in list(mounts.items()):
            if mounted is not None and not isinstance(mounted, cls):
                mounts[pattern] = cls(
                    mounted, labeler, tracer_provider=tracer_provider, history_hygiene=history_hygiene
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
