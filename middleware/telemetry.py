"""
One OpenTelemetry CLIENT span per labeled call, with GenAI semantic-convention attributes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from aigclabel.labeler import LabeledText
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from .endpoints import RequestInfo

__all__ = ["end_span", "start_span"]

_TRACER_NAME = "aigclabel.middleware"


@functools.lru_cache(maxsize=64)
def _tracer(provider: TracerProvider) -> trace.Tracer:
    return provider.get_tracer(_TRACER_NAME)


def start_span(provider: TracerProvider | None, info: RequestInfo) -> Span:
    """
    Start the span ``{operation} {model}`` (for example ``chat gpt-4o-mini``); a no-op span
    when no tracer provider is configured (OpenTelemetry's default proxy), at no cost.
    """
    if provider is None and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return trace.INVALID_SPAN
    # The global provider is looked up per call (it may be set after wrap()); tracers are cached.
    tracer = _tracer(provider or trace.get_tracer_provider())
    name = f"{info.endpoint.operation} {info.model}".strip()
    return tracer.start_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": info.endpoint.operation,
            "gen_ai.provider.name": info.endpoint.provider,
            "gen_ai.request.model": info.model,
            "aigc.stream": info.stream,
            "aigc.structured_output": info.structured,
        },
    )


def end_span(
    span: Span,
    *,
    status_code: int,
    labeled: Sequence[LabeledText],
    placement: str,
    marks: bool,
    body: bytes | None = None,
    summary: dict[str, Any] | None = None,
    error: BaseException | None = None,
    reasoning: str | None = None,
) -> None:
    """
    Record the outcome (response model, usage, finish reasons, labels) and end the span.

    *reasoning* is ``"labeled"`` or ``"passed_through"`` when the response carried reasoning
    text (``aigc.reasoning``).
    """
    if not span.is_recording():
        return
    attrs: dict[str, Any] = {"http.response.status_code": status_code}
    if labeled:
        attrs["aigc.label_applied"] = True
        attrs["aigc.placement"] = placement
        attrs["aigc.marks"] = marks
        attrs["aigc.opted_out"] = any(item.opted_out for item in labeled)
        notices = [item.notice for item in labeled if item.notice]
        if notices:  # an opt-out that was refused or could not be recorded: the text was labeled
            attrs["aigc.opt_out_refused"] = notices[0]
        attrs["aigc.produce_id"] = [item.produce_id for item in labeled]
        attrs["aigc.explicit"] = any(item.explicit for item in labeled)
    else:
        attrs["aigc.label_applied"] = False
    if reasoning is not None:
        attrs["aigc.reasoning"] = reasoning
    if summary is not None:
        attrs.update(_attributes(summary))
    elif body:
        attrs.update(_response_attributes(body))
    span.set_attributes(attrs)
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, str(error)))
    elif status_code >= 400:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def _response_attributes(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return _attributes(doc.get("response", doc) if isinstance(doc.get("response"), dict) else doc)


def _attributes(doc: dict[str, Any]) -> dict[str, Any]:
    """
    GenAI attributes from a response object, or from a stream's summary of the same shape.
    """
    out: dict[str, Any] = {}
    if isinstance(doc.get("model"), str):
        out["gen_ai.response.model"] = doc["model"]
    if isinstance(doc.get("id"), str):
        out["gen_ai.response.id"] = doc["id"]
    usage = doc.get("usage")
    if isinstance(usage, dict):
        for ours, keys in (
            ("gen_ai.usage.input_tokens", ("prompt_tokens", "input_tokens")),
            ("gen_ai.usage.output_tokens", ("completion_tokens", "output_tokens")),
        ):
            for key in keys:
                if isinstance(usage.get(key), int):
                    out[ours] = usage[key]
                    break
    reasons = [c.get("finish_reason") for c in doc.get("choices") or [] if isinstance(c, dict)]
    if isinstance(doc.get("stop_reason"), str):
        reasons.append(doc["stop_reason"])
    if isinstance(doc.get("status"), str) and "output" in doc:
        reasons.append(doc["status"])
    if any(isinstance(r, str) for r in reasons):
        out["gen_ai.response.finish_reasons"] = [r for r in reasons if isinstance(r, str)]
    return out
