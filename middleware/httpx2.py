"""
Labeling transports for ``httpx2`` (openai ≥ 3, anthropic ≥ 2 speak it): compose them like
any other transport.

>>> import httpx2                                                       # doctest: +SKIP
>>> from aigclabel.middleware.httpx2 import LabelingTransport
>>> http_client = httpx2.Client(transport=LabelingTransport(httpx2.HTTPTransport(), labeler))
>>> client = openai.OpenAI(http_client=http_client)

Each wraps an inner transport and delegates ``handle_request`` / ``handle_async_request``
to it; it owns no client state. What it labels, and how it fails closed, is described in
:mod:`aigclabel.middleware.transport`. For ``httpx`` use :mod:`aigclabel.middleware.httpx`.
Importing this module without ``httpx2`` installed raises
:class:`~aigclabel.MissingDependencyError`.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from aigclabel.exceptions import MissingDependencyError
from aigclabel.labeler import Labeler
from opentelemetry.trace import TracerProvider

from .common import Reasoning
from .transport import AsyncBody, AsyncLines, HTTPLib, Labeling, SyncBody, SyncLines, ahandle, handle

try:
    import httpx2
except ImportError as exc:
    # httpx2 comes with the openai (and anthropic) SDK: the [openai] extra installs both.
    raise MissingDependencyError("openai", "openai") from exc

__all__ = ["AsyncLabelingTransport", "LabelingTransport"]


class _SyncBody(SyncBody, httpx2.SyncByteStream):
    pass


class _AsyncBody(AsyncBody, httpx2.AsyncByteStream):
    pass


class _SyncLines(SyncLines, httpx2.SyncByteStream):
    pass


class _AsyncLines(AsyncLines, httpx2.AsyncByteStream):
    pass


_LIB = HTTPLib(
    name="httpx2",
    request=httpx2.Request,
    response=httpx2.Response,
    remote_protocol_error=httpx2.RemoteProtocolError,
    sync_body=_SyncBody,
    async_body=_AsyncBody,
    sync_lines=_SyncLines,
    async_lines=_AsyncLines,
)


class LabelingTransport(Labeling, httpx2.BaseTransport):
    """
    Wraps an ``httpx2`` transport; labels every generated text in its responses.

    Args:
        transport: the transport that sends requests (``httpx2.HTTPTransport()``, a mock…).
        labeler: labels each text.
        tracer_provider: OpenTelemetry provider for the per-call span (the global one by default).
        history_hygiene: drop this labeler's own marks from assistant turns sent upstream.
        reasoning: ``"label"`` reasoning text shown to users, or ``"pass"`` it through.
        close_transport: whether :meth:`close` closes *transport* too (``wrap()`` passes
            ``False`` for a transport it shares with another client).

    Raises:
        TypeError: *labeler* is not a :class:`~aigclabel.Labeler`.
        ValueError: *reasoning* is neither ``"label"`` nor ``"pass"``.

    .. versionadded:: 0.2.0
    """

    transport: httpx2.BaseTransport

    def __init__(
        self,
        transport: httpx2.BaseTransport,
        labeler: Labeler,
        *,
        tracer_provider: TracerProvider | None = None,
        history_hygiene: bool = True,
        reasoning: Reasoning = "label",
        close_transport: bool = True,
    ) -> None:
        self._setup(_LIB, transport, labeler, tracer_provider, history_hygiene, reasoning, close_transport)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """
        Send *request* through the wrapped transport; return the response, labeled.
        """
        response: httpx2.Response = handle(self._core, self.transport.handle_request, request)
        return response

    def close(self) -> None:
        """
        Close the wrapped transport (unless made with ``close_transport=False``).
        """
        if self._close_transport:
            self.transport.close()


class AsyncLabelingTransport(Labeling, httpx2.AsyncBaseTransport):
    """
    Wraps an ``httpx2`` async transport; labels every generated text in its responses.
    The arguments are those of :class:`LabelingTransport`.

    .. versionadded:: 0.2.0
    """

    transport: httpx2.AsyncBaseTransport

    def __init__(
        self,
        transport: httpx2.AsyncBaseTransport,
        labeler: Labeler,
        *,
        tracer_provider: TracerProvider | None = None,
        history_hygiene: bool = True,
        reasoning: Reasoning = "label",
        close_transport: bool = True,
    ) -> None:
        self._setup(_LIB, transport, labeler, tracer_provider, history_hygiene, reasoning, close_transport)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """
        Send *request* through the wrapped transport; return the response, labeled.
        """
        response: httpx2.Response = await ahandle(self._core, self.transport.handle_async_request, request)
        return response

    async def aclose(self) -> None:
        """
        Close the wrapped transport (unless made with ``close_transport=False``).
        """
        if self._close_transport:
            await self.transport.aclose()
