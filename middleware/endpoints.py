"""
Which requests the middleware labels, and what each request asks for.

Only ``POST`` to the four generation endpoints is rewritten: OpenAI chat completions,
legacy completions and the Responses API, and Anthropic messages. Everything else
passes through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aigclabel.explicit import TextFormat

__all__ = ["CONTEXT_HEADERS", "Endpoint", "RequestInfo", "inspect_request", "keep_watermarking", "route"]


class Endpoint(Enum):
    """
    A generation endpoint whose responses carry text to label.
    """

    CHAT = "chat"
    COMPLETIONS = "text_completion"
    RESPONSES = "responses"
    MESSAGES = "messages"

    @property
    def provider(self) -> str:
        return "anthropic" if self is Endpoint.MESSAGES else "openai"

    @property
    def operation(self) -> str:
        """
        The OpenTelemetry GenAI ``gen_ai.operation.name``.
        """
        return "text_completion" if self is Endpoint.COMPLETIONS else "chat"


#: Request headers that carry per-request context; they are removed before the request goes upstream.
#: ``x-aigc-language`` (``zh``, ``en`` or a BCP 47 tag such as ``zh-CN``) sets the language of
#: the labels and the interface tag; another value leaves it to the text's script.
CONTEXT_HEADERS = (
    "x-aigc-user",
    "x-aigc-conversation",
    "x-aigc-request-id",
    "x-aigc-opt-out",
    "x-aigc-language",
)


_ROUTES = (
    # (method, pattern, endpoint): creation, and retrieval of stored generated content.
    ("POST", re.compile(r"/chat/completions$"), Endpoint.CHAT),
    ("GET", re.compile(r"/chat/completions/[^/]+$"), Endpoint.CHAT),
    ("POST", re.compile(r"(?<!/chat)/completions$"), Endpoint.COMPLETIONS),
    ("POST", re.compile(r"/responses$"), Endpoint.RESPONSES),
    ("GET", re.compile(r"/responses/[^/]+$"), Endpoint.RESPONSES),
    # Anthropic's /v1/messages; not e.g. /v1/threads/{id}/messages (user-written messages).
    ("POST", re.compile(r"(?:^|/v1)/messages$"), Endpoint.MESSAGES),
)


def route(method: str, path: str) -> Endpoint | None:
    """
    The endpoint a request targets, or ``None`` when it is not one we label.

    Generation (``POST``) and retrieval of stored generated content (``GET`` of a chat
    completion or a response by id) are labeled: each is a release of AI-generated text.
    """
    path = path.rstrip("/")
    for verb, pattern, endpoint in _ROUTES:
        if method == verb and pattern.search(path):
            return endpoint
    return None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """
    What a generation request asked for.

    Attributes:
        endpoint: the endpoint family.
        stream: whether the response is an SSE stream.
        model: the requested model, or ``""``.
        structured: JSON mode or structured output was requested: nothing may be added
            to the text, the label goes to the metadata and the interface tag only.
        context: ``x-aigc-*`` header values (user, conversation, request id, opt out).
    """

    endpoint: Endpoint
    stream: bool
    model: str
    structured: bool
    context: Mapping[str, str]

    def text_format(self, default: TextFormat) -> TextFormat:
        return "json" if self.structured else default


def inspect_request(
    endpoint: Endpoint, body: bytes, headers: Mapping[str, str], *, stream_query: bool = False
) -> RequestInfo:
    """
    Read the stream flag, model and output format from a JSON request body (a retrieval
    has no body; its ``?stream=true`` query is *stream_query*).

    A body that is not a JSON object (which the upstream will reject anyway) gives the defaults.
    """
    try:
        doc: Any = json.loads(body) if body else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    structured = False
    fmt = doc.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        structured = True
    # Responses API text.format; Anthropic output_config.format (and the older output_format).
    for holder in (doc.get("text"), doc.get("output_config"), {"format": doc.get("output_format")}):
        if isinstance(holder, dict):
            tfmt = holder.get("format")
            if isinstance(tfmt, dict) and tfmt.get("type") in ("json_object", "json_schema"):
                structured = True
    context = {h[len("x-aigc-") :]: headers[h] for h in CONTEXT_HEADERS if h in headers} if headers else {}
    model = doc.get("model")
    return RequestInfo(
        endpoint, doc.get("stream") is True, model if isinstance(model, str) else "", structured, context
    )


def keep_watermarking(body: bytes) -> bytes | None:
    """
    *body* without a top-level ``"watermarking"`` that is not ``true``, or ``None`` when there
    is none.

    vLLM lets each request turn its statistical watermark off with ``"watermarking": false``;
    a deployment that watermarks every answer must not forward that switch. The body is
    re-serialised compactly only when the field goes; a body that is not a JSON object is left
    to the upstream (``None``).
    """
    if b'"watermarking"' not in body:
        return None
    try:
        doc: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or "watermarking" not in doc or doc["watermarking"] is True:
        return None
    del doc["watermarking"]
    # ASCII escapes keep lone surrogates valid; NaN or Infinity in the request stay as they came.
    return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")
