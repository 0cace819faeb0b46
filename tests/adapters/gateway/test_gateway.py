"""
The gateway over real loopback sockets: the openai and anthropic SDKs get labeled responses;
other routes pass through unchanged; callers cannot waive their label.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from aigclabel import verify

from tests.helpers import KEY, PRODUCER

from .conftest import Gateway
from .upstream_server import EMBEDDINGS, MODELS, StandIn

MESSAGES: Any = [{"role": "user", "content": "Hello"}]


def _openai(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-caller", max_retries=0)


def _anthropic(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="sk-ant-caller", max_retries=0)


def test_openai_chat_json_is_labeled_with_aigc_field_and_header(gateway: Gateway) -> None:
    """
    A chat completion through the gateway verifies with the policy's key; the body's `aigc` field
    and the `AIGC` header carry the metadata.
    """
    with _openai(gateway) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    text = completion.choices[0].message.content or ""
    verdict = verify(text, key=KEY)
    header = json.loads(raw.headers["AIGC"])

    assert "confirmed" == verdict.tier
    assert PRODUCER == header["AIGC"]["ContentProducer"]
    assert completion.model_extra is not None
    assert "aigc" in completion.model_extra


def test_openai_chat_stream_is_labeled(gateway: Gateway) -> None:
    """
    A streamed chat completion, reassembled by the SDK, verifies intact.
    """
    with _openai(gateway) as client:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert "confirmed" == verify(text, key=KEY).tier
    assert text.startswith("Hello! How can I help you today?")


def test_openai_responses_json_and_stream_are_labeled(gateway: Gateway) -> None:
    """
    The Responses API, JSON and streamed, verifies intact.
    """
    with _openai(gateway) as client:
        response = client.responses.create(model="gpt-4o-mini", input="Hello")
        with client.responses.stream(model="gpt-4o-mini", input="Hello") as stream:
            final = stream.get_final_response()

    assert "confirmed" == verify(response.output_text, key=KEY).tier
    assert "confirmed" == verify(final.output_text, key=KEY).tier


def test_legacy_completions_are_labeled(gateway: Gateway) -> None:
    """
    Legacy completions go through the same rewriter.
    """
    with _openai(gateway) as client:
        completion = client.completions.create(model="gpt-4o-mini", prompt="Hello")

    assert "confirmed" == verify(completion.choices[0].text, key=KEY).tier


def test_anthropic_messages_json_and_stream_are_labeled(gateway: Gateway) -> None:
    """
    Anthropic messages, JSON and streamed (the SDK's stream helper), verify intact.
    """
    with _anthropic(gateway) as client:
        message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as stream:
            streamed = stream.get_final_text()

    text = message.content[0].text if message.content[0].type == "text" else ""
    assert "confirmed" == verify(text, key=KEY).tier
    assert "confirmed" == verify(streamed, key=KEY).tier


def test_callers_credentials_are_forwarded_without_tenants(gateway: Gateway, upstream: StandIn) -> None:
    """
    Without tenants the caller's own key goes upstream as sent.
    """
    with _openai(gateway) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with _anthropic(gateway) as aclient:
        aclient.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)

    assert "Bearer sk-caller" == upstream.requests[0].headers["authorization"]
    sent = upstream.requests[1].headers  # this SDK sends a bearer; older ones x-api-key
    assert "sk-ant-caller" in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))


def test_models_and_embeddings_pass_through_unchanged(gateway: Gateway) -> None:
    """
    `GET /v1/models` and `POST /v1/embeddings` come back byte for byte, with no label.
    """
    with _openai(gateway) as client:
        models = client.models.with_raw_response.list()
        embeddings = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hi")

    assert json.dumps(MODELS).encode() == models.http_response.content
    assert json.dumps(EMBEDDINGS).encode() == embeddings.http_response.content
    assert "aigc" not in models.headers
    assert [0.125, -0.25, 0.5] == embeddings.parse().data[0].embedding


def test_retrieval_of_a_stored_completion_is_labeled(gateway: Gateway) -> None:
    """
    `GET /v1/chat/completions/{id}` releases stored generated text: labeled too.
    """
    response = httpx.get(
        gateway.url + "/v1/chat/completions/chatcmpl-1", headers={"authorization": "Bearer k"}
    )

    assert 200 == response.status_code
    assert "confirmed" == verify(response.json()["choices"][0]["message"]["content"], key=KEY).tier


def test_control_headers_are_stripped_from_untrusted_callers(gateway: Gateway, upstream: StandIn) -> None:
    """
    A caller's `x-aigc-opt-out` neither reaches the upstream nor waives the visible label.
    """
    headers = {"x-aigc-opt-out": "v1", "x-aigc-user": "mallory", "authorization": "Bearer k"}
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    response = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers)
    text = response.json()["choices"][0]["message"]["content"]

    assert not any(name.startswith("x-aigc-") for name in upstream.last.headers)
    assert verify(text, key=KEY).evidence.explicit
    assert "confirmed" == verify(text, key=KEY).tier


def test_watermarking_false_is_stripped_from_untrusted_callers(gateway: Gateway, upstream: StandIn) -> None:
    """
    vLLM's `"watermarking": false` is removed from the body; the rest of the body is kept.
    """
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "watermarking": False, "temperature": 0.5}
    httpx.post(gateway.url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer k"})
    sent = json.loads(upstream.last.body)

    assert "watermarking" not in sent
    assert 0.5 == sent["temperature"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings"])
def test_trusted_control_passes_watermarking_and_control_headers(
    upstream: StandIn, policy_file: Any, start_gateway: Any, path: str
) -> None:
    """
    With `trusted_control` the body's switch and the `x-aigc-*` headers reach the labeling
    transport (which consumes the headers; the body goes upstream as sent).
    """
    from aigclabel.adapters.gateway import GatewayConfig

    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, trusted_control=True))
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "watermarking": False}
    httpx.post(gateway.url + path, json=body, headers={"x-aigc-language": "en", "authorization": "Bearer k"})

    assert json.loads(upstream.last.body)["watermarking"] is False


def test_upstream_cookies_are_never_carried_to_another_request(gateway: Gateway, upstream: StandIn) -> None:
    """
    The shared upstream client keeps no cookies: a `Set-Cookie` answered to one caller reaches
    that caller, and is not sent upstream with the next request.
    """
    first = httpx.get(gateway.url + "/v1/models", headers={"authorization": "Bearer k"})
    httpx.get(gateway.url + "/v1/models", headers={"authorization": "Bearer other"})

    assert "session=upstream-secret; Path=/" == first.headers["set-cookie"]
    assert "cookie" not in upstream.requests[1].headers


def test_a_body_over_the_limit_is_413(upstream: StandIn, policy_file: Any, start_gateway: Any) -> None:
    """
    A request body over `max_body_bytes` is refused before anything goes upstream.
    """
    from aigclabel.adapters.gateway import GatewayConfig

    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=upstream.url, max_body_bytes=4096))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 8192}]}
    response = httpx.post(
        gateway.url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer k"}
    )

    assert 413 == response.status_code
    assert "request_too_large" == response.json()["error"]["type"]
    assert [] == upstream.requests
