"""
The Node `openai` package against the labeling gateway, over real sockets on 127.0.0.1.

The client (`node/client.mjs`, the `openai` version pinned in `node/package.json`) changes only its
base URL to the gateway's; the gateway talks to the stand-in upstream. scripts/test-node.sh installs
the pinned npm package (`make test` runs it); the test fails, never skips, when Node or the package
is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel import LabelPolicy, verify
from aigclabel.adapters.gateway import GatewayConfig, create_gateway_app

from tests.adapters.gateway.upstream_server import ServerThread, StandIn
from tests.helpers import KEY, PRODUCER, visible
from tests.middleware.upstream import Scenario

NODE_DIR = Path(__file__).resolve().parent / "node"
#: Seconds the client may take for both calls.
CLIENT_TIMEOUT = 60.0
TEXT = "杭州是浙江省的省会，以西湖闻名。The gateway labels this answer for a Node client. " * 3
API_KEY = "sk-node-client"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: the Node client test needs Node.js >= 20 with npm")
    return path


def _installed() -> None:
    """
    The pinned `openai` package must be in node/node_modules: scripts/test-node.sh installs it
    (`make test` runs it first); the test itself never downloads anything.
    """
    _tool("node")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").is_file():
        pytest.fail(
            "the Node client's `openai` package is not installed: run `bash scripts/test-node.sh` "
            "(npm ci in tests/adapters/gateway/node)"
        )


@pytest.fixture(name="gateway_url", scope="module")
def _gateway_url() -> Iterator[tuple[str, StandIn]]:
    with StandIn(Scenario(text=TEXT, chunk_size=7)) as upstream:
        config = GatewayConfig(upstream=upstream.url, policy=LabelPolicy(producer=PRODUCER, key=KEY))
        server = ServerThread(create_gateway_app(config))
        url = server.start()
        try:
            yield url, upstream
        finally:
            server.stop()


@pytest.fixture(name="result", scope="module")
def _result(gateway_url: tuple[str, StandIn]) -> dict[str, Any]:
    """
    What `node client.mjs` printed for one JSON and one streamed call through the gateway.
    """
    return _run_client(gateway_url[0] + "/v1")


def _run_client(base_url: str) -> dict[str, Any]:
    _installed()
    command = [_tool("node"), "client.mjs", base_url, API_KEY]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIGCLABEL_"))}
    try:
        done = subprocess.run(
            command,
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`node client.mjs {base_url}` did not finish within {CLIENT_TIMEOUT:.0f} s")
    assert done.returncode == 0, f"node client.mjs failed (exit {done.returncode}):\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_node_openai_package_gets_a_labeled_json_chat_completion(
    gateway_url: tuple[str, StandIn], result: dict[str, Any]
) -> None:
    """
    Through the gateway, the Node SDK's JSON answer (pinned `openai` version) verifies intact with
    the producer's key and keeps the upstream's text; the body carries `aigc` (stage end) and the
    response the `AIGC` header, both naming the ProduceID whose mark id the text carries; the
    caller's bearer reached the upstream unchanged.
    """
    _, upstream = gateway_url
    pinned = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]["openai"]

    answer = result["json"]
    verdict = verify(answer["text"], key=KEY)
    header = json.loads(answer["header"])

    assert result["sdk"] == pinned
    assert verdict.status == "intact"
    assert TEXT in visible(answer["text"])
    # A short answer carries a micro seal: the text gives its mark id, the label data the rest.
    item = answer["aigc"]["items"][0]
    assert (answer["aigc"]["stage"], item["mark_id"]) == ("end", verdict.mark_id)
    assert header["AIGC"]["ProduceID"] == item["produce_id"]
    assert {r.headers.get("authorization") for r in upstream.requests} == {f"Bearer {API_KEY}"}


def test_node_openai_stream_carries_the_tag_first_and_the_label_data_last(result: dict[str, Any]) -> None:
    """
    The Node SDK's stream: the first chunk with text carries `aigc` stage start, the last chunk
    carrying `aigc` has stage end, both for the ProduceID of the text, which verifies intact.
    """
    stream = result["stream"]
    verdict = verify(stream["text"], key=KEY)
    tagged = stream["aigc"]
    first, last = tagged[0], tagged[-1]

    assert verdict.status == "intact"
    assert TEXT in visible(stream["text"])
    assert (first["chunk"], first["has_text"], first["aigc"]["stage"]) == (
        stream["first_text_chunk"],
        True,
        "start",
    )
    assert last["aigc"]["stage"] == "end"
    assert {first["aigc"]["items"][0]["mark_id"], last["aigc"]["items"][0]["mark_id"]} == {verdict.mark_id}
    assert first["aigc"]["items"][0]["produce_id"] == last["aigc"]["items"][0]["produce_id"]
    assert [t["aigc"]["stage"] for t in tagged] == ["start", "end"]
