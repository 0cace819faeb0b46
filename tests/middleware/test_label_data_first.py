"""
Label data first: in every API's stream the event that releases a text's first characters
carries the `aigc` object (stage start) with the interface tag, so whatever point a consumer
stops at, the text it received was preceded by the tag; the SDKs accept the extra field.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from aigclabel import DEFAULT_LABEL_TEXT, Labeler, LabelPolicy, verify
from aigclabel.middleware import wrap
from aigclabel.middleware.endpoints import Endpoint

from tests.helpers import KEY, PRODUCER
from tests.middleware.test_rewrite import rewrite_stream, upstream_body
from tests.middleware.upstream import Scenario, handler, sse_events

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。" * 8


def _text_of(endpoint: Endpoint, doc: dict[str, Any]) -> str:
    """
    The answer text one event releases (reasoning excluded).
    """
    if endpoint is Endpoint.CHAT:
        return "".join((c.get("delta") or {}).get("content") or "" for c in doc.get("choices", []))
    if endpoint is Endpoint.COMPLETIONS:
        return "".join(c.get("text") or "" for c in doc.get("choices", []))
    if endpoint is Endpoint.RESPONSES:
        return doc["delta"] if doc.get("type") == "response.output_text.delta" else ""
    if doc.get("type") == "content_block_delta" and doc["delta"]["type"] == "text_delta":
        return str(doc["delta"]["text"])
    return ""


def _final_aigc(doc: dict[str, Any]) -> dict[str, Any] | None:
    for holder in (doc, doc.get("response")):
        if isinstance(holder, dict) and isinstance(holder.get("aigc"), dict):
            aigc: dict[str, Any] = holder["aigc"]
            if aigc["stage"] == "end":
                return aigc
    return None


@pytest.mark.parametrize("endpoint", list(Endpoint))
@pytest.mark.parametrize("language", [None, "en"])
def test_the_first_event_with_text_carries_the_tag(
    labeler: Labeler, endpoint: Endpoint, language: str | None
) -> None:
    """
    For every API, the first event whose text is non-empty has `aigc` stage start, whose tag
    equals the final item's tag (same ProduceID as the marks).
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT, chunk_size=5))
    with labeler.context(language=language):  # type: ignore[arg-type]
        out = rewrite_stream(labeler, endpoint, body, [])
    docs = [json.loads(d) for _, d in sse_events(out) if d != "[DONE]"]
    first = next(i for i, doc in enumerate(docs) if _text_of(endpoint, doc))
    starts = [i for i, doc in enumerate(docs) if (doc.get("aigc") or {}).get("stage") == "start"]
    final = next(a for a in map(_final_aigc, docs) if a is not None)
    text = "".join(_text_of(endpoint, doc) for doc in docs)

    assert [first] == starts
    (start,) = docs[first]["aigc"]["items"]
    content_item = next(item for item in final["items"] if "field" not in item)
    assert start["ui"] == content_item["ui"]
    assert verify(text, key=KEY).produce_id == start["produce_id"] == start["ui"]["produce_id"]
    expected = f"[{DEFAULT_LABEL_TEXT['en']}]" if language == "en" else f"【{DEFAULT_LABEL_TEXT['zh']}】"
    assert (expected, "end", False) == (
        start["ui"]["label_text"],
        start["ui"]["placement"],
        start["ui"]["opted_out"],
    )


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_every_stop_point_was_preceded_by_the_tag(labeler: Labeler, endpoint: Endpoint) -> None:
    """
    A consumer that stops after any event has seen the tag before (or with) the first text it got.
    """
    body = upstream_body(endpoint, stream=True, scenario=Scenario(text=TEXT, chunk_size=9))
    docs = [
        json.loads(d) for _, d in sse_events(rewrite_stream(labeler, endpoint, body, [])) if d != "[DONE]"
    ]

    for stop in range(len(docs) + 1):
        received = docs[:stop]
        tag_at = next(
            (i for i, d in enumerate(received) if "aigc" in d or "aigc" in (d.get("response") or {})), None
        )
        text_at = next((i for i, d in enumerate(received) if _text_of(endpoint, d)), None)
        assert text_at is None or (tag_at is not None and tag_at <= text_at), (endpoint, stop)


def _upstream(text: str = TEXT) -> httpx.MockTransport:
    return httpx.MockTransport(handler(httpx, Scenario(text=text, chunk_size=6)))


def test_openai_sdk_reads_the_tag_on_the_first_chunk_and_may_close_early() -> None:
    """
    With the openai SDK, the first content chunk's `model_extra["aigc"]` holds the tag; closing
    the stream after it leaves no error and the consumer had the tag before any text.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    client = wrap(
        openai.OpenAI(
            api_key="k", base_url="http://upstream.test/v1", http_client=httpx.Client(transport=_upstream())
        ),
        labeler,
    )
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    seen: list[str] = []
    tag = None
    for chunk in stream:
        extra = chunk.model_extra or {}
        if "aigc" in extra and tag is None:
            tag = extra["aigc"]["items"][0]["ui"]
        if chunk.choices and chunk.choices[0].delta.content:
            assert tag is not None
            seen.append(chunk.choices[0].delta.content)
        if len(seen) == 3:
            break
    stream.close()
    client.close()

    assert tag is not None
    assert (DEFAULT_LABEL_TEXT["zh"], "AI") == (tag["text"], tag["short_text"])


def test_openai_responses_stream_event_carries_the_tag() -> None:
    """
    The Responses SDK's typed delta event keeps the extra `aigc` field on a raw stream; the
    `responses.stream()` helper rebuilds delta events without extras (documented: read the tag
    from a raw stream, or from the final response, which keeps it).
    """
    client = wrap(
        openai.OpenAI(
            api_key="k", base_url="http://upstream.test/v1", http_client=httpx.Client(transport=_upstream())
        ),
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY)),
    )
    raw = [
        e
        for e in client.responses.create(model="m", input="hi", stream=True)
        if e.type == "response.output_text.delta"
    ]
    with client.responses.stream(model="m", input="hi") as stream:
        helped = [e for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    client.close()

    texts = [e for e in raw if e.delta]
    assert "start" == (texts[0].model_extra or {})["aigc"]["stage"]
    assert all("aigc" not in (e.model_extra or {}) for e in raw if e is not texts[0])
    assert all("aigc" not in (e.model_extra or {}) for e in helped)
    assert "end" == (final.model_extra or {})["aigc"]["stage"]


def test_anthropic_stream_helper_accepts_the_tag_on_a_delta() -> None:
    """
    The anthropic SDK's `messages.stream` helper accumulates a labeled message from events
    one of which carries the extra field.
    """
    client = wrap(
        anthropic.Anthropic(
            api_key="k",
            base_url="http://upstream.test",
            http_client=httpx2.Client(transport=httpx2.MockTransport(handler(httpx2, Scenario(text=TEXT)))),
        ),
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY)),
    )
    with client.messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        events = list(stream)
        message = stream.get_final_message()
    client.close()

    starts = [e for e in events if e.type == "content_block_delta" and "aigc" in (e.model_extra or {})]
    assert 1 == len(starts)
    assert "intact" == verify(message.content[0].text, key=KEY).status  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("en", "en"), ("EN-us", "en"), ("zh-CN", "zh-CN"), ("fr", "zh-CN"), ("", "zh-CN")],
)
def test_the_language_header_sets_the_label_language(header: str, expected: str) -> None:
    """
    `x-aigc-language` (a BCP 47 tag) chooses the label language of a Chinese answer; an
    unknown value leaves it to the text's script. The header never goes upstream.
    """
    seen: list[httpx.Request] = []
    inner = handler(httpx, Scenario(text=TEXT))

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner(request)

    client = wrap(
        openai.OpenAI(
            api_key="k",
            base_url="http://upstream.test/v1",
            http_client=httpx.Client(transport=httpx.MockTransport(upstream)),
        ),
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY)),
    )
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-aigc-language": header}
    )
    client.close()

    assert expected == (completion.model_extra or {})["aigc"]["items"][0]["ui"]["language"]
    assert "x-aigc-language" not in seen[0].headers


def test_a_bound_language_survives_the_request_headers(labeler: Labeler) -> None:
    """
    A language bound with labeler.context() is kept when other x-aigc-* headers rebuild the context.
    """
    client = wrap(
        openai.OpenAI(
            api_key="k", base_url="http://upstream.test/v1", http_client=httpx.Client(transport=_upstream())
        ),
        labeler,
    )
    with labeler.context(language="en"):
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-aigc-user": "u-9"}
        )
    client.close()

    assert "en" == (completion.model_extra or {})["aigc"]["items"][0]["ui"]["language"]


def test_aigc_info_reads_both_stages() -> None:
    """
    aigc_info() types the start object (metadata without ReservedCode1) and the final one alike.
    """
    from aigclabel.middleware import aigc_info

    client = wrap(
        openai.OpenAI(
            api_key="k", base_url="http://upstream.test/v1", http_client=httpx.Client(transport=_upstream())
        ),
        Labeler(LabelPolicy(producer=PRODUCER, key=KEY)),
    )
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    client.close()
    infos = [info for info in map(aigc_info, chunks) if info is not None]

    assert ["start", "end"] == [info.stage for info in infos]
    start, end = (info.items[0] for info in infos)
    assert (start.produce_id, start.ui) == (end.produce_id, end.ui)
    assert ("", True) == (start.metadata.reserved_code1, bool(end.metadata.reserved_code1))
    assert start.metadata.model_copy(update={"reserved_code1": end.metadata.reserved_code1}) == end.metadata
