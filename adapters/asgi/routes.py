"""
Serve the package's static files (the ``<aigc-disclosure>`` web component, the demo page).

:func:`static_routes` returns a Starlette ``Mount`` that serves the files of this package's
``static`` folder, read with :mod:`importlib.resources` (so it works from a wheel, a zip or
an editable install), with explicit content types (``text/javascript; charset=utf-8`` for
ES modules, whatever the platform's ``mimetypes`` table says), an ``ETag`` and
``Cache-Control: no-cache`` by default (the browser revalidates and gets ``304`` until the
package is upgraded). Only plain file names directly in the folder are served.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

__all__ = ["CONTENT_TYPES", "STATIC_PACKAGE", "read_static", "static_response", "static_routes"]

#: The package whose ``static`` folder is served.
STATIC_PACKAGE: Final = "aigclabel.adapters.asgi"

#: Content type by file suffix; other suffixes are not served.
CONTENT_TYPES: Final[dict[str, str]] = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _folder(directory: str | Path | Traversable | None) -> Traversable:
    if directory is None:
        return resources.files(STATIC_PACKAGE).joinpath("static")
    return Path(directory) if isinstance(directory, str) else directory


def read_static(name: str, directory: str | Path | Traversable | None = None) -> bytes | None:
    """
    The bytes of static file *name*, or ``None`` if it is not a servable file.

    Args:
        name: a plain file name (no folders) with a suffix in :data:`CONTENT_TYPES`.
        directory: the folder to read (default: this package's ``static`` folder).
    """
    if not _NAME.fullmatch(name) or ".." in name or Path(name).suffix not in CONTENT_TYPES:
        return None
    entry = _folder(directory).joinpath(name)
    if not entry.is_file():
        return None
    return entry.read_bytes()


def static_response(
    request: Request,
    name: str,
    *,
    directory: str | Path | Traversable | None = None,
    cache_control: str = "no-cache",
) -> Response:
    """
    The response for static file *name*: ``200`` with content type, ``ETag`` and
    ``Cache-Control``, ``304`` when ``If-None-Match`` matches, ``404`` otherwise.
    """
    data = read_static(name, directory)
    if data is None:
        return PlainTextResponse(f"not found: {name}", status_code=404)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(data, headers={**headers, "Content-Type": CONTENT_TYPES[Path(name).suffix]})


def static_routes(
    prefix: str = "/static/aigc",
    *,
    directory: str | Path | Traversable | None = None,
    cache_control: str = "no-cache",
    name: str = "aigc-static",
) -> Mount:
    """
    A ``Mount`` serving the static files at ``<prefix>/<file>`` (``GET`` and ``HEAD``).

    >>> app = Starlette(routes=[static_routes()])        # doctest: +SKIP
    >>> # <script type="module" src="/static/aigc/aigc-disclosure.js"></script>

    Args:
        prefix: the URL path the files are served under (starts with ``/``, no trailing ``/``).
        directory: serve this folder instead of the package's (for your own page files).
        cache_control: the ``Cache-Control`` value (``"public, max-age=31536000, immutable"``
            when your URLs carry a version).
        name: the name of the ``Mount``.

    Raises:
        ValueError: *prefix* does not start with ``/`` or ends with ``/``.

    .. versionadded:: 0.3.0
    """
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"prefix must start with '/' and not end with '/': {prefix!r}")

    async def serve(request: Request) -> Response:
        return static_response(
            request, request.path_params["path"], directory=directory, cache_control=cache_control
        )

    return Mount(prefix, routes=[Route("/{path:path}", serve, methods=["GET", "HEAD"])], name=name)
