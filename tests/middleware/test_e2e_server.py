"""
End to end over a real socket: a local OpenAI-compatible server (a small ASGI app served
by uvicorn on 127.0.0.1) called through a wrapped httpx client.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from aigclabel import Labeler, verify
from aigclabel.middleware import wrap

from tests.helpers import KEY

ANSWER = "本地模型的回答：杭州以西湖闻名，春秋两季最适合旅行。The local model streams this answer. " * 8


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """
    A minimal OpenAI-compatible /v1/chat/completions (JSON and SSE).
    """
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = json.loads(body or b"{}")
    base = {"id": "chatcmpl-local", "created": 1_700_000_000, "model": request.get("model", "local")}
    if not request.get("stream"):
        payload = {
            **base,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}
            ],
        }
        data = json.dumps(payload, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    for i in range(0, len(ANSWER), 6):
        chunk = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": ANSWER[i : i + 6]}, "finish_reason": None}],
        }
        await send(
            {
                "type": "http.response.body",
                "body": f"data: {json.dumps(chunk)}\n\n".encode(),
                "more_body": True,
            }
        )
        await asyncio.sleep(0)
    final = {
        **base,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    tail = f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode()
    await send({"type": "http.response.body", "body": tail})


@pytest.fixture(name="server_url", scope="module")
def _server_url() -> Iterator[str]:
    """
    uvicorn serving the app on a free loopback port for this module's tests.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the local server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


def test_json_completion_over_a_socket_is_labeled(server_url: str, labeler: Labeler) -> None:
    """
    A wrapped httpx client gets a labeled completion and the AIGC header from a real server.
    """
    with wrap(httpx.Client(base_url=server_url), labeler) as client:
        response = client.post("/chat/completions", json={"model": "local", "messages": []})

    content = response.json()["choices"][0]["message"]["content"]
    assert "intact" == verify(content, key=KEY).status
    assert json.loads(response.headers["aigc"])["AIGC"]["ContentProducer"] == labeler.policy.producer


def test_stream_over_a_socket_is_labeled(server_url: str, labeler: Labeler) -> None:
    """
    The SSE stream from a real server, read line by line, yields a text that verifies intact.
    """
    text = ""
    with (
        wrap(httpx.Client(base_url=server_url), labeler) as client,
        client.stream(
            "POST", "/chat/completions", json={"model": "local", "stream": True, "messages": []}
        ) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    text += choice["delta"].get("content") or ""

    assert "intact" == verify(text, key=KEY).status


def test_async_stream_over_a_socket_is_labeled(server_url: str, labeler: Labeler) -> None:
    """
    The same through httpx.AsyncClient.
    """

    async def run() -> str:
        text = ""
        async with (
            wrap(httpx.AsyncClient(base_url=server_url), labeler) as client,
            client.stream(
                "POST", "/chat/completions", json={"model": "local", "stream": True, "messages": []}
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        return text

    assert "intact" == verify(asyncio.run(run()), key=KEY).status
