"""
aigclabel.adapters.asgi — the server side of a labeled chat front end (Starlette, FastAPI).

* :func:`sse_relay` relays a wrapped client's stream (or a plain stream of text, labeled
  here) to the browser as Server-Sent Events ``aigc``, ``delta``, ``done`` and ``error``,
  with the request's label context bound where the upstream request is sent;
* :class:`SQLiteConsentStore` and :func:`opt_out_for` keep each user's Art. 9 consent and
  turn it into an :class:`~aigclabel.OptOut` only under an agreement version the policy accepts;
* :func:`static_routes` serves the ``<aigc-disclosure>`` web component and its files;
* :func:`create_demo_app` is the app behind ``aigclabel demo --ui``.

Needs the ``web`` extra (``pip install 'aigc-label[web]'``); importing this package without
Starlette raises :class:`~aigclabel.exceptions.MissingDependencyError` (an ``ImportError``).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401  (checked here so the error names the extra)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without starlette
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError("starlette", "web") from exc

from .consent import (
    Consent,
    ConsentDecision,
    ConsentError,
    ConsentStore,
    ConsentStoreError,
    SQLiteConsentStore,
    decide_consent,
    opt_out_for,
)
from .demo import create_demo_app
from .relay import SSE_HEADERS, AIGCEventStream, OpenStream, UpstreamEventError, sse_event, sse_relay
from .routes import STATIC_PACKAGE, static_routes
from .standin import StandInModel

__all__ = [
    "SSE_HEADERS",
    "STATIC_PACKAGE",
    "AIGCEventStream",
    "Consent",
    "ConsentDecision",
    "ConsentError",
    "ConsentStore",
    "ConsentStoreError",
    "OpenStream",
    "SQLiteConsentStore",
    "StandInModel",
    "UpstreamEventError",
    "create_demo_app",
    "decide_consent",
    "opt_out_for",
    "sse_event",
    "sse_relay",
    "static_routes",
]
