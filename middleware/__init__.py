"""
aigclabel.middleware — the request path: labeling transports and ``wrap(client)``.

>>> from aigclabel.middleware import wrap      # doctest: +SKIP
>>> client = wrap(openai.OpenAI(), labeler)    # same type; every completion is labeled

Depends on :mod:`aigclabel` (the core) only; adapters depend on it.
"""

from __future__ import annotations

from .common import Reasoning, UnlabelableResponseError, UpstreamStreamError
from .endpoints import Endpoint, RequestInfo
from .transport import transport_classes
from .wrap import wrap

__all__ = [
    "Endpoint",
    "Reasoning",
    "RequestInfo",
    "UnlabelableResponseError",
    "UpstreamStreamError",
    "transport_classes",
    "wrap",
]
