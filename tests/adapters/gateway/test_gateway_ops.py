"""
Operations: `/healthz`, `/readyz`, `/metrics`, the access log, and clear configuration errors.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aigclabel.adapters.cli import EXIT_BAD_INPUT, main
from aigclabel.adapters.gateway import GatewayConfig, GatewayConfigError
from aigclabel.exceptions import AIGCLabelError

from tests.helpers import KEY, PRODUCER
from tests.middleware.upstream import Scenario

from .conftest import GATEWAY_KEY_A, Gateway
from .upstream_server import StandIn, free_port

CHAT: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
AUTH = {"authorization": "Bearer sk-secret-caller-key"}


def test_healthz_and_readyz_are_ok_with_the_upstream_up(gateway: Gateway) -> None:
    """
    Both answer 200; readiness names the upstream check.
    """
    health = httpx.get(gateway.url + "/healthz")
    ready = httpx.get(gateway.url + "/readyz")

    assert (200, {"status": "ok"}) == (health.status_code, health.json())
    assert 200 == ready.status_code
    assert "ok" == ready.json()["checks"]["upstream"]


def test_readyz_is_503_when_the_upstream_is_down(
    policy_file: Path, start_gateway: Callable[[GatewayConfig], Gateway]
) -> None:
    """
    Nothing listening upstream: not ready (the process is still healthy).
    """
    gateway = start_gateway(GatewayConfig.load(policy_file, upstream=f"http://127.0.0.1:{free_port()}"))
    ready = httpx.get(gateway.url + "/readyz")

    assert 503 == ready.status_code
    assert ready.json()["checks"]["upstream"].startswith("unreachable")
    assert 200 == httpx.get(gateway.url + "/healthz").status_code


def test_readyz_is_503_when_the_sqlite_record_store_cannot_be_written(
    tmp_path: Path, upstream: StandIn, start_gateway: Callable[[GatewayConfig], Gateway]
) -> None:
    """
    A record store whose folder does not exist: not ready.
    """
    policy = tmp_path / "p.toml"
    missing = tmp_path / "missing"
    policy.write_text(
        f'producer = "{PRODUCER}"\nkey = "{KEY}"\naudit_store = "sqlite:///{missing}/audit.db"\n',
        encoding="utf-8",
    )
    gateway = start_gateway(GatewayConfig.load(policy, upstream=upstream.url))
    ready = httpx.get(gateway.url + "/readyz")

    assert 503 == ready.status_code
    assert ready.json()["checks"]["record_store_0"].startswith("not writable")


def test_metrics_count_requests_labeled_and_upstream_errors(gateway: Gateway, upstream: StandIn) -> None:
    """
    After traffic `/metrics` has the counters and the added-latency histograms, per tenant.
    """
    httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers=AUTH)
    httpx.post(gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH)
    upstream.scenario = Scenario(status=500)
    httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers=AUTH)
    gateway.logged(3)
    text = httpx.get(gateway.url + "/metrics").text

    assert 'aigc_gateway_requests_total{status="200",tenant="default"} 2.0' in text
    assert 'aigc_gateway_requests_total{status="500",tenant="default"} 1.0' in text
    assert 'aigc_gateway_labeled_total{tenant="default"} 2.0' in text
    assert 'aigc_gateway_upstream_errors_total{kind="status",tenant="default"} 1.0' in text
    assert 'aigc_gateway_added_ttft_milliseconds_count{tenant="default"} 3.0' in text
    assert "aigc_gateway_chunk_added_milliseconds_bucket" in text


def test_access_log_has_one_event_per_request_and_no_secrets(gateway: Gateway) -> None:
    """
    One JSON event a request with the documented fields; keys and queries never appear.
    """
    headers = {**AUTH, "x-end-user": "u-42"}
    httpx.post(gateway.url + "/v1/chat/completions?api-key=sk-in-query", json=CHAT, headers=headers)
    entries = gateway.logged(1)
    raw = gateway.log_stream.getvalue()

    assert 1 == len(entries)
    expected = {"method", "path", "status", "tenant", "user", "duration_ms", "labeled", "opted_out"}
    assert expected <= set(entries[0])
    assert ("/v1/chat/completions", "u-42", 200, True) == (
        entries[0]["path"],
        entries[0]["user"],
        entries[0]["status"],
        entries[0]["labeled"],
    )
    assert "sk-secret-caller-key" not in raw
    assert "sk-in-query" not in raw


def test_config_repr_hides_gateway_keys_and_secrets(policy_file: Path, tenants_file: Path) -> None:
    """
    Neither gateway keys nor upstream keys nor labeling keys show in the repr.
    """
    config = GatewayConfig.load(policy_file, upstream="http://127.0.0.1:1", tenants_file=tenants_file)

    assert GATEWAY_KEY_A not in repr(config)
    assert "sk-upstream-a" not in repr(config)
    assert KEY not in repr(config)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD_POLICY = f'producer = "{PRODUCER}"\nkey = "{KEY}"\n'


@pytest.mark.parametrize(
    ("policy", "tenants", "settings", "message"),
    [
        (None, None, {}, "cannot be read"),
        ("producer = [", None, {}, "is not valid TOML"),
        (b"\xff\xfe", None, {}, "is not UTF-8"),
        ('producer = "123"\n', None, {}, "producer"),
        (GOOD_POLICY + "\n[gateway]\nfrobnicate = 1\n", None, {}, "frobnicate"),
        (GOOD_POLICY, None, {"upstream": "ftp://example.com"}, "upstream"),
        (GOOD_POLICY, None, {"user_header": "authorization"}, "user_header"),
        (GOOD_POLICY, None, {"read_timeout": 0}, "read_timeout"),
        (GOOD_POLICY, '[tenants."gw-0123456789abcdef"]\nname = "a"\n', {}, "must set its own 'producer'"),
        (GOOD_POLICY, f'[tenants."short"]\nname = "a"\nproducer = "{PRODUCER}"\nkey = "{KEY}"\n', {}, "16"),
        (GOOD_POLICY, "[tenant]\n", {}, "has no [tenants] table"),
        (GOOD_POLICY, "[tenants]\n[other]\n", {}, "unknown table or key 'other'"),
        (
            GOOD_POLICY,
            f'[tenants."gw-0123456789abcdef"]\nname = "a"\nproducer = "{PRODUCER}"\nkey = "short"\n',
            {},
            "tenant 'a'",
        ),
    ],
)
def test_bad_configuration_gives_a_clear_error(
    tmp_path: Path, policy: str | bytes | None, tenants: str | None, settings: dict[str, Any], message: str
) -> None:
    """
    Every problem is a `GatewayConfigError` (an `AIGCLabelError` and a `ValueError`) naming the
    file or setting; gateway keys never appear in it.
    """
    policy_file = tmp_path / "missing.toml" if policy is None else _write(tmp_path, "p.toml", policy)
    tenants_file = None if tenants is None else _write(tmp_path, "t.toml", tenants)
    arguments = {"upstream": "http://127.0.0.1:9", **settings}
    with pytest.raises(GatewayConfigError) as err:
        GatewayConfig.load(policy_file, tenants_file=tenants_file, **arguments)

    assert message in str(err.value)
    assert isinstance(err.value, AIGCLabelError)
    assert isinstance(err.value, ValueError)
    assert "0123456789abcdef" not in str(err.value)


def test_serve_with_a_bad_configuration_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    `aigclabel serve` reports a configuration error and exits 3 before binding anything.
    """
    policy = _write(tmp_path, "p.toml", "producer = [")
    code = main(["serve", "--upstream", "http://127.0.0.1:9", "--policy", str(policy)], stdout=io.StringIO())

    assert EXIT_BAD_INPUT == code
    assert "is not valid TOML" in capsys.readouterr().err
