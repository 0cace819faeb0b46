"""
Spans, history hygiene and stream events in cases a user meets less often: a refused opt-out and an
unlabelable body seen in the span, assistant turns sent back as content parts, SSE events whose JSON is
not an object, and Batch text that looks like JSON but is not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.middleware import UnlabelableResponseError, wrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.helpers import CHAIN_KEY, KEY, PRODUCER, visible
from tests.middleware.upstream import Scenario, handler, sse_events

URL = "http://upstream.test/v1/chat/completions"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
REQUEST: Any = {"model": "gpt-4o-mini", "messages": MESSAGES}
TEXT = "The quick brown fox jumps over the lazy dog, twice, and then rests in the shade."
LABEL = "[AI-generated content · 本内容由AI生成]"


def _traced(fn: Any, labeler: Labeler) -> tuple[httpx2.Client, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = wrap(httpx2.Client(transport=httpx2.MockTransport(fn)), labeler, tracer_provider=provider)
    return client, exporter


def test_span_of_a_refused_opt_out_names_the_refusal() -> None:
    """
    An opt-out with an agreement version the policy does not accept is labeled as usual; the span says why.
    """
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store="sqlite:///unused.db",
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
    )
    client, exporter = _traced(handler(httpx2, Scenario(text=TEXT)), Labeler(policy))
    headers = {"x-aigc-opt-out": "2024-01", "x-aigc-user": "u-1"}

    body = client.post(URL, json=REQUEST, headers=headers).json()

    (span,) = exporter.get_finished_spans()
    refused = str((span.attributes or {}).get("aigc.opt_out_refused"))
    assert (True, True) == (
        LABEL in body["choices"][0]["message"]["content"],
        "'2024-01' is not accepted" in refused,
    )


def test_span_of_an_unlabelable_body_is_an_error_with_the_exception(labeler: Labeler) -> None:
    """
    A 2xx body that cannot be labeled ends its span with an error status and the exception recorded.
    """
    answer = httpx2.Response(200, headers={"content-type": "text/plain"}, content=b"Hello, plain text!")
    client, exporter = _traced(lambda request: answer, labeler)

    with pytest.raises(UnlabelableResponseError):
        client.post(URL, json=REQUEST)

    (span,) = exporter.get_finished_spans()
    assert (StatusCode.ERROR, ["UnlabelableResponseError"]) == (
        span.status.status_code,
        [str((event.attributes or {}).get("exception.type")).rsplit(".", 1)[-1] for event in span.events],
    )


def test_history_hygiene_cleans_marked_content_parts_and_keeps_the_others(labeler: Labeler) -> None:
    """
    An assistant turn sent back as content parts loses this labeler's marks from the marked part; the
    unmarked part goes upstream unchanged.
    """
    upstream = handler(httpx2, Scenario(text=TEXT))
    client = wrap(httpx2.Client(transport=upstream.transport()), labeler)
    labeled = client.post(URL, json=REQUEST).json()["choices"][0]["message"]["content"]
    parts = [{"type": "text", "text": labeled}, {"type": "text", "text": "A note without marks."}]
    history = [*MESSAGES, {"role": "assistant", "content": parts}, {"role": "user", "content": "Again."}]

    client.post(URL, json={**REQUEST, "messages": history})

    sent = upstream.last.json["messages"][1]["content"]
    assert [visible(labeled), "A note without marks."] == [part["text"] for part in sent]


@pytest.mark.parametrize("data", ["42", '"keep-alive"', "[1, 2]", "null"])
def test_stream_events_whose_json_is_not_an_object_pass_through(labeler: Labeler, data: str) -> None:
    """
    An SSE event whose data is JSON but not an object is passed byte for byte; the stream is still labeled.
    """
    stream = handler(httpx2, Scenario(text=TEXT))(
        httpx2.Request("POST", URL, json={**REQUEST, "stream": True})
    )
    odd = f"data: {data}\n\n".encode()
    body = odd + stream.read()
    answer = httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    client = wrap(httpx2.Client(transport=httpx2.MockTransport(lambda request: answer)), labeler)

    out = client.post(URL, json={**REQUEST, "stream": True}).read()

    text = "".join(
        c["delta"].get("content") or ""
        for _, d in sse_events(out)
        if d.startswith("{")
        for c in json.loads(d)["choices"]
    )
    assert (odd, "confirmed") == (out[: len(odd)], verify(text, key=KEY).tier)


def test_batch_text_that_only_looks_like_json_gets_the_visible_label(labeler: Labeler) -> None:
    """
    A Batch chat answer that starts with `{` but is not JSON is prose: it gets the visible label.
    """
    message = {"role": "assistant", "content": "{curly braces} open this answer, but it is prose."}
    body = {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": message}],
    }
    line = {"id": "b1", "custom_id": "r1", "response": {"status_code": 200, "body": body}, "error": None}
    content = json.dumps(line).encode() + b"\n"
    answer = httpx2.Response(200, content=content)
    client = wrap(httpx2.Client(transport=httpx2.MockTransport(lambda request: answer)), labeler)

    out = json.loads(client.get("http://upstream.test/v1/files/file-abc/content").content)

    text = out["response"]["body"]["choices"][0]["message"]["content"]
    assert ("confirmed", True) == (verify(text, key=KEY).tier, visible(text).endswith(LABEL))
