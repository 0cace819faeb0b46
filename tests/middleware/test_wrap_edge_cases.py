"""
``wrap()`` and ``transport_classes()`` on inputs a user meets less often: mounts that disable a transport
for some URLs, an HTTP library that was never imported, and a module that is no HTTP library.
"""

from __future__ import annotations

import json
import sys

import httpx2
import pytest
from aigclabel import Labeler, verify
from aigclabel.middleware import transport_classes, wrap
from aigclabel.middleware.httpx2 import LabelingTransport

from tests.helpers import KEY
from tests.middleware.upstream import Scenario, handler

URL = "http://upstream.test/v1/chat/completions"
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
TEXT = "Each mounted route is labeled by the same labeler as the default transport."


def test_a_mount_set_to_none_still_uses_the_labeled_default_transport(labeler: Labeler) -> None:
    """
    A `None` mount (no proxy for that host) stays `None` after `wrap()`; requests to it are labeled by the
    default transport.
    """
    client = httpx2.Client(
        transport=handler(httpx2, Scenario(text=TEXT)).transport(), mounts={"all://upstream.test": None}
    )

    wrapped = wrap(client, labeler)
    body = wrapped.post(URL, json=REQUEST).json()

    assert ([None], "confirmed") == (
        list(wrapped._mounts.values()),
        verify(body["choices"][0]["message"]["content"], key=KEY).tier,
    )


def test_wrap_works_when_the_other_http_library_was_never_imported(
    labeler: Labeler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    With only `httpx2` imported (no `httpx` in `sys.modules`), an `httpx2` client is wrapped and labels.
    """
    monkeypatch.delitem(sys.modules, "httpx", raising=False)
    client = httpx2.Client(transport=handler(httpx2, Scenario(text=TEXT)).transport())

    body = wrap(client, labeler).post(URL, json=REQUEST).json()

    assert (True, "confirmed") == (
        isinstance(client._transport, LabelingTransport),
        verify(body["choices"][0]["message"]["content"], key=KEY).tier,
    )


def test_transport_classes_refuses_a_module_that_is_no_http_library() -> None:
    """
    `transport_classes()` names the libraries it supports when given another module.
    """
    with pytest.raises(TypeError, match="labeling transports exist for httpx and httpx2, not json"):
        transport_classes(json)
