"""
The gateway's access log: one structlog event per request, as JSON lines.

Each event (``gateway.request``) has ``method``, ``path`` (without the query, which may carry
secrets), ``status``, ``tenant``, ``user``, ``duration_ms`` (to the last byte of a stream),
``labeled``, ``opted_out``, and ``error`` when the upstream failed. Keys, bearer tokens and
bodies are never logged.

The logger is built here, not through ``structlog.configure()``: the gateway never changes an
application's global logging configuration. Pass your own bound logger to
:func:`~aigclabel.adapters.gateway.create_gateway_app` to route the events elsewhere.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

__all__ = ["EVENT", "access_logger"]

#: The event name of an access-log entry.
EVENT = "gateway.request"


def access_logger(stream: TextIO | None = None, *, level: int = logging.INFO) -> Any:
    """
    A structlog logger writing one JSON object a line (UTC ISO timestamps) to *stream*
    (standard error by default), dropping events below *level*.
    """
    return structlog.wrap_logger(
        structlog.PrintLogger(stream or sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
