"""
The public labeling transports, and ``wrap()`` as sugar over them that never changes what
another holder of a shared HTTP client gets.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tomllib
from types import ModuleType
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy, MissingDependencyError, verify
from aigclabel.middleware import AlreadyWrappedError, transport_classes, wrap
from aigclabel.middleware import httpx as mw_httpx
from aigclabel.middleware import httpx2 as mw_httpx2

from tests.helpers import KEY, PRODUCER, REPO
from tests.middleware.upstream import Scenario, handler

URL = "http://upstream.test/v1/chat/completions"
REQUEST: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
TEXT = "Each tenant's answers carry that tenant's own key, and nobody else's."
KEY_B = "9f0d7c2b4a6e81357d2c0b9e4f6a8d1c"
MODULES = pytest.mark.parametrize(
    ("lib", "module"), [(httpx, mw_httpx), (httpx2, mw_httpx2)], ids=["httpx", "httpx2"]
)


@pytest.fixture(name="labeler_b")
def _labeler_b() -> Labeler:
    """
    A second tenant's labeler: the same producer, another key.
    """
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY_B))


def _content(completion: Any) -> str:
    return str(completion.choices[0].message.content)


def _openai(http_client: httpx2.Client) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url="http://upstream.test/v1", http_client=http_client)


def _shared() -> httpx2.Client:
    return httpx2.Client(transport=handler(httpx2, Scenario(text=TEXT)).transport())


@MODULES
def test_transport_composes_into_a_client(lib: ModuleType, module: ModuleType, labeler: Labeler) -> None:
    """
    ``Client(transport=LabelingTransport(inner, labeler))`` labels what *inner* returns.
    """
    inner = handler(lib, Scenario(text=TEXT)).transport()
    with lib.Client(transport=module.LabelingTransport(inner, labeler)) as client:
        body = client.post(URL, json=REQUEST).json()

    assert "intact" == verify(body["choices"][0]["message"]["content"], key=KEY).status


@MODULES
def test_async_transport_composes_into_a_client(
    lib: ModuleType, module: ModuleType, labeler: Labeler
) -> None:
    """
    ``AsyncClient(transport=AsyncLabelingTransport(inner, labeler))`` labels what *inner* returns.
    """
    inner = handler(lib, Scenario(text=TEXT)).transport()

    async def main() -> Any:
        async with lib.AsyncClient(transport=module.AsyncLabelingTransport(inner, labeler)) as client:
            return (await client.post(URL, json=REQUEST)).json()

    body = asyncio.run(main())

    assert "intact" == verify(body["choices"][0]["message"]["content"], key=KEY).status


@MODULES
def test_transports_are_module_level_subclasses_of_the_public_bases(
    lib: ModuleType, module: ModuleType
) -> None:
    """
    The classes are importable by name and subclass the library's own public base transports.
    """
    assert (True, True) == (
        issubclass(module.LabelingTransport, lib.BaseTransport),
        issubclass(module.AsyncLabelingTransport, lib.AsyncBaseTransport),
    )
    assert (f"aigclabel.middleware.{lib.__name__}", "LabelingTransport") == (
        module.LabelingTransport.__module__,
        module.LabelingTransport.__qualname__,
    )


@MODULES
def test_transport_classes_returns_the_public_classes(lib: ModuleType, module: ModuleType) -> None:
    """
    The 0.1 helper returns the same importable classes, built once.
    """
    assert (module.LabelingTransport, module.AsyncLabelingTransport) == transport_classes(lib)


@MODULES
def test_close_closes_the_wrapped_transport(lib: ModuleType, module: ModuleType, labeler: Labeler) -> None:
    """
    Closing a composed client closes the transport it wraps.
    """
    closed: list[bool] = []

    class Inner(lib.BaseTransport):  # type: ignore[name-defined,misc]
        def close(self) -> None:
            closed.append(True)

    lib.Client(transport=module.LabelingTransport(Inner(), labeler)).close()

    assert [True] == closed


def test_a_labeler_of_another_type_is_refused() -> None:
    """
    The transport checks its labeler when it is made, not at the first response.
    """
    with pytest.raises(TypeError, match=r"aigclabel\.Labeler"):
        mw_httpx.LabelingTransport(httpx.MockTransport(lambda r: httpx.Response(200)), object())  # type: ignore[arg-type]


def test_two_tenants_sharing_one_http_client_get_their_own_keys(labeler: Labeler, labeler_b: Labeler) -> None:
    """
    Two openai clients sharing one httpx2 client, wrapped with two tenants' labelers: each
    tenant's answers verify under its own key and not under the other's.
    """
    shared = _shared()
    tenant_a = wrap(_openai(shared), labeler)
    tenant_b = wrap(_openai(shared), labeler_b)

    text_a = _content(tenant_a.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    text_b = _content(tenant_b.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert ("intact", "intact") == (verify(text_a, key=KEY).status, verify(text_b, key=KEY_B).status)
    assert ("intact", "intact") != (verify(text_a, key=KEY_B).status, verify(text_b, key=KEY).status)


def test_a_never_wrapped_client_sharing_the_http_client_stays_unlabeled(labeler: Labeler) -> None:
    """
    Wrapping one SDK client does not label another that shares its HTTP client (as
    langchain-openai's clients share one default HTTP client per base URL).
    """
    shared = _shared()
    wrap(_openai(shared), labeler)
    plain = _openai(shared)

    assert TEXT == _content(plain.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))


def test_the_shared_http_client_itself_is_not_changed(labeler: Labeler) -> None:
    """
    The HTTP client given to the SDK keeps its own transport; the wrapped SDK client uses a copy.
    """
    shared = _shared()
    before = shared._transport
    client = wrap(_openai(shared), labeler)

    assert (before, True) == (shared._transport, client._client is not shared)


def test_rewrapping_with_another_labeler_raises(labeler: Labeler, labeler_b: Labeler) -> None:
    """
    A client that already labels with tenant A's labeler is not silently switched to tenant B's.
    """
    client = wrap(_openai(_shared()), labeler)

    with pytest.raises(AlreadyWrappedError, match="its own client") as info:
        wrap(client, labeler_b)

    assert (labeler, labeler_b) == (info.value.existing, info.value.labeler)


def test_an_sdk_client_over_a_labeled_http_client_refuses_another_labeler(
    labeler: Labeler, labeler_b: Labeler
) -> None:
    """
    An HTTP client wrapped with tenant A's labeler, given to an SDK client that is then
    wrapped with tenant B's: an error, not text labeled twice or under the wrong key.
    """
    http_client = wrap(_shared(), labeler)

    with pytest.raises(AlreadyWrappedError):
        wrap(_openai(http_client), labeler_b)


def test_an_http_client_wrapped_twice_with_another_labeler_raises(
    labeler: Labeler, labeler_b: Labeler
) -> None:
    """
    The same rule holds for a plain HTTP client wrapped in place.
    """
    client = wrap(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))), labeler)

    with pytest.raises(AlreadyWrappedError):
        wrap(client, labeler_b)


def test_rewrapping_with_the_same_labeler_is_a_no_op(labeler: Labeler) -> None:
    """
    Wrapping again with the same labeler keeps the one labeling copy.
    """
    client = wrap(_openai(_shared()), labeler)
    first = client._client

    assert first is wrap(client, labeler)._client


def test_an_sdk_client_over_an_http_client_labeled_by_the_same_labeler_is_left_alone(
    labeler: Labeler,
) -> None:
    """
    No copy and no second labeling layer when the HTTP client already labels with this labeler.
    """
    http_client = wrap(_shared(), labeler)
    client = wrap(_openai(http_client), labeler)

    text = _content(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert (True, "intact") == (client._client is http_client, verify(text, key=KEY).status)


def test_closing_a_wrapped_sdk_client_leaves_the_shared_pool_open(labeler: Labeler) -> None:
    """
    The copy does not own the shared transport: closing one tenant's client keeps the
    other holders' connections.
    """
    closed: list[bool] = []

    class Inner(httpx2.MockTransport):
        def close(self) -> None:
            closed.append(True)

    shared = httpx2.Client(transport=Inner(handler(httpx2, Scenario(text=TEXT))))
    wrap(_openai(shared), labeler).close()
    text = _content(_openai(shared).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert ([], TEXT) == (closed, text)


def test_with_options_copies_made_after_wrapping_are_labeled(labeler: Labeler) -> None:
    """
    ``with_options()`` copies share the wrapped client's labeling HTTP client.
    """
    client = wrap(_openai(_shared()), labeler).with_options(timeout=5)

    text = _content(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert "intact" == verify(text, key=KEY).status


def test_async_sdk_clients_sharing_an_http_client_get_their_own_keys(
    labeler: Labeler, labeler_b: Labeler
) -> None:
    """
    The same for ``anthropic.AsyncAnthropic`` over one ``httpx2.AsyncClient``.
    """
    shared = httpx2.AsyncClient(transport=handler(httpx2, Scenario(text=TEXT)).transport())

    def client(lab: Labeler) -> anthropic.AsyncAnthropic:
        return wrap(
            anthropic.AsyncAnthropic(api_key="test", base_url="http://upstream.test", http_client=shared), lab
        )

    async def main() -> list[str]:
        out = []
        for tenant in (client(labeler), client(labeler_b)):
            message = await tenant.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES
            )
            block = message.content[0]
            assert block.type == "text"
            out.append(block.text)
        return out

    text_a, text_b = asyncio.run(main())

    assert ("intact", "intact") == (verify(text_a, key=KEY).status, verify(text_b, key=KEY_B).status)


def test_the_httpx2_module_names_an_extra_that_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without httpx2 installed, importing its transports raises MissingDependencyError naming
    an extra of pyproject.toml that installs it (with the openai SDK).
    """
    monkeypatch.setitem(sys.modules, "httpx2", None)  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, "aigclabel.middleware.httpx2")

    with pytest.raises(MissingDependencyError) as info:
        importlib.import_module("aigclabel.middleware.httpx2")

    extras = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]
    brings = [d for d in extras[info.value.extra] if d.startswith(info.value.package)]
    assert (True, "pip install 'aigc-label[openai]'") == (bool(brings), str(info.value).rpartition(": ")[2])


def test_importing_the_middleware_loads_no_http_library() -> None:
    """
    ``import aigclabel.middleware`` loads neither httpx nor httpx2; wrap() finds the library
    from the client it is given.
    """
    import subprocess

    code = "import sys, aigclabel.middleware; print([m for m in ('httpx', 'httpx2') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert "[]" == out.strip()
