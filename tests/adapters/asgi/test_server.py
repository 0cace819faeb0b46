"""
Against a real uvicorn server on 127.0.0.1: streaming order, 20 concurrent users without
context bleed, and a client that disconnects half-way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from aigclabel import verify
from aigclabel.adapters.asgi import StandInModel, create_demo_app
from starlette.applications import Starlette

from tests.adapters.asgi.support import SSEDecoder, deltas, serve, wait_until

USERS = 20


@pytest.fixture(name="model")
def _model() -> StandInModel:
    """
    The stand-in model at 10 ms a chunk.
    """
    return StandInModel(delay=0.01)


@pytest.fixture(name="server")
def _server(
    tmp_path: Path, model: StandInModel, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Starlette]]:
    """
    The demo app served by uvicorn; yields its base URL and the app.
    """
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    app = create_demo_app(model=model, data_dir=tmp_path)
    with serve(app) as url:
        yield url, app


async def stream_chat(http: httpx.AsyncClient, user: str, *, stop_after: int | None = None) -> list[Any]:
    """
    Read /api/chat as it streams; with *stop_after*, close the connection after that many deltas.
    """
    decoder = SSEDecoder()
    events: list[Any] = []
    body = {"messages": [{"role": "user", "content": "Hangzhou?"}], "user": user, "language": "en"}
    async with http.stream("POST", "/api/chat", json=body) as response:
        assert 200 == response.status_code
        async for chunk in response.aiter_raw():
            events.extend(decoder.feed(chunk))
            if stop_after is not None and sum(1 for e in events if e[0] == "delta") >= stop_after:
                break
    return events


def test_streams_in_order_over_a_socket(server: tuple[str, Starlette]) -> None:
    """
    Over TCP the first event is ``aigc``, then deltas as they are produced, ``done`` last.
    """
    url, app = server

    async def run() -> list[Any]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            return await stream_chat(http, "alice")

    events = anyio.run(run)
    done = events[-1][1]
    assert ("aigc", "done") == (events[0][0], events[-1][0])
    assert deltas(events) == done["text"]
    assert "intact" == verify(done["text"], key=app.state.demo.key).status


def test_twenty_concurrent_users_without_context_bleed(server: tuple[str, Starlette]) -> None:
    """
    20 users at once, every third opted out: each response's label matches its own user's
    choice, and records exist only for the opted-out users, for their own content.
    """
    url, app = server
    opted = {f"user-{i}": i % 3 == 0 for i in range(USERS)}

    async def run() -> dict[str, list[Any]]:
        results: dict[str, list[Any]] = {}
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            for user, out in opted.items():
                if out:
                    body = {"user": user, "opted_out": True, "agreement_version": "demo-v1"}
                    assert 200 == (await http.post("/api/consent", json=body)).status_code

            async def one(user: str) -> None:
                results[user] = await stream_chat(http, user)

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tasks:
                    for user in opted:
                        tasks.start_soon(one, user)
        return results

    results = anyio.run(run)
    key = app.state.demo.key
    audit = app.state.demo.audit
    for user, out in opted.items():
        done = results[user][-1][1]
        assert ("done", out, not out) == (
            results[user][-1][0],
            done["aigc"]["ui"]["opted_out"],
            done["aigc"]["explicit"],
        )
        verdict = verify(done["text"], key=key)
        assert ("intact", not out) == (verdict.status, bool(verdict.evidence.explicit))
        records = list(audit.query(user=user))
        if out:
            assert ["generated", "completed"] == [r.kind for r in records]
            assert {done["aigc"]["produce_id"]} == {r.produce_id for r in records}
        else:
            assert [] == records
    produce_ids = {results[u][-1][1]["aigc"]["produce_id"] for u in opted}
    assert USERS == len(produce_ids)


def test_disconnect_half_way_closes_the_upstream(server: tuple[str, Starlette], model: StandInModel) -> None:
    """
    A browser that stops after 5 deltas: the server closes the stand-in model's stream, which
    never streams to the end; the server still serves the next request.
    """
    url, _app = server

    async def run() -> list[Any]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            return await stream_chat(http, "stopper", stop_after=5)

    events = anyio.run(run)
    assert "done" not in [e[0] for e in events]
    assert wait_until(lambda: model.closed == 1, timeout=5)
    assert (1, 0) == (model.opened, model.finished)
    response = httpx.get(f"{url}/api/consent", params={"user": "x"}, timeout=5)
    assert json.loads(response.text)["opted_out"] is False
