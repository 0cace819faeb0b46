"""
Failures mapped faithfully: upstream error statuses and bodies pass through, timeouts and an
unreachable upstream get the API's error shape, a broken upstream stream breaks the caller's
stream (never a clean end), and a caller that goes away cancels the upstream request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aigclabel import verify
from aigclabel.adapters.gateway import GatewayConfig

from tests.adapters.asgi.support import wait_until
from tests.helpers import KEY
from tests.middleware.upstream import Scenario

from .conftest import Gateway
from .upstream_server import StandIn, free_port

CHAT: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
MESSAGES: Any = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
AUTH = {"authorization": "Bearer k"}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/chat/completions", CHAT, 400),
        ("/v1/chat/completions", CHAT, 429),
        ("/v1/chat/completions", {**CHAT, "stream": True}, 500),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": "Hi"}, 503),
        ("/v1/messages", MESSAGES, 529),
        ("/v1/messages", {**MESSAGES, "stream": True}, 429),
    ],
)
def test_upstream_error_status_and_body_pass_through(
    gateway: Gateway, upstream: StandIn, path: str, body: Any, status: int
) -> None:
    """
    The caller gets the upstream's status and error body byte for byte.
    """
    upstream.scenario = Scenario(status=status)
    direct = httpx.post(upstream.url + path, json=body, headers=AUTH)
    through = httpx.post(gateway.url + path, json=body, headers=AUTH)

    assert (status, direct.content) == (through.status_code, through.content)
    assert direct.headers["content-type"] == through.headers["content-type"]
    assert "status" == gateway.logged(1)[-1]["error"]


def test_openai_sdk_sees_the_upstream_rate_limit(gateway: Gateway, upstream: StandIn) -> None:
    """
    The SDK raises its usual `RateLimitError` with the upstream's message.
    """
    upstream.scenario = Scenario(status=429)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0)
    with client, pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(**CHAT)

    assert "Rate limit reached" in err.value.message


def test_upstream_timeout_is_504_in_the_apis_error_shape(
    upstream: StandIn, policy_file: Path, start_gateway: Callable[[GatewayConfig], Gateway]
) -> None:
    """
    An upstream silent for longer than `read_timeout` gives 504 (OpenAI and Anthropic shapes).
    """
    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, read_timeout=0.3))
    upstream.hang = 3.0
    chat = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers=AUTH, timeout=10)
    messages = httpx.post(gateway.url + "/v1/messages", json=MESSAGES, headers=AUTH, timeout=10)

    assert 504 == chat.status_code
    assert "timeout_error" == chat.json()["error"]["type"]
    assert 504 == messages.status_code
    assert "error" == messages.json()["type"]
    assert ["timeout", "timeout"] == [e["error"] for e in gateway.logged(2)]


def test_unreachable_upstream_is_502(
    policy_file: Path, start_gateway: Callable[[GatewayConfig], Gateway]
) -> None:
    """
    Nothing listening upstream: 502 with an error body, counted as a connect error.
    """
    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=f"http://127.0.0.1:{free_port()}"))
    response = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers=AUTH)

    assert 502 == response.status_code
    assert "api_error" == response.json()["error"]["type"]
    assert "connect" == gateway.logged(1)[-1]["error"]


@pytest.mark.parametrize(("path", "body"), [("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)])
def test_broken_upstream_stream_breaks_the_callers_stream(
    gateway: Gateway, upstream: StandIn, path: str, body: Any
) -> None:
    """
    The upstream drops its connection after 4 events: the caller's stream ends with a protocol
    error (an incomplete chunked body), without the final event or an end label.
    """
    upstream.scenario = Scenario(break_after=4)
    received: list[bytes] = []
    statuses: list[int] = []

    def read() -> None:
        with httpx.stream(
            "POST", gateway.url + path, json={**body, "stream": True}, headers=AUTH
        ) as response:
            statuses.append(response.status_code)
            received.extend(response.iter_raw())

    with pytest.raises(httpx.RemoteProtocolError):
        read()

    assert [200] == statuses
    assert b"[DONE]" not in b"".join(received)
    assert b"message_stop" not in b"".join(received)
    assert "stream" == gateway.logged(1)[-1]["error"]
    assert gateway.logged(1)[-1]["labeled"] is False


def test_openai_sdk_stream_raises_on_a_broken_upstream(gateway: Gateway, upstream: StandIn) -> None:
    """
    The SDK raises a connection error instead of returning a text that looks complete.
    """
    upstream.scenario = Scenario(break_after=6)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0)
    text = ""
    with client, pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):  # noqa: PT012
        for chunk in client.chat.completions.create(**CHAT, stream=True):
            text += chunk.choices[0].delta.content or "" if chunk.choices else ""

    assert "confirmed" != verify(text, key=KEY).tier


def test_client_disconnect_cancels_the_upstream_request(gateway: Gateway, upstream: StandIn) -> None:
    """
    A caller that leaves after the first chunk: the stand-in sees its stream closed by the peer
    well before it ended, and the gateway logs the request as cancelled.
    """
    upstream.scenario = Scenario(text="x" * 400, chunk_size=1)
    upstream.chunk_delay = 0.01  # the full stream would take about 4 s
    with httpx.stream(
        "POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH
    ) as r:
        next(r.iter_raw())

    assert wait_until(lambda: upstream.streams_cancelled == 1, timeout=3.0)
    assert 0 == upstream.streams_completed
    assert upstream.events_sent < 200
    assert gateway.logged(1)[0]["cancelled"] is True


def test_client_disconnect_while_the_upstream_is_silent_cancels_it(
    gateway: Gateway, upstream: StandIn
) -> None:
    """
    A caller that gives up while the upstream has not answered yet: the upstream request is
    cancelled too (the gateway watches for the disconnect, not only for failed writes).
    """
    upstream.scenario = Scenario(text="x" * 50, chunk_size=1)
    upstream.chunk_delay = 0.5
    with (
        pytest.raises(httpx.ReadTimeout),
        httpx.stream(
            "POST", gateway.url + "/v1/messages", json={**MESSAGES, "stream": True}, headers=AUTH, timeout=0.3
        ) as r,
    ):
        for _ in r.iter_raw():
            pass

    assert wait_until(lambda: upstream.streams_cancelled == 1, timeout=3.0)


def test_upstream_silent_mid_stream_breaks_the_callers_stream(
    upstream: StandIn, policy_file: Path, start_gateway: Callable[[GatewayConfig], Gateway]
) -> None:
    """
    An upstream that goes silent after 5 events for longer than `read_timeout`: the caller's
    stream breaks (no clean end), logged as an upstream timeout.
    """
    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, read_timeout=0.3))
    upstream.pause_after, upstream.pause = 5, 3.0
    received: list[bytes] = []

    def read() -> None:
        with httpx.stream(
            "POST",
            gateway.url + "/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers=AUTH,
            timeout=10,
        ) as response:
            received.extend(response.iter_raw())

    with pytest.raises(httpx.RemoteProtocolError):
        read()

    assert received
    assert b"[DONE]" not in b"".join(received)
    assert "timeout" == gateway.logged(1)[-1]["error"]
