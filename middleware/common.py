"""
What the response rewriters share: the middleware's errors, the reasoning policy, the
``aigc`` item of one labeled text, and the base every rewriter builds on.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any, Literal

from aigclabel.exceptions import AIGCLabelError
from aigclabel.labeler import LabelContext, LabeledText, Labeler, OptOutDecision, StreamLabeler

from .endpoints import RequestInfo

__all__ = [
    "AlreadyWrappedError",
    "BodyShapeError",
    "Reasoning",
    "RewriterBase",
    "UnlabelableResponseError",
    "UpstreamStreamError",
    "aigc_item",
    "dumps",
    "json_list",
    "json_texts",
    "kind_name",
]

#: What to do with reasoning text shown to users: label it as its own text (the default), or
#: pass it through unchanged (the span says ``aigc.reasoning = "passed_through"``).
Reasoning = Literal["label", "pass"]


class UpstreamStreamError(AIGCLabelError, ConnectionError):
    """
    The upstream response could not be labeled, and what could not be labeled was not
    released. Raised as is for the subclasses below; the transports report this class
    itself to client SDKs as the HTTP library's ``RemoteProtocolError``.
    """


class UnlabelableResponseError(UpstreamStreamError):
    """
    A 2xx response on a labeled endpoint that a client SDK could read generated text from,
    but that the middleware cannot label: a JSON body that does not parse, is not an
    object of the endpoint's shape, or holds text where no label can be placed; or a body
    that is neither JSON nor SSE. Nothing of it was released.

    Attributes:
        reason: what is wrong with the body.
        endpoint: the endpoint family (``"chat"``, ``"responses"``…).
        status_code: the upstream's HTTP status.
        content_type: the upstream's ``Content-Type`` (``""`` when absent).

    .. versionadded:: 0.2.0
    """

    def __init__(self, reason: str, *, endpoint: str, status_code: int, content_type: str) -> None:
        super().__init__(
            f"refused an unlabelable {status_code} response from the {endpoint} endpoint "
            f"(Content-Type: {content_type or 'none'}): {reason}. It may carry generated text, so it was "
            "not passed on. Make the upstream or the proxy in between return the API's own JSON object "
            "or SSE stream for this endpoint, or call endpoints that return no generated text through "
            "an unwrapped client"
        )
        self.reason = reason
        self.endpoint = endpoint
        self.status_code = status_code
        self.content_type = content_type

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: rebuild from all of them (exceptions pickle args only).
        return (_rebuild, (self.reason, self.endpoint, self.status_code, self.content_type))


def _rebuild(reason: str, endpoint: str, status_code: int, content_type: str) -> UnlabelableResponseError:
    return UnlabelableResponseError(
        reason, endpoint=endpoint, status_code=status_code, content_type=content_type
    )


class AlreadyWrappedError(AIGCLabelError, ValueError):
    """
    ``wrap(client, labeler)`` was asked to label a client whose HTTP client already labels
    with a different labeler. Re-labeling it would silently change what every other holder
    of that HTTP client gets (tenant B's answers under tenant A's key, or the reverse), so
    nothing was changed.

    Attributes:
        client_type: the qualified name of the client passed to ``wrap()``.
        labeler: the labeler ``wrap()`` was given.
        existing: the labeler the HTTP client already labels with.

    .. versionadded:: 0.2.0
    """

    def __init__(self, client_type: str, labeler: Labeler, existing: Labeler) -> None:
        super().__init__(
            f"this {client_type} already labels with another labeler ({existing!r}, not {labeler!r}); "
            "wrap() never re-labels an HTTP client that other clients may share. Give each tenant its own "
            "client: wrap a fresh one per labeler (wrap(openai.OpenAI(...), labeler_b)); SDK clients "
            "that share one unwrapped HTTP client may each be wrapped with their own labeler, since "
            "wrap() gives each its own copy of the HTTP client; or compose "
            "LabelingTransport(inner_transport, labeler) into an HTTP client per tenant"
        )
        self.client_type = client_type
        self.labeler = labeler
        self.existing = existing

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.client_type, self.labeler, self.existing))


# Shown (and pickled) under the package that exports them.
UpstreamStreamError.__module__ = UnlabelableResponseError.__module__ = "aigclabel.middleware"
AlreadyWrappedError.__module__ = "aigclabel.middleware"


class BodyShapeError(AIGCLabelError):
    """
    Raised by the rewriters for a body they cannot label; the transport reports it as
    :class:`UnlabelableResponseError` with the response's status and Content-Type.
    """


def aigc_item(labeled: LabeledText, **where: int | str) -> dict[str, Any]:
    """
    The ``aigc`` entry for one labeled text: where it is, its ids, metadata and interface tag.

    *where* holds the position (``index``, ``content_index``…) and, for reasoning text, the
    ``field`` it came from (``reasoning_content``, ``summary``…).
    """
    return {
        **where,
        "produce_id": labeled.produce_id,
        "mark_id": labeled.mark_id,
        "explicit": labeled.explicit,
        "metadata": labeled.metadata.to_dict("wrapped"),
        "ui": labeled.ui.model_dump(),
    }


def aigc_start_item(stream: StreamLabeler, **where: Any) -> dict[str, Any]:
    """
    The ``aigc`` entry of a stream's first event with text: where it is, its ids, its
    metadata without ``ReservedCode1`` (the final event's item has it, once the seal is made)
    and its interface tag (complete before any text is released).
    """
    data = stream.label_data()
    assert data is not None  # the language is known before text is released
    metadata, ui = data
    return {
        **where,
        "produce_id": stream.produce_id,
        "mark_id": stream.mark_id,
        "explicit": ui["explicit_label_in_text"],
        "metadata": metadata,
        "ui": ui,
    }


def _compact_encoder() -> Callable[[Any], str]:
    """
    ``json.dumps(doc, ensure_ascii=False, separators=(",", ":"))``, with the C encoder made
    once instead of per call (a third of the time of a small document); the documents are
    parsed JSON, never circular, so the circular-reference check is not needed.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain call
        return lambda doc: json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    default = json.JSONEncoder().default
    encode = make(None, default, json.encoder.encode_basestring, None, ":", ",", False, False, True)

    def compact(doc: Any) -> str:
        # A bare string goes through the C encoder's string path as json.dumps does.
        return "".join(encode(doc, 0))

    return compact


_compact = _compact_encoder()


def dumps(doc: Any) -> str:
    """
    Compact JSON, UTF-8 safe.
    """
    text = _compact(doc)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only the \u escape form is valid UTF-8 JSON
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    return text


def kind_name(value: Any) -> str:
    """
    The JSON name of *value*'s type, for messages.
    """
    return "null" if value is None else type(value).__name__


class RewriterBase:
    """
    What every rewriter of one response holds: the labeler, the request, its context and
    opt-out decision (decided once per request), and every text labeled so far.
    """

    def __init__(
        self,
        labeler: Labeler,
        info: RequestInfo,
        context: LabelContext | None,
        reasoning: Reasoning = "label",
        *,
        decision: OptOutDecision | None = None,
    ) -> None:
        self.labeler = labeler
        self.info = info
        self.context = context
        self.decision = labeler.decide(context) if decision is None else decision
        self.text_format = info.text_format(labeler.policy.text_format)
        self.label_reasoning = reasoning == "label"
        #: every labeled text of this response, in order
        self.labeled: list[LabeledText] = []
        #: ``"labeled"`` or ``"passed_through"`` once reasoning text was seen, for telemetry
        self.reasoning: str | None = None

    def label(self, text: str, *, reasoning: bool = False) -> LabeledText:
        # Reasoning is prose even when the answer is JSON mode: it gets the policy's own format.
        fmt = self.labeler.policy.text_format if reasoning else self.text_format
        labeled = self.labeler.label(text, context=self.context, decision=self.decision, text_format=fmt)
        self.labeled.append(labeled)
        return labeled

    def describe(self) -> LabeledText:
        """
        The label of output that is not text (tool calls, a refusal): metadata and interface
        tag, no record (nothing unlabeled is released).
        """
        labeled = self.labeler.describe(context=self.context, decision=self.decision)
        self.labeled.append(labeled)
        return labeled

    def open_stream(self, *, reasoning: bool = False) -> StreamLabeler:
        fmt = self.labeler.policy.text_format if reasoning else self.text_format
        return self.labeler.stream(context=self.context, decision=self.decision, text_format=fmt)

    def aigc(self, items: list[dict[str, Any]], *, stage: str = "end") -> dict[str, Any]:
        """
        The ``aigc`` object of a response or event: ``stage`` is ``start`` on a stream's first
        event with text (metadata without ``ReservedCode1``), ``end`` on the final one and on
        JSON bodies.
        """
        return {"label": self.labeler.policy.label, "stage": stage, "items": items}

    def seen_reasoning(self) -> bool:
        """
        Note that reasoning text was seen; whether to label it.
        """
        self.reasoning = "labeled" if self.label_reasoning else "passed_through"
        return self.label_reasoning


def json_list(doc: dict[str, Any], name: str) -> list[Any]:
    """
    The list *doc* holds under *name*.

    Raises:
        BodyShapeError: there is none.
    """
    value = doc.get(name)
    if not isinstance(value, list):
        raise BodyShapeError(f"the JSON object has no `{name}` list (found {kind_name(value)})")
    return value


def json_texts(holders: Any, field: str) -> bool:
    """
    Whether every text in *holders* (dicts holding *field*) is a JSON object or array: the
    output of a JSON-mode request (Batch output lines do not say what was asked).
    """
    texts: list[str] = [
        h[field] for h in holders or () if isinstance(h, dict) and isinstance(h.get(field), str)
    ]
    if not texts:
        return False
    for text in texts:
        if text.lstrip()[:1] not in ("{", "["):
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
    return True
