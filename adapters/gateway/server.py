"""
Running the gateway: uvicorn, one or N worker processes, graceful shutdown.

:func:`serve` binds the listening socket itself (so ``port=0`` picks a free port, with any number
of workers), prints ``serving on http://HOST:PORT/`` once the server accepts connections, and
runs uvicorn with uvloop and httptools when they are importable (the ``gateway`` extra installs
both; otherwise asyncio and h11).

**Shutdown.** On SIGTERM or SIGINT uvicorn stops accepting, closes idle keep-alive
connections, and lets in-flight requests — streams included — finish for up to
``GatewayConfig.shutdown_timeout`` seconds before cancelling them; then the app's lifespan closes
the upstream clients. With ``workers > 1`` the parent forwards the signal to every worker.

**Workers.** Each worker process builds its own app (its own upstream clients, labelers and
metrics) from the same files: the load arguments travel in the :data:`SETTINGS_VARIABLE`
environment variable, as JSON.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

import uvicorn
from starlette.applications import Starlette

from .app import StreamAborted, create_gateway_app
from .config import GatewayConfig

__all__ = ["SETTINGS_VARIABLE", "app_from_environment", "serve", "uvicorn_options"]

#: The environment variable that hands the load arguments to worker processes.
SETTINGS_VARIABLE = "AIGC_GATEWAY_SETTINGS"


def uvicorn_options(config: GatewayConfig) -> dict[str, Any]:
    """
    The uvicorn settings the gateway runs with (for embedding it in your own uvicorn server).
    """
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "lifespan": "on",
        "log_level": "warning",
        "access_log": False,  # the gateway writes its own (structlog) access log
        "server_header": False,  # the upstream's headers pass through
        "date_header": False,
        "timeout_graceful_shutdown": config.shutdown_timeout,
        "timeout_keep_alive": 75,  # above common load balancers' idle timeouts (60 s)
    }


def app_from_environment() -> Starlette:
    """
    The app factory the workers call: loads the configuration :data:`SETTINGS_VARIABLE` names.

    Raises:
        GatewayConfigError: the variable is missing or the files cannot be loaded.
    """
    from .config import GatewayConfigError

    raw = os.environ.get(SETTINGS_VARIABLE)
    if not raw:
        raise GatewayConfigError(f"{SETTINGS_VARIABLE} is not set")
    args = json.loads(raw)
    _quiet_aborts()  # each worker configures logging anew
    return create_gateway_app(GatewayConfig.load(**args))


def _is_not_an_abort(record: logging.LogRecord) -> bool:
    """
    A log filter: drop uvicorn's "Exception in ASGI application" for an upstream stream that
    broke (the access log records it as ``error="stream"``; a traceback would be noise).
    """
    return not (record.exc_info and isinstance(record.exc_info[1], StreamAborted))


def _quiet_aborts() -> None:
    logging.getLogger("uvicorn.error").addFilter(_is_not_an_abort)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, banner: str, out: TextIO) -> None:
        super().__init__(config)
        self._banner = banner
        self._out = out

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own version re-raises the signal after a graceful shutdown, so the process
        # would die of SIGTERM; a finished graceful shutdown is a success: exit 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._out.write(self._banner)
            self._out.flush()


def _bind(host: str, port: int, send_buffer: int | None) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:  # accepted connections inherit it (Linux, BSDs, macOS)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    load_args: dict[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    workers: int = 1,
    stdout: TextIO | None = None,
) -> int:
    """
    Serve the gateway until SIGTERM or SIGINT; return the exit code (0 after a clean shutdown).

    Args:
        load_args: keyword arguments of :meth:`GatewayConfig.load` (JSON-serialisable).
        host: the address to bind (any; ``127.0.0.1`` by default).
        port: the port, ``0`` for a free one.
        workers: worker processes (1: serve in this process).
        stdout: where the ``serving on`` line goes.

    Raises:
        GatewayConfigError: the configuration cannot be loaded (checked before binding).
        OSError: the address cannot be bound.
    """
    out = stdout or sys.stdout
    config = GatewayConfig.load(**load_args)  # fail before binding, in the parent
    options = uvicorn_options(config)
    sock = _bind(host, port, config.send_buffer_bytes)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    banner = f"serving on http://{shown}:{bound_port}/\n"
    if workers <= 1:
        app = create_gateway_app(config)
        server = _Server(uvicorn.Config(app, **options), banner, out)
        _quiet_aborts()  # after uvicorn.Config, which configures logging
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
        return 0 if server.started else 1
    from uvicorn.supervisors import Multiprocess

    os.environ[SETTINGS_VARIABLE] = json.dumps(load_args)
    uconfig = uvicorn.Config(
        "aigclabel.adapters.gateway.server:app_from_environment", factory=True, workers=workers, **options
    )
    out.write(banner)
    out.flush()
    try:
        Multiprocess(uconfig, sockets=[sock]).run()
    finally:
        sock.close()
    return 0
