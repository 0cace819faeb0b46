"""
The app behind ``aigclabel demo --ui``: a labeled chat page, consent, export and verify.

Routes (bound to loopback by the command line; there is no authentication):

=========================  =====================================================================
``GET /``                  the chat page (``static/demo.html``)
``GET /static/aigc/<f>``   the package's static files (:func:`~.routes.static_routes`)
``POST /api/chat``         ``{"messages", "user", "language"}`` → the SSE relay (:func:`~.relay.sse_relay`)
``GET /api/consent``       ``?user=U`` → ``{"user", "opted_out", "agreement_version"}``
``POST /api/consent``      ``{"user", "opted_out", "agreement_version"}`` → the same shape
``POST /api/export``       ``{"messages", "format": "docx"|"md"}`` → the file, both labels
``POST /api/verify``       multipart ``file`` or ``{"text"}`` → the verdict as JSON
``GET /api/records``       ``?user=U`` → that user's Art. 9 records (JSON list)
=========================  =====================================================================

The model is a wrapped ``openai.AsyncOpenAI`` client: the real endpoint when
``OPENAI_BASE_URL`` is set (key from ``OPENAI_API_KEY``, model from ``OPENAI_MODEL``),
otherwise the in-process :class:`~.standin.StandInModel`. Each app has its own random HMAC key
and audit-chain key, an audit store and a consent store in a temporary folder (removed at
shutdown), and accepts opt-outs under agreement version ``demo-v1``.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import sys
import tempfile
import threading
import webbrowser
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import quote

import anyio
from aigclabel.context import LabelContext
from aigclabel.exceptions import AIGCLabelError, MissingDependencyError
from aigclabel.labeler import Labeler
from aigclabel.policy import LabelPolicy
from aigclabel.verification import verify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .consent import ConsentError, ConsentStore, SQLiteConsentStore, decide_consent
from .relay import sse_relay
from .routes import static_response, static_routes
from .standin import STAND_IN_URL, StandInModel

__all__ = ["DEMO_AGREEMENT", "DemoError", "DemoState", "close_demo", "create_demo_app", "serve_demo"]

#: The user-agreement version the demo accepts opt-outs under.
DEMO_AGREEMENT = "demo-v1"

_MAX_MESSAGES = 100
_MAX_CHARS = 200_000
_MAX_UPLOAD = 20 * 1024 * 1024
_SYSTEM = {"zh": "请用中文回答。", "en": "Please answer in English."}


class _BadRequest(Exception):
    pass


@dataclass(slots=True)
class DemoState:
    """
    What a demo app holds (``app.state.demo``): read by tests and by the command line.

    Attributes:
        labeler: the labeler of the wrapped client.
        key: this run's random HMAC key (verify the streamed text with it).
        policy: the demo policy.
        consent: the consent store.
        model: the stand-in model, or ``None`` when a real endpoint is used.
        where: a description of the model endpoint.
        data_dir: the folder holding the audit and consent stores.
    """

    labeler: Labeler
    key: str
    policy: LabelPolicy
    consent: ConsentStore
    model: StandInModel | None
    where: str
    data_dir: Path
    client: Any
    model_name: str
    audit: Any


def _json_error(status: int, message: str, kind: str = "BadRequest") -> JSONResponse:
    return JSONResponse({"type": kind, "message": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _messages(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _BadRequest("messages must be a non-empty list of {role, content}")
    if len(value) > _MAX_MESSAGES:
        raise _BadRequest(f"at most {_MAX_MESSAGES} messages")
    out: list[dict[str, str]] = []
    total = 0
    for i, m in enumerate(value):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant", "system"):
            raise _BadRequest(f"messages[{i}] needs a role of user, assistant or system")
        content = m.get("content")
        if not isinstance(content, str):
            raise _BadRequest(f"messages[{i}].content must be a string")
        total += len(content)
        out.append({"role": m["role"], "content": content})
    if total > _MAX_CHARS:
        raise _BadRequest(f"the messages hold {total} characters; the limit is {_MAX_CHARS}")
    return out


def _user(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise _BadRequest("user must be a non-empty string of at most 256 characters")
    return value


def _language(value: object) -> Literal["zh", "en"] | None:
    if value == "zh":
        return "zh"
    if value == "en":
        return "en"
    if value is None:
        return None
    raise _BadRequest(f"language must be 'zh', 'en' or null, not {value!r}")


def _label_context(
    user: str, state: DemoState, language: Literal["zh", "en"] | None
) -> tuple[LabelContext, str | None]:
    decision = decide_consent(user, state.consent, state.policy)
    context = LabelContext(user=user, opt_out=decision.opt_out, model=state.model_name, language=language)
    return context, decision.reason


def _open_client(labeler: Labeler, model: StandInModel | None, use_env: bool) -> tuple[Any, str, str]:
    try:
        import httpx2
        import openai
    except ImportError as exc:
        raise MissingDependencyError("openai", "openai") from exc
    from aigclabel.middleware import wrap

    model_name = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    if use_env and os.environ.get("OPENAI_BASE_URL"):
        # A local OpenAI-compatible server (vLLM, Ollama) usually needs no key.
        client = openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "not-needed")
        where = f"the endpoint at {client.base_url}"
    else:
        assert model is not None
        client = openai.AsyncOpenAI(
            api_key="offline",
            base_url=STAND_IN_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=model.transport()),
        )
        where = "an embedded stand-in model (offline)"
        model_name = "stand-in"
    return wrap(client, labeler), where, model_name


def create_demo_app(
    *,
    chunk_delay: float = 0.03,
    model: StandInModel | None = None,
    data_dir: str | Path | None = None,
    use_env: bool = True,
    ping_seconds: float | None = 15.0,
) -> Starlette:
    """
    Build the demo app (see the module docstring for the routes).

    Args:
        chunk_delay: seconds between the stand-in model's chunks.
        model: the stand-in model to use (default: a new one with *chunk_delay*).
        data_dir: where the audit and consent stores live (default: a temporary folder
            removed at shutdown).
        use_env: use the real endpoint when ``OPENAI_BASE_URL`` is set.
        ping_seconds: the relay's keep-alive interval.

    Returns:
        A Starlette app; ``app.state.demo`` is its :class:`DemoState`.

    Raises:
        MissingDependencyError: ``openai`` (the ``openai`` extra) or SQLAlchemy (``audit``)
            is not installed.

    .. versionadded:: 0.3.0
    """
    from aigclabel.adapters.audit import open_record_sink
    from aigclabel.adapters.cli import DEMO_PRODUCER

    tmp = tempfile.TemporaryDirectory(prefix="aigclabel-demo-") if data_dir is None else None
    folder = Path(tmp.name if tmp is not None else data_dir)  # type: ignore[arg-type]
    # Fresh random keys each run: a key printed in code or docs authenticates nothing.
    key = secrets.token_hex(32)
    policy = LabelPolicy(
        producer=DEMO_PRODUCER,
        key=key,
        audit_store=f"sqlite:///{folder / 'audit.db'}",
        opt_out_agreements=(DEMO_AGREEMENT,),
        audit_chain_key=secrets.token_hex(32),
    )
    audit = open_record_sink(policy)
    labeler = Labeler(policy, sink=audit)
    model = model if model is not None else StandInModel(delay=chunk_delay)
    client, where, model_name = _open_client(labeler, model, use_env)
    consent = SQLiteConsentStore(folder / "consent.db", accepted_versions=policy.opt_out_agreements)
    state = DemoState(
        labeler,
        key,
        policy,
        consent,
        model if "stand-in" in where else None,
        where,
        folder,
        client,
        model_name,
        audit,
    )

    async def page(request: Request) -> Response:
        return static_response(request, "demo.html")

    async def chat(request: Request) -> Response:
        body = await _json_body(request)
        messages = _messages(body.get("messages"))
        user = _user(body.get("user", "demo-user"))
        language = _language(body.get("language"))
        context, _ = await anyio.to_thread.run_sync(_label_context, user, state, language)
        if language is not None:
            messages = [{"role": "system", "content": _SYSTEM[language]}, *messages]

        async def open_stream() -> Any:
            return await state.client.chat.completions.create(
                model=state.model_name, messages=messages, stream=True
            )

        return sse_relay(labeler, open_stream, context=context, ping_seconds=ping_seconds)

    async def get_consent(request: Request) -> Response:
        user = _user(request.query_params.get("user"))
        found = await anyio.to_thread.run_sync(state.consent.get, user)
        return JSONResponse(
            {
                "user": user,
                "opted_out": bool(found and found.opted_out),
                "agreement_version": found.agreement_version if found else None,
            }
        )

    async def set_consent(request: Request) -> Response:
        body = await _json_body(request)
        user = _user(body.get("user"))
        opted_out = body.get("opted_out")
        version = body.get("agreement_version")
        if not opted_out:
            version = None
        found = await anyio.to_thread.run_sync(
            lambda: state.consent.set(user, opted_out=opted_out, agreement_version=version)  # type: ignore[arg-type]
        )
        return JSONResponse(
            {"user": user, "opted_out": found.opted_out, "agreement_version": found.agreement_version}
        )

    async def export_chat(request: Request) -> Response:
        from aigclabel.adapters.export import Message, export

        body = await _json_body(request)
        messages = _messages(body.get("messages"))
        fmt = body.get("format", "md")
        if fmt not in ("docx", "md"):
            raise _BadRequest(f"format must be 'docx' or 'md', not {fmt!r}")
        conversation = [Message(m["role"], m["content"]) for m in messages]  # type: ignore[arg-type]
        data = await anyio.to_thread.run_sync(
            lambda: export(conversation, fmt, labeler=labeler, title="AI chat")
        )
        media = (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            if fmt == "docx"
            else "text/markdown; charset=utf-8"
        )
        name = f"aigc-chat.{fmt}"
        return Response(
            data,
            media_type=media,
            headers={
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
            },
        )

    async def verify_upload(request: Request) -> Response:
        from aigclabel.adapters.files import verify_bytes

        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=10) as form:
                upload = form.get("file")
                if upload is None or isinstance(upload, str):
                    raise _BadRequest("the form needs a 'file' field")
                data = await upload.read(_MAX_UPLOAD + 1)
                name = upload.filename
            if len(data) > _MAX_UPLOAD:
                raise _BadRequest(f"the file is over {_MAX_UPLOAD // 2**20} MB")
            file_verdict = await anyio.to_thread.run_sync(lambda: verify_bytes(data, name, key=key))
            return JSONResponse({"kind": "file", **file_verdict.to_dict()})
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str) or len(text) > _MAX_CHARS:
            raise _BadRequest(f"text must be a string of at most {_MAX_CHARS} characters")
        verdict = await anyio.to_thread.run_sync(lambda: verify(text, key=key))
        return JSONResponse({"kind": "text", "findings": [], "messages": [], **verdict.to_dict()})

    async def records(request: Request) -> Response:
        user = _user(request.query_params.get("user"))
        rows = await anyio.to_thread.run_sync(lambda: [r.to_dict() for r in audit.query(user=user)])
        for row in rows:
            row.pop("text", None)
        return JSONResponse(rows)

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except _BadRequest as exc:
                return _json_error(400, str(exc))
            except (ConsentError, AIGCLabelError) as exc:
                return _json_error(400, str(exc), type(exc).__name__)

        return run

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await close_demo(state)
            if tmp is not None:
                tmp.cleanup()

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET", "HEAD"]),
            static_routes("/static/aigc"),
            Route("/api/chat", guarded(chat), methods=["POST"]),
            Route("/api/consent", guarded(get_consent), methods=["GET"]),
            Route("/api/consent", guarded(set_consent), methods=["POST"]),
            Route("/api/export", guarded(export_chat), methods=["POST"]),
            Route("/api/verify", guarded(verify_upload), methods=["POST"]),
            Route("/api/records", guarded(records), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.demo = state
    app.state.tmp = tmp
    return app


async def close_demo(state: DemoState) -> None:
    """
    Close the demo's client, labeler sink and stores (idempotent enough for shutdown).
    """
    with contextlib.suppress(Exception):
        await state.client.close()
    await state.labeler.aclose()
    close = getattr(state.consent, "close", None)
    if callable(close):
        close()


class DemoError(AIGCLabelError, ValueError):
    """
    The demo server cannot start as asked (a non-loopback host, a port in use).
    """


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = True,
    stdout: TextIO | None = None,
    chunk_delay: float = 0.03,
) -> int:
    """
    Serve :func:`create_demo_app` with uvicorn until interrupted; return the exit code (0).

    Prints ``serving on http://HOST:PORT/`` (the real port when *port* is 0) before serving.

    Raises:
        DemoError: *host* is not a loopback address (the demo has no authentication), or
            the port cannot be bound.
        MissingDependencyError: uvicorn is not installed (the ``web`` extra).

    .. versionadded:: 0.3.0
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "web") from exc
    if not _loopback(host):
        raise DemoError(f"the demo serves loopback addresses only (127.0.0.1, ::1, localhost), not {host!r}")
    if not 0 <= port <= 65535:
        raise DemoError(f"port must be 0..65535, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::1" if host == "::1" else "127.0.0.1" if host == "localhost" else host, port))
    except OSError as exc:
        sock.close()
        raise DemoError(f"cannot listen on {host}:{port}: {exc}") from exc
    bound = sock.getsockname()[1]
    out = stdout or sys.stdout
    app = create_demo_app(chunk_delay=chunk_delay)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    out.write(f"serving on {url}\n")
    out.write(f"model: {app.state.demo.where}; press Ctrl+C to stop\n")
    out.flush()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    if open_browser:
        timer = threading.Timer(0.5, webbrowser.open, (url,))
        timer.daemon = True
        timer.start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it handled, after a clean shutdown
        pass
    finally:
        sock.close()
    out.write("stopped\n")
    return 0
