"""
Fixtures for the gateway tests: the stand-in upstream on a loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .upstream_server import StandIn


@pytest.fixture(name="upstream")
def _upstream() -> Iterator[StandIn]:
    """
    A started stand-in upstream (OpenAI and Anthropic, JSON and SSE), stopped after the test.
    """
    with StandIn() as server:
        yield server
