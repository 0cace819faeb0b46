"""
Tenants: gateway keys map to upstream keys and labelers; unknown keys get 401; no cross-talk
between tenants under concurrency.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from aigclabel import verify
from aigclabel.adapters.gateway import GatewayConfig

from tests.helpers import KEY, PRODUCER

from .conftest import (
    GATEWAY_KEY_A,
    GATEWAY_KEY_B,
    KEY_B,
    PRODUCER_B,
    UPSTREAM_KEY_A,
    UPSTREAM_KEY_B,
    Gateway,
)
from .upstream_server import StandIn

MESSAGES: Any = [{"role": "user", "content": "Hello"}]
#: gateway key → (tenant key, producer, upstream key)
TENANTS = {
    GATEWAY_KEY_A: (KEY, PRODUCER, UPSTREAM_KEY_A),
    GATEWAY_KEY_B: (KEY_B, PRODUCER_B, UPSTREAM_KEY_B),
}


@pytest.fixture(name="tenant_gateway")
def _tenant_gateway(
    upstream: StandIn,
    policy_file: Path,
    tenants_file: Path,
    start_gateway: Callable[[GatewayConfig], Gateway],
) -> Gateway:
    return start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, tenants_file=tenants_file))


def test_unknown_gateway_key_is_401_in_each_apis_error_shape(
    tenant_gateway: Gateway, upstream: StandIn
) -> None:
    """
    A key that is no gateway key never reaches the upstream: the openai and anthropic SDKs
    raise their authentication errors.
    """
    with (
        openai.OpenAI(
            base_url=tenant_gateway.url + "/v1", api_key="sk-real-upstream-key", max_retries=0
        ) as oc,
        pytest.raises(openai.AuthenticationError) as oerr,
    ):
        oc.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    ac = anthropic.Anthropic(base_url=tenant_gateway.url, api_key="nope", max_retries=0)
    with ac, pytest.raises(anthropic.AuthenticationError) as aerr:
        ac.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MESSAGES)
    missing = httpx.get(tenant_gateway.url + "/v1/models")

    assert 401 == oerr.value.status_code
    assert "authentication_error" == aerr.value.body["error"]["type"]  # type: ignore[index]
    assert 401 == missing.status_code
    assert [] == upstream.requests


def test_gateway_key_is_replaced_by_the_tenants_upstream_key(
    tenant_gateway: Gateway, upstream: StandIn
) -> None:
    """
    The upstream sees the tenant's key, in the header the caller used, never the gateway key.
    """
    httpx.get(tenant_gateway.url + "/v1/models", headers={"authorization": f"Bearer {GATEWAY_KEY_A}"})
    httpx.get(tenant_gateway.url + "/v1/models", headers={"x-api-key": GATEWAY_KEY_B})

    assert f"Bearer {UPSTREAM_KEY_A}" == upstream.requests[0].headers["authorization"]
    assert UPSTREAM_KEY_B == upstream.requests[1].headers["x-api-key"]
    assert "x-api-key" not in upstream.requests[0].headers
    assert "authorization" not in upstream.requests[1].headers


def test_tenants_are_isolated_under_concurrency(tenant_gateway: Gateway, upstream: StandIn) -> None:
    """
    24 concurrent requests from two tenants (JSON and streams, chat and messages): each response
    verifies with its own tenant's key and producer, and not with the other tenant's key.
    """
    upstream.chunk_delay = 0.002  # streams overlap in time

    async def one(index: int) -> tuple[str, str, str | None]:
        gateway_key = GATEWAY_KEY_A if index % 2 else GATEWAY_KEY_B
        stream = index % 4 >= 2
        if index % 3 == 0:
            async with anthropic.AsyncAnthropic(
                base_url=tenant_gateway.url, api_key=gateway_key, max_retries=0
            ) as aclient:
                if stream:
                    async with aclient.messages.stream(
                        model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES
                    ) as s:
                        return gateway_key, await s.get_final_text(), None
                raw = await aclient.messages.with_raw_response.create(
                    model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES
                )
                message = await raw.parse()
                block = message.content[0]
                return gateway_key, block.text if block.type == "text" else "", raw.headers.get("aigc")
        async with openai.AsyncOpenAI(
            base_url=tenant_gateway.url + "/v1", api_key=gateway_key, max_retries=0
        ) as client:
            if stream:
                chunks = await client.chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES, stream=True
                )
                text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
                return gateway_key, text, None
            raw_chat = await client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
            completion = raw_chat.parse()
            return gateway_key, completion.choices[0].message.content or "", raw_chat.headers.get("aigc")

    async def run() -> list[tuple[str, str, str | None]]:
        return await asyncio.gather(*(one(i) for i in range(24)))

    results = asyncio.run(run())

    for gateway_key, text, header in results:
        key, producer, _ = TENANTS[gateway_key]
        other_key = KEY_B if key == KEY else KEY
        verdict = verify(text, key=key)
        assert "confirmed" == verdict.tier, gateway_key
        assert verdict.metadata is None or producer == verdict.metadata.content_producer
        assert "intact" != verify(text, key=other_key).status
        if header is not None:
            assert producer == json.loads(header)["AIGC"]["ContentProducer"]
    sent_keys = {r.headers.get("authorization") or r.headers.get("x-api-key") for r in upstream.requests}
    assert {f"Bearer {UPSTREAM_KEY_A}", f"Bearer {UPSTREAM_KEY_B}"} == sent_keys
    assert {"a", "b"} == {e["tenant"] for e in tenant_gateway.logged(24)}
    assert 24 == len(tenant_gateway.access_log)
