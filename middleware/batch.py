"""
Batch output, labeled line by line as it streams (sans-I/O).

A Batch output file (``GET …/files/{id}/content``) is JSON lines, one per request::

    {"id": ..., "custom_id": ..., "response": {"status_code": 200, "body": <completion>}, "error": null}

and Anthropic's message batch results (``GET …/messages/batches/{id}/results``) are::

    {"custom_id": ..., "result": {"type": "succeeded", "message": <message>}}

Each successful body gets the same labeling as a live JSON response (its text labeled, its
``aigc`` object added); error lines, lines of other endpoints (embeddings, moderations) and
blank lines pass through byte for byte. Whether a file is batch output is decided by its
first line: a JSON object with ``custom_id`` and ``response`` (or ``result``). Any other file
(batch input, fine-tuning data, anything uploaded) passes through untouched.

Batch lines do not say whether their request asked for JSON mode. A chat or completion text
that is itself a JSON object or array is treated as structured output, as live JSON-mode
responses are: its label is the ``aigc`` object, the text is unchanged. Responses bodies say
it (``text.format``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aigclabel.labeler import LabelContext, LabeledText, Labeler, OptOutDecision

from .apis import APIS
from .common import BodyShapeError, Reasoning, UnlabelableResponseError, dumps
from .endpoints import Endpoint, RequestInfo
from .jsonbody import JSONRewriter

__all__ = ["BatchRewriter", "batch_route"]

_ROUTES = (
    ("openai", re.compile(r"/files/[^/]+/content$")),
    ("anthropic", re.compile(r"/messages/batches/[^/]+/results$")),
)
#: ``object`` value -> the API that returns it.
_OBJECTS = {api.object: endpoint for endpoint, api in APIS.items() if api.object is not None}
#: The key a line of batch output has (batch input lines have ``custom_id`` too, not this).
_OUTCOME = {"openai": "response", "anthropic": "result"}


def batch_route(method: str, path: str) -> str | None:
    """
    ``"openai"`` or ``"anthropic"`` for a request that reads a file which may be batch
    output, else ``None``.
    """
    if method != "GET":
        return None
    path = path.rstrip("/")
    for kind, pattern in _ROUTES:
        if pattern.search(path):
            return kind
    return None


class BatchRewriter:
    """
    ``feed(bytes) -> bytes`` and ``close() -> bytes`` over a JSON-lines body.

    Linear: each call scans only the new bytes for line ends; a partial line is carried
    as pieces. A file that does not start with ``{`` passes through from its first byte.

    Raises:
        UnlabelableResponseError: a successful line's body has text that cannot be labeled.
    """

    __slots__ = (
        "_context",
        "_decision",
        "_labeler",
        "_line",
        "_mode",
        "_parts",
        "_reasoning",
        "content_type",
        "kind",
        "labeled",
        "records",
        "status_code",
    )

    def __init__(
        self,
        labeler: Labeler,
        context: LabelContext | None,
        kind: str,
        reasoning: Reasoning = "label",
        *,
        status_code: int = 200,
        content_type: str = "",
        decision: OptOutDecision | None = None,
    ) -> None:
        self._labeler = labeler
        self._context = context
        self._decision = labeler.decide(context) if decision is None else decision
        self._reasoning: Reasoning = reasoning
        self._parts: list[bytes] = []
        self._mode: str | None = None  # "batch" or "pass" once the first line decides
        self._line = 0
        self.kind = kind
        self.status_code = status_code
        self.content_type = content_type
        #: every labeled text, in order
        self.labeled: list[LabeledText] = []
        policy = labeler.policy
        #: whether labeling a line may write an Art. 9 record (async shells run it off the loop)
        self.records = self._decision.accepted or (policy.audit_record_all and policy.audit_store is not None)

    def feed(self, chunk: bytes) -> bytes:
        """
        The lines completed by *chunk*, labeled.
        """
        if self._mode == "pass":
            return chunk
        parts = self._parts
        if self._mode is None and not parts:
            first = chunk.lstrip()
            if first and first[:1] != b"{":  # not JSON lines: pass the file through
                self._mode = "pass"
                return chunk
        out: list[bytes] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end == -1:
                break
            line = chunk[start : end + 1]
            if parts:
                parts.append(line)
                line = b"".join(parts)
                parts.clear()
            out.append(self._rewrite(line))
            start = end + 1
            if self._mode == "pass":
                out.append(chunk[start:])
                return b"".join(out)
        if start < len(chunk):
            parts.append(chunk[start:] if start else chunk)
        return b"".join(out)

    def close(self) -> bytes:
        """
        The last line, if the body did not end with a line end.
        """
        rest = b"".join(self._parts)
        self._parts.clear()
        return self._rewrite(rest) if rest else b""

    def _rewrite(self, line: bytes) -> bytes:
        self._line += 1
        if self._mode == "pass":
            return line
        body = line.rstrip(b"\r\n")
        try:  # a line without the key is not batch output: no need to parse it
            doc = json.loads(body) if b'"custom_id"' in body else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or "custom_id" not in doc or _OUTCOME[self.kind] not in doc:
            if self._mode is None and body.strip():
                self._mode = "pass"  # the first line says this is not batch output
            return line
        self._mode = "batch"
        target = self._target(doc)
        if target is None:
            return line
        body_doc, endpoint, structured = target
        info = RequestInfo(endpoint, False, str(body_doc.get("model") or ""), structured, {})
        rewriter = JSONRewriter(self._labeler, info, self._context, self._reasoning, decision=self._decision)
        try:
            rewriter.rewrite_doc(body_doc)
        except BodyShapeError as exc:
            raise UnlabelableResponseError(
                f"batch output line {self._line} ({doc.get('custom_id')!r}): {exc}",
                endpoint=f"{self.kind} batch output",
                status_code=self.status_code,
                content_type=self.content_type,
            ) from exc
        self.labeled.extend(rewriter.labeled)
        return dumps(doc).encode("utf-8") + line[len(body) :]

    def _target(self, doc: dict[str, Any]) -> tuple[dict[str, Any], Endpoint, bool] | None:
        """
        ``(body, endpoint, structured)`` of a successful line with generated text, else ``None``.
        """
        if self.kind == "anthropic":
            result = doc.get("result")
            if isinstance(result, dict) and result.get("type") == "succeeded":
                message = result.get("message")
                if isinstance(message, dict):
                    return message, Endpoint.MESSAGES, APIS[Endpoint.MESSAGES].batch_structured(message)
            return None
        response = doc.get("response")
        if not isinstance(response, dict):
            return None
        status, body = response.get("status_code"), response.get("body")
        if not isinstance(status, int) or not 200 <= status < 300 or not isinstance(body, dict):
            return None
        endpoint = _OBJECTS.get(str(body.get("object")))
        if endpoint is None:  # no `object`: tell the shapes apart
            choices = body.get("choices")
            first = choices[0] if isinstance(choices, list) and choices else None
            if isinstance(first, dict):
                endpoint = Endpoint.CHAT if "message" in first else Endpoint.COMPLETIONS
            elif isinstance(body.get("output"), list):
                endpoint = Endpoint.RESPONSES
            else:
                return None  # embeddings, moderations: no generated text
        return body, endpoint, APIS[endpoint].batch_structured(body)
