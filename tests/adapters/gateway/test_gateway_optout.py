"""
Art. 9 opt-out at the gateway: granted only by the operator's consent store, for agreement
versions the policy accepts; the record is committed before the first byte of unlabeled text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aigclabel import verify
from aigclabel.adapters.asgi.consent import SQLiteConsentStore
from aigclabel.adapters.audit import AuditStore
from aigclabel.adapters.gateway import GatewayConfig

from tests.helpers import CHAIN_KEY, KEY, PRODUCER
from tests.middleware.upstream import Scenario, sse_events

from .conftest import GATEWAY_KEY_A, GATEWAY_KEY_B, KEY_B, Gateway
from .upstream_server import StandIn

CHAT: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(name="store_url")
def _store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(name="optout_gateway")
def _optout_gateway(
    tmp_path: Path, store_url: str, upstream: StandIn, start_gateway: Callable[[GatewayConfig], Gateway]
) -> Gateway:
    """
    A gateway whose consent store says: alice opted out under v1 (accepted), bob under v0 (not).
    """
    policy = tmp_path / "optout-policy.toml"
    policy.write_text(
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\naudit_store = "{store_url}"\nopt_out_agreements = ["v1"]\n'
        f'audit_chain_key = "{CHAIN_KEY}"\n'
        '\n[gateway]\nuser_header = "x-end-user"\n',
        encoding="utf-8",
    )
    consent = tmp_path / "consent.db"
    with SQLiteConsentStore(consent) as store:
        store.set("alice", opted_out=True, agreement_version="v1")
        store.set("bob", opted_out=True, agreement_version="v0")
    return start_gateway(GatewayConfig.load(policy, upstream=upstream.url, consent_store=str(consent)))


def _has_text(body: bytes) -> bool:
    """
    Whether any complete chat chunk in *body* carries text.
    """
    for event, data in sse_events(body.rpartition(b"\n\n")[0]):
        if event is None and data.startswith("{"):
            for choice in json.loads(data).get("choices", []):
                if choice.get("delta", {}).get("content"):
                    return True
    return False


def _records(store_url: str, user: str) -> list[str]:
    store = AuditStore.open(store_url, chain_key=CHAIN_KEY.encode())
    try:
        return [record.kind for record in store.query(user=user)]
    finally:
        store.close()


def test_opt_out_record_is_committed_before_the_first_byte(
    optout_gateway: Gateway, upstream: StandIn, store_url: str
) -> None:
    """
    When alice's first streamed byte arrives, her record is already in the store; her text has
    no visible label but its marks verify.
    """
    upstream.scenario = Scenario(chunk_size=2)
    upstream.chunk_delay = 0.02
    headers = {"x-end-user": "alice", "authorization": "Bearer k"}
    received = b""
    at_first_text: list[str] | None = None
    with httpx.stream(
        "POST", optout_gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers
    ) as response:
        for chunk in response.iter_raw():
            received += chunk
            if at_first_text is None and _has_text(received):
                at_first_text = _records(store_url, "alice")  # the upstream is still streaming
    body = received

    assert at_first_text is not None
    assert "generated" in at_first_text
    text = "".join(
        choice["delta"].get("content") or ""
        for event, data in sse_events(body)
        if data.startswith("{")
        for choice in json.loads(data).get("choices", [])
    )
    assert () == verify(text, key=KEY).evidence.explicit
    assert "confirmed" == verify(text, key=KEY).tier
    assert "alice" == optout_gateway.logged(1)[-1]["user"]
    assert optout_gateway.logged(1)[-1]["opted_out"] is True


def test_opt_out_json_is_recorded_and_released_without_the_visible_label(
    optout_gateway: Gateway, store_url: str
) -> None:
    """
    A JSON completion for alice: no visible label, marks intact, a record in the store.
    """
    headers = {"x-end-user": "alice", "authorization": "Bearer k"}
    response = httpx.post(optout_gateway.url + "/v1/chat/completions", json=CHAT, headers=headers)
    text = response.json()["choices"][0]["message"]["content"]

    assert () == verify(text, key=KEY).evidence.explicit
    assert "confirmed" == verify(text, key=KEY).tier
    assert "generated" in _records(store_url, "alice")
    optout_gateway.logged(1)
    assert (
        'aigc_gateway_opted_out_total{tenant="default"} 1.0'
        in httpx.get(optout_gateway.url + "/metrics").text
    )


@pytest.mark.parametrize("user", ["bob", "carol"])
def test_opt_out_under_an_unaccepted_agreement_or_without_consent_keeps_the_label(
    optout_gateway: Gateway, store_url: str, user: str
) -> None:
    """
    bob's agreement version is not accepted, carol never opted out: both get the visible label.
    """
    headers = {"x-end-user": user, "authorization": "Bearer k"}
    response = httpx.post(optout_gateway.url + "/v1/chat/completions", json=CHAT, headers=headers)
    text = response.json()["choices"][0]["message"]["content"]

    assert verify(text, key=KEY).evidence.explicit
    assert optout_gateway.logged(1)[-1]["opted_out"] is False


def test_caller_cannot_opt_out_with_control_headers(optout_gateway: Gateway, store_url: str) -> None:
    """
    `x-aigc-opt-out` and `x-aigc-user` from an untrusted caller do nothing: label, no record.
    """
    headers = {"x-aigc-opt-out": "v1", "x-aigc-user": "mallory", "authorization": "Bearer k"}
    response = httpx.post(optout_gateway.url + "/v1/chat/completions", json=CHAT, headers=headers)

    assert verify(response.json()["choices"][0]["message"]["content"], key=KEY).evidence.explicit
    assert [] == _records(store_url, "mallory")


def test_with_tenants_users_are_namespaced_by_tenant(
    tmp_path: Path, store_url: str, upstream: StandIn, tenants_file: Path, start_gateway: Any
) -> None:
    """
    Consent recorded for `a:alice` opts alice out for tenant a only; tenant b's caller naming
    "alice" gets the label.
    """
    policy = tmp_path / "optout-policy.toml"
    policy.write_text(
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\naudit_store = "{store_url}"\nopt_out_agreements = ["v1"]\n'
        f'audit_chain_key = "{CHAIN_KEY}"\n',
        encoding="utf-8",
    )
    consent = tmp_path / "consent.db"
    with SQLiteConsentStore(consent) as store:
        store.set("a:alice", opted_out=True, agreement_version="v1")
    gateway = start_gateway(
        GatewayConfig.load(
            policy,
            upstream=upstream.url,
            tenants_file=tenants_file,
            consent_store=str(consent),
            user_header="x-end-user",
        )
    )
    texts = {}
    for name, key in (("a", GATEWAY_KEY_A), ("b", GATEWAY_KEY_B)):
        headers = {"x-end-user": "alice", "authorization": f"Bearer {key}"}
        response = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers=headers)
        texts[name] = response.json()["choices"][0]["message"]["content"]

    assert () == verify(texts["a"], key=KEY).evidence.explicit
    assert verify(texts["b"], key=KEY_B).evidence.explicit
    assert ["a:alice", "b:alice"] == [e["user"] for e in gateway.logged(2)]
    assert "generated" in _records(store_url, "a:alice")


def test_opt_out_whose_record_cannot_be_written_is_released_labeled(
    tmp_path: Path, upstream: StandIn, start_gateway: Any
) -> None:
    """
    A record store that cannot be written: alice's completion is not released unlabeled — the
    labeler falls back to the visible label (the policy's `opt_out_on_error = "label"`).
    """
    missing = tmp_path / "missing" / "audit.db"
    policy = tmp_path / "broken-policy.toml"
    policy.write_text(
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\naudit_store = "sqlite:///{missing}"\n'
        f'opt_out_agreements = ["v1"]\naudit_chain_key = "{CHAIN_KEY}"\naudit_timeout_seconds = 2\n',
        encoding="utf-8",
    )
    consent = tmp_path / "consent.db"
    with SQLiteConsentStore(consent) as store:
        store.set("alice", opted_out=True, agreement_version="v1")
    gateway = start_gateway(
        GatewayConfig.load(
            policy, upstream=upstream.url, consent_store=str(consent), user_header="x-end-user"
        )
    )
    headers = {"x-end-user": "alice", "authorization": "Bearer k"}
    for stream in (False, True):
        body = {**CHAT, "stream": stream}
        response = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=20)
        text = (
            response.json()["choices"][0]["message"]["content"]
            if not stream
            else "".join(
                choice["delta"].get("content") or ""
                for _, data in sse_events(response.content)
                if data.startswith("{")
                for choice in json.loads(data).get("choices", [])
            )
        )

        assert 200 == response.status_code
        assert verify(text, key=KEY).evidence.explicit
