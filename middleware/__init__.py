"""
aigclabel.middleware — the request path: labeling transports and ``wrap(client)``.

>>> from aigclabel.middleware import aigc_info, wrap                  # doctest: +SKIP
>>> client = wrap(openai.OpenAI(), labeler)    # same type; every completion is labeled
>>> aigc_info(client.chat.completions.create(...))                    # the label data, typed

The transports themselves are public and composable, one module per HTTP library (imported
on demand, so neither library is loaded by this package):
``aigclabel.middleware.httpx.LabelingTransport`` / ``AsyncLabelingTransport`` and the same
in ``aigclabel.middleware.httpx2``.

Depends on :mod:`aigclabel` (the core) only; adapters depend on it.
"""

from __future__ import annotations

from .common import AlreadyWrappedError, Reasoning, UnlabelableResponseError, UpstreamStreamError
from .endpoints import Endpoint, RequestInfo
from .info import AIGCInfo, AIGCItem, aigc_info
from .wrap import transport_classes, wrap

__all__ = [
    "AIGCInfo",
    "AIGCItem",
    "AlreadyWrappedError",
    "Endpoint",
    "Reasoning",
    "RequestInfo",
    "UnlabelableResponseError",
    "UpstreamStreamError",
    "aigc_info",
    "transport_classes",
    "wrap",
]
