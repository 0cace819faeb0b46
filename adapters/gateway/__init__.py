"""
The labeling gateway: an OpenAI- and Anthropic-compatible proxy that labels every response.

Services in any language change one base URL and get labeled responses (the ``aigc`` body field
and the ``AIGC`` header on JSON bodies, in-band labels in streams):

>>> from aigclabel.adapters.gateway import GatewayConfig, create_gateway_app   # doctest: +SKIP
>>> config = GatewayConfig.load("policy.toml", upstream="https://api.openai.com")  # doctest: +SKIP
>>> app = create_gateway_app(config)          # a Starlette app; or run `aigclabel serve`

The rewriting is the middleware's (:class:`~aigclabel.middleware.httpx.AsyncLabelingTransport`);
this package adds the edge: identity and tenants (:mod:`.config`), the relay (:mod:`.app`,
:mod:`.proxy`), metrics (:mod:`.metrics`), the access log (:mod:`.access_log`) and the server
(:mod:`.server`). Needs the ``gateway`` extra.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

try:  # checked here so the error names the extra
    import opentelemetry.exporter.prometheus  # noqa: F401
    import starlette  # noqa: F401
    import structlog  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError(exc.name or "uvicorn", "gateway") from exc

from .app import StreamAborted, create_gateway_app
from .config import GatewayConfig, GatewayConfigError, Tenant
from .metrics import GatewayMetrics
from .server import serve, uvicorn_options

__all__ = [
    "GatewayConfig",
    "GatewayConfigError",
    "GatewayMetrics",
    "StreamAborted",
    "Tenant",
    "create_gateway_app",
    "serve",
    "uvicorn_options",
]
