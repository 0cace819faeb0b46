"""
The SSE relay: event order, labels that verify, the Art. 9 context bound where the upstream
request is sent, disconnects that reach the upstream, and errors as one ``error`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
from aigclabel import DEFAULT_LABEL_TEXT, LabelContext, Labeler, OptOut, verify
from aigclabel.adapters.asgi import AIGCEventStream, StandInModel, sse_event, sse_relay
from aigclabel.adapters.audit import AuditStore
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.adapters.asgi.conftest import AGREEMENT, async_client
from tests.adapters.asgi.support import Event, deltas, drive, parse
from tests.helpers import KEY, visible
from tests.middleware.upstream import Scenario, handler

MESSAGES = [{"role": "user", "content": "Tell me about Hangzhou."}]


def app_for(respond: Callable[[Request], Response]) -> Starlette:
    """
    An app whose ``POST /chat`` returns *respond(request)*.
    """

    async def endpoint(request: Request) -> Response:
        await request.body()
        return respond(request)

    return Starlette(routes=[Route("/chat", endpoint, methods=["POST"])])


def post(app: Starlette) -> httpx.Response:
    """
    POST /chat through httpx's ASGI transport (the whole body).
    """

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/chat", json={})

    return anyio.run(run)


def chat_relay(
    labeler: Labeler, client: Any, context: LabelContext | None = None
) -> Callable[[Request], Response]:
    def respond(request: Request) -> Response:
        del request
        return sse_relay(
            labeler,
            lambda: client.chat.completions.create(model="stand-in", messages=MESSAGES, stream=True),
            context=context,
        )

    return respond


def names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def test_event_order_and_headers(labeler: Labeler, client: Any) -> None:
    """
    ``aigc`` comes before the first ``delta``, ``done`` is last, with the SSE headers.
    """
    response = post(app_for(chat_relay(labeler, client)))
    events = parse(response.content)
    kinds = names(events)
    assert (200, "text/event-stream; charset=utf-8") == (
        response.status_code,
        response.headers["content-type"],
    )
    assert ("no-cache", "no") == (response.headers["cache-control"], response.headers["x-accel-buffering"])
    assert "aigc" == kinds[0]
    assert kinds.index("aigc") < kinds.index("delta")
    assert ["done"] == [k for k in kinds if k not in ("aigc", "delta")]
    assert "done" == kinds[-1]


def test_done_text_is_the_deltas_and_verifies(labeler: Labeler, client: Any) -> None:
    """
    The ``done`` text equals the concatenated deltas and verifies intact with the key.
    """
    events = parse(post(app_for(chat_relay(labeler, client))).content)
    done = events[-1][1]
    assert deltas(events) == done["text"]
    assert "stop" == done["finish_reason"]
    assert "intact" == verify(done["text"], key=KEY).status
    assert events[0][1]["produce_id"] == done["aigc"]["produce_id"]
    assert {"AIGC"} == set(done["aigc"]["metadata"])


def test_context_trap_plain_streaming_response_loses_the_opt_out(
    labeler: Labeler, client: Any, audit: AuditStore
) -> None:
    """
    The trap: a ``with labeler.context(...)`` around a handler that returns a plain
    StreamingResponse has ended when the body runs, so the opt-out is lost (visible label,
    no record).
    """

    def respond(request: Request) -> Response:
        with labeler.context(user="trap", opt_out=OptOut(user="trap", agreement_version=AGREEMENT)):

            async def body() -> AsyncIterator[str]:
                stream = await client.chat.completions.create(
                    model="stand-in", messages=MESSAGES, stream=True
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content

            return StreamingResponse(body())

    text = post(app_for(respond)).text
    assert () != verify(text, key=KEY).evidence.explicit
    assert [] == list(audit.query(user="trap"))


def test_relay_keeps_the_opt_out_bound_in_the_handler(
    labeler: Labeler, client: Any, audit: AuditStore
) -> None:
    """
    The same handler returning the relay: the opt-out is honoured (no visible label) and
    recorded.
    """

    def respond(request: Request) -> Response:
        with labeler.context(user="kept", opt_out=OptOut(user="kept", agreement_version=AGREEMENT)):
            return chat_relay(labeler, client)(request)

    events = parse(post(app_for(respond)).content)
    done = events[-1][1]
    assert () == verify(done["text"], key=KEY).evidence.explicit
    assert "intact" == verify(done["text"], key=KEY).status
    assert (True, False) == (done["aigc"]["ui"]["opted_out"], done["aigc"]["explicit"])
    assert ["generated", "completed"] == [r.kind for r in audit.query(user="kept")]


def test_opt_out_record_exists_before_the_first_delta(
    labeler: Labeler, client: Any, audit: AuditStore
) -> None:
    """
    With an accepted opt-out the record is in the store before the first ``delta`` arrives.
    """
    context = LabelContext(user="early", opt_out=OptOut(user="early", agreement_version=AGREEMENT))
    seen: list[int] = []

    def at_event(event: Event) -> None:
        if event[0] == "delta" and not seen:
            seen.append(len(list(audit.query(user="early"))))

    status, events = anyio.run(
        lambda: drive(app_for(chat_relay(labeler, client, context)), "/chat", {}, on_event=at_event)
    )
    assert (200, [1]) == (status, seen)
    assert "done" == events[-1][0]


def test_disconnect_closes_the_upstream_and_leaves_no_task(labeler: Labeler) -> None:
    """
    A client that goes away half-way: the relay stops, the stand-in model's stream is closed
    before the response returns, it never streamed to the end, and no task is left running.
    """
    model = StandInModel(delay=0.02)
    client = async_client(model, labeler)

    async def run() -> tuple[list[Event], set[asyncio.Task[Any]]]:
        _, events = await drive(app_for(chat_relay(labeler, client)), "/chat", {}, disconnect_after_deltas=5)
        closed_now = model.closed
        await client.close()
        others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
        assert 1 == closed_now
        return events, others

    events, others = anyio.run(run)
    assert (1, 1, 0) == (model.opened, model.closed, model.finished)
    assert "done" not in names(events)
    assert set() == others


def text_app(
    labeler: Labeler, pieces: list[str], context: LabelContext | None, seen: dict[str, Any]
) -> Starlette:
    async def model() -> AsyncIterator[str]:
        seen["started"] = True
        try:
            for piece in pieces:
                await anyio.sleep(0.005)
                yield piece
        finally:
            seen["closed"] = True

    return app_for(lambda request: sse_relay(labeler, model, context=context))


PIECES = ["Hangzhou is ", "the capital ", "of Zhejiang. ", *(["West Lake is lovely. "] * 12)]


def test_text_stream_is_labeled_by_the_relay(labeler: Labeler) -> None:
    """
    A plain stream of text deltas is labeled here: ``aigc`` first, the end label in the last
    delta, ``done`` text intact.
    """
    seen: dict[str, Any] = {}
    context = LabelContext(user="t", language="en")
    status, events = anyio.run(lambda: drive(text_app(labeler, PIECES, context, seen), "/chat", {}))
    done = events[-1][1]
    assert (200, "aigc", "done") == (status, events[0][0], events[-1][0])
    assert deltas(events) == done["text"]
    assert visible(done["text"]).startswith("".join(PIECES))
    assert "intact" == verify(done["text"], key=KEY).status
    assert done["aigc"]["ui"]["label_text"] in visible(events[-2][1]["text"])
    assert seen["closed"]


def test_text_stream_opt_out_disconnect_aborts_and_records(labeler: Labeler, audit: AuditStore) -> None:
    """
    A disconnect during a self-labeled, opted-out stream: the model's generator is closed and
    the completion record is written for what was delivered.
    """
    seen: dict[str, Any] = {}
    context = LabelContext(
        user="gone", opt_out=OptOut(user="gone", agreement_version=AGREEMENT), language="en"
    )
    _, events = anyio.run(
        lambda: drive(text_app(labeler, PIECES, context, seen), "/chat", {}, disconnect_after_deltas=3)
    )
    assert "done" not in names(events)
    assert seen["closed"]
    records = list(audit.query(user="gone"))
    assert ["generated", "completed"] == [r.kind for r in records]
    assert records[1].content_sha256 is not None


def test_upstream_http_error_is_one_error_event(labeler: Labeler) -> None:
    """
    An upstream that answers 500: one ``error`` event naming the SDK's exception, then the end.
    """
    client = async_client(StandInModel(fail_status=500), labeler)
    events = parse(post(app_for(chat_relay(labeler, client))).content)
    assert ["error"] == names(events)
    assert "InternalServerError" == events[0][1]["type"]
    assert "stand-in model is down" in events[0][1]["message"]


def test_error_mid_stream_after_deltas(labeler: Labeler, audit: AuditStore) -> None:
    """
    A text stream that fails after some deltas: the deltas, then one ``error``; the label is
    aborted and an opted-out stream is recorded as completed.
    """

    async def failing() -> AsyncIterator[str]:
        yield "Hangzhou is the capital of Zhejiang. "
        yield "West Lake is lovely. "
        raise ConnectionError("upstream reset")

    context = LabelContext(user="err", opt_out=OptOut(user="err", agreement_version=AGREEMENT), language="en")
    events = parse(post(app_for(lambda request: sse_relay(labeler, failing, context=context))).content)
    assert ("error", {"type": "ConnectionError", "message": "upstream reset"}) == events[-1]
    assert "delta" in names(events)
    assert ["generated", "completed"] == [r.kind for r in audit.query(user="err")]


def test_a_failed_text_stream_ends_with_its_label_before_the_error(labeler: Labeler) -> None:
    """
    The client is still connected when the upstream fails: the text it received gets the end
    label (and seal) in a last delta, then the error event; the whole verifies intact.
    """

    async def failing() -> AsyncIterator[str]:
        yield "Hangzhou is the capital of Zhejiang. "
        yield "West Lake is lovely. "
        raise ConnectionError("upstream reset")

    context = LabelContext(user="err2", language="en")
    events = parse(post(app_for(lambda request: sse_relay(labeler, failing, context=context))).content)
    text = "".join(data["text"] for name, data in events if name == "delta")

    assert ["aigc", "delta", "delta", "delta", "error"] == names(events)
    assert visible(text).endswith(f"[{DEFAULT_LABEL_TEXT['en']}]")
    assert "intact" == verify(text, key=KEY).status


def test_sync_openai_stream_is_read_in_a_thread(labeler: Labeler, audit: AuditStore) -> None:
    """
    A sync ``openai.OpenAI`` stream: opened and read in worker threads, the opt-out still
    bound there (record written, no visible label).
    """
    upstream = handler(
        httpx2, Scenario(text="Hangzhou is the capital of Zhejiang province. " * 8, chunk_size=9)
    )
    from aigclabel.middleware import wrap

    client = wrap(
        openai.OpenAI(
            api_key="test",
            base_url="http://upstream.test/v1",
            max_retries=0,
            http_client=httpx2.Client(transport=upstream.transport()),
        ),
        labeler,
    )
    context = LabelContext(user="sync", opt_out=OptOut(user="sync", agreement_version=AGREEMENT))

    def respond(request: Request) -> Response:
        return sse_relay(
            labeler,
            lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True),
            context=context,
        )

    events = parse(post(app_for(respond)).content)
    done = events[-1][1]
    assert ("aigc", "done") == (events[0][0], events[-1][0])
    assert deltas(events) == done["text"]
    assert () == verify(done["text"], key=KEY).evidence.explicit
    assert ["generated", "completed"] == [r.kind for r in audit.query(user="sync")]


@pytest.mark.parametrize("api", ["responses", "anthropic"])
def test_responses_and_anthropic_streams(labeler: Labeler, api: str) -> None:
    """
    Responses API events and Anthropic message events relay like chat chunks.
    """
    from aigclabel.middleware import wrap

    text = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合旅行。" * 6
    upstream = handler(httpx2, Scenario(text=text, chunk_size=7))
    http_client = httpx2.AsyncClient(transport=upstream.transport())
    if api == "responses":
        oclient = wrap(
            openai.AsyncOpenAI(api_key="t", base_url="http://upstream.test/v1", http_client=http_client),
            labeler,
        )

        def open_stream() -> Any:
            return oclient.responses.create(model="m", input="hi", stream=True)

    else:
        import anthropic

        aclient = wrap(
            anthropic.AsyncAnthropic(api_key="t", base_url="http://upstream.test", http_client=http_client),
            labeler,
        )

        def open_stream() -> Any:
            return aclient.messages.create(
                model="m", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True
            )

    events = parse(post(app_for(lambda request: sse_relay(labeler, open_stream))).content)
    done = events[-1][1]
    assert ("aigc", "done") == (events[0][0], events[-1][0])
    assert names(events).index("aigc") < names(events).index("delta")
    assert deltas(events) == done["text"]
    assert "intact" == verify(done["text"], key=KEY).status
    assert done["finish_reason"] is not None
    assert done["aigc"]["produce_id"] == events[0][1]["produce_id"]


def test_dict_events_and_sync_iterators(labeler: Labeler) -> None:
    """
    Parsed JSON chunks (dicts) from a sync generator relay too; the generator is closed.
    """
    closed: list[bool] = []

    def chunks() -> Iterator[dict[str, Any]]:
        try:
            yield {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
            yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
        finally:
            closed.append(True)

    events = parse(post(app_for(lambda request: sse_relay(labeler, chunks))).content)
    assert [
        ("delta", {"text": "hi"}),
        ("done", {"aigc": None, "finish_reason": "length", "text": "hi"}),
    ] == events
    assert [True] == closed


def test_bad_arguments_raise() -> None:
    """
    A non-Labeler, a non-callable opener and a bad ping interval are refused at once.
    """
    with pytest.raises(TypeError, match="Labeler"):
        sse_relay(object(), lambda: [])  # type: ignore[arg-type]


def test_bad_opener_and_ping(labeler: Labeler) -> None:
    """
    A non-callable opener and a non-positive ping interval raise; an opener that returns
    something unstreamable gives an ``error`` event.
    """
    with pytest.raises(TypeError, match="callable"):
        sse_relay(labeler, "stream")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ping_seconds"):
        sse_relay(labeler, lambda: [], ping_seconds=0)
    events = parse(post(app_for(lambda request: sse_relay(labeler, lambda: 42))).content)
    assert "TypeError" == events[0][1]["type"]


def test_ping_when_idle(labeler: Labeler) -> None:
    """
    An idle upstream gets ``: ping`` comments at the interval.
    """

    async def slow() -> AsyncIterator[str]:
        await anyio.sleep(0.35)
        yield "Hello there, this is a test. "

    response = post(app_for(lambda request: sse_relay(labeler, slow, ping_seconds=0.1)))
    assert response.content.count(b": ping\n\n") >= 2
    assert "done" == parse(response.content.replace(b": ping\n\n", b""))[-1][0]


def test_spec_2_3_server_also_stops_on_disconnect(labeler: Labeler) -> None:
    """
    Below ASGI spec 2.4 (where Starlette's own listener would run) the relay behaves the same.
    """
    model = StandInModel(delay=0.02)
    client = async_client(model, labeler)
    _, _events = anyio.run(
        lambda: drive(
            app_for(chat_relay(labeler, client)), "/chat", {}, disconnect_after_deltas=3, spec_version="2.3"
        )
    )
    assert (1, 0) == (model.closed, model.finished)
    assert isinstance(AIGCEventStream(labeler, lambda: []), StreamingResponse)


def test_sse_event_is_one_line_utf8() -> None:
    """
    Line breaks in the data are escaped; Chinese stays UTF-8; lone surrogates fall back to escapes.
    """
    assert 'event: delta\ndata: {"text":"a\\nb 中"}\n\n'.encode() == sse_event("delta", {"text": "a\nb 中"})
    assert b'event: delta\ndata: {"text":"\\ud800"}\n\n' == sse_event("delta", {"text": "\ud800"})
