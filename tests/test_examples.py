"""
Every example and every README code block runs (offline).
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import re
import types
from pathlib import Path
from typing import Any

import pytest
from aigclabel import Labeler, LabelPolicy, verify

from tests.helpers import KEY, PRODUCER, REPO

EXAMPLES = sorted((REPO / "examples").glob("*.py"))


def load(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, name="offline")
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Examples switch to a real endpoint when an API key or base URL is set; tests never do.
    Examples import their offline stand-ins from the examples folder.
    """
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "ANTHROPIC_API_KEY",
        "COMPATIBLE_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(REPO / "examples"))


def test_there_are_examples() -> None:
    """
    The examples folder is not empty (a glob that finds nothing would test nothing).
    """
    assert EXAMPLES


def test_openai_example_labels_one_shot_and_stream() -> None:
    """
    The OpenAI example labels a completion and a stream; both verify intact with its key.
    """
    module = load(REPO / "examples" / "openai_label_completion.py")

    one_shot, streamed = module.main()

    for text in (one_shot, streamed):
        verdict = verify(text, key=module.KEY)
        assert ("confirmed", "intact") == (verdict.tier, verdict.status)
    assert one_shot.startswith(module.ANSWER)


@pytest.mark.parametrize("name", ["wrap_openai", "wrap_anthropic"])
def test_wrap_examples_label_one_shot_and_stream(name: str) -> None:
    """
    The one-line wrap examples return texts that verify intact (one-shot and streamed).
    """
    module = load(REPO / "examples" / f"{name}.py")

    texts = module.main()

    assert ["intact"] * len(texts) == [verify(t, key=module.KEY).status for t in texts]


def test_httpx_compatible_example_labels_stream() -> None:
    """
    The OpenAI-compatible httpx example's streamed text verifies intact.
    """
    module = load(REPO / "examples" / "wrap_httpx_compatible.py")

    assert "intact" == verify(module.main(), key=module.KEY).status


def test_async_streaming_example_labels_stream() -> None:
    """
    The async streaming example's text verifies intact.
    """
    module = load(REPO / "examples" / "async_streaming.py")

    assert "intact" == verify(asyncio.run(module.main()), key=module.KEY).status


def test_langchain_chat_example_labels_invoke_and_stream() -> None:
    """
    The LangChain example labels an invoke and a stream of a fake chat model; both verify intact.
    """
    module = load(REPO / "examples" / "langchain_chat.py")

    assert ["intact", "intact"] == [verify(t, key=module.KEY).status for t in module.main()]


def test_langchain_agent_example_labels_the_answer_and_the_v3_stream() -> None:
    """
    The agent example labels the final answer and the v3 streamed tokens; both verify intact.
    """
    module = load(REPO / "examples" / "langchain_agent.py")

    assert ["intact", "intact"] == [verify(t, key=module.KEY).status for t in module.main()]


def test_every_example_is_exercised() -> None:
    """
    Every script in examples/ has a test here (the stand-in module is a helper, not an example).
    """
    tested = {
        "openai_label_completion",
        "wrap_openai",
        "wrap_anthropic",
        "wrap_httpx_compatible",
        "async_streaming",
        "platform_upload",
        "langchain_chat",
        "langchain_agent",
    }

    assert tested == {p.stem for p in EXAMPLES} - {"standin"}


def test_platform_upload_example_classifies_and_propagates() -> None:
    """The upload handler: our export confirmed and intact (keyring), a vendor's lenient label
    confirmed and kept, a declared text possible."""
    module = load(REPO / "examples" / "platform_upload.py")

    first, vendor, declared = module.main()

    assert (first["tier"], first["status"], first["conflicts"]) == ("confirmed", "intact", [])
    assert (vendor["tier"], vendor["producer"]) == ("confirmed", "某某人工智能科技有限公司")
    assert vendor["findings"] > 0
    assert (declared["tier"], declared["prompt"]) == ("possible", "可能为人工智能生成内容")
    assert all("Label" in str(d["stored"]) for d in (first, vendor, declared))


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)


def test_readme_headline_block_runs() -> None:
    """
    The README's first code block (the headline example) runs as written.
    """
    exec(compile(_python_blocks()[0], "README.md", "exec"), {})


def test_readme_wrap_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The README's one-line wrap block runs against the example's offline stand-in client.
    """
    example = load(REPO / "examples" / "wrap_openai.py")
    (tmp_path / "aigclabel.toml").write_text(
        f'producer = "001191110102MAD55U9H0F10002"\nkey = "{example.KEY}"\n', "utf-8"
    )
    monkeypatch.chdir(tmp_path)
    sent: list[Any] = []
    emitted: list[str] = []
    block = next(b for b in _python_blocks() if "wrap(openai.OpenAI()" in b).replace("import openai\n", "")
    namespace = {
        "openai": types.SimpleNamespace(OpenAI=example.make_client),
        "messages": [{"role": "user", "content": "hi"}],
        "send": lambda *args, **kwargs: sent.append((args, kwargs)),
        "emit": emitted.append,
    }

    exec(compile(block, "README.md", "exec"), namespace)

    assert "intact" == verify(sent[0][0][0], key=example.KEY).status
    assert sent[0][1]["aigc"]["items"][0]["produce_id"]
    assert "intact" == verify("".join(emitted), key=example.KEY).status


def test_readme_label_yourself_block_runs(labeler: Any) -> None:
    """
    The README's "label text yourself" block runs with a labeler, a text and deltas.
    """
    block = next(b for b in _python_blocks() if "labeler.stream()" in b)
    namespace: dict[str, Any] = {"labeler": labeler, "text": "你好，世界。", "deltas": ["你好，", "世界。"]}

    exec(compile(block, "README.md", "exec"), namespace)

    assert "intact" == verify("".join(namespace["released"]), key=KEY).status


def test_readme_opt_out_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The README's Art. 9 block runs: no visible label, marks intact, one record in the store.
    """
    from aigclabel.adapters.audit import AuditStore

    monkeypatch.chdir(tmp_path)
    block = next(b for b in _python_blocks() if "OptOut(" in b)
    namespace: dict[str, Any] = {"text": "杭州是浙江省的省会，以西湖闻名。" * 30, "PROVIDER_SECRET": KEY}

    exec(compile(block, "README.md", "exec"), namespace)

    out = namespace["out"]
    namespace["labeler"].close()
    store = AuditStore.open("sqlite:///aigc-audit.db")
    try:
        kinds = [r.kind for r in store.query()]
    finally:
        store.close()
    assert (True, "intact", ["generated"]) == (
        out.opted_out,
        verify(out.text, key=KEY).status,
        kinds,
    )


def test_readme_export_and_platform_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The README's export, verify and propagate command lines run as written (CODE filled in).
    """
    import shlex
    import shutil

    from aigclabel.adapters import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "answer.md").write_text("# 杭州\n\n杭州以西湖闻名。春秋两季最适合旅行。\n", "utf-8")
    (tmp_path / "key").write_text(KEY + "\n", "utf-8")
    (tmp_path / "producers.toml").write_text(
        '[[producer]]\ncode = "001191110102MAD55U9H0F10002"\n'
        f'[[producer.key]]\nid = "current"\nslot = 0\nhmac_secret = "{KEY}"\n',
        "utf-8",
    )
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)
    lines = [
        line.split("#")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("aigclabel ") and ("export" in line or "upload" in line)
    ]
    codes = []
    for line in lines:
        if "verify upload" in line or "propagate" in line:
            shutil.copy(tmp_path / "answer.docx", tmp_path / "upload.docx")
            (tmp_path / "uploads").mkdir(exist_ok=True)
            shutil.copy(tmp_path / "answer.docx", tmp_path / "uploads" / "a.docx")
        argv = shlex.split(line.replace("CODE", "001191110102MAD55U9H0F20001"))[1:]
        codes.append(cli.main(argv, stdin=None, stdout=io.StringIO()))

    assert 4 == len(lines)
    assert [0, 0, 0, 0] == codes


def test_readme_names_only_public_helpers_that_exist() -> None:
    """
    The helpers the README's testing section names are importable and typed callables.
    """
    from aigclabel.testing import assert_labeled, chunked
    from aigclabel.tokens import count_tokens, get_encoding

    readme = (REPO / "README.md").read_text("utf-8")
    for fn in (assert_labeled, chunked, count_tokens, get_encoding):
        assert fn.__name__ in readme
        assert fn.__annotations__


def test_readme_chat_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The README's chat-front-end block serves a labeled SSE stream: aigc before the first delta,
    done last, its text intact; the component is served next to it.
    """
    import httpx
    import httpx2
    import openai
    from aigclabel.adapters.asgi import StandInModel
    from aigclabel.adapters.asgi.standin import STAND_IN_URL
    from aigclabel.middleware import wrap

    from tests.adapters.asgi.support import parse

    monkeypatch.chdir(tmp_path)
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    client = wrap(
        openai.AsyncOpenAI(
            api_key="test",
            base_url=STAND_IN_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=StandInModel(delay=0).transport()),
        ),
        labeler,
    )
    block = next(b for b in _python_blocks() if "sse_relay(" in b)
    namespace: dict[str, Any] = {
        "labeler": labeler,
        "client": client,
        "MODEL": "stand-in",
        "current_user": lambda request: "u-1",
    }
    exec(compile(block, "README.md", "exec"), namespace)

    async def run() -> tuple[bytes, int]:
        transport = httpx.ASGITransport(app=namespace["app"])
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            chat = await http.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}]})
            script = await http.get("/static/aigc/aigc-disclosure.js")
        return chat.content, script.status_code

    body, script_status = asyncio.run(run())
    namespace["consents"].close()
    events = parse(body)

    assert ("aigc", "done", 200) == (events[0][0], events[-1][0], script_status)
    assert "intact" == verify(events[-1][1]["text"], key=KEY).status


def test_readme_watermark_block_runs() -> None:
    """
    The README's statistical-watermark block derives a profile from the policy's key.
    """
    from aigclabel import Labeler, LabelPolicy

    block = next(b for b in _python_blocks() if "watermark_profile(" in b)
    model = types.SimpleNamespace(config=types.SimpleNamespace(vocab_size=32_000))
    namespace: dict[str, Any] = {
        "Labeler": Labeler,
        "LabelPolicy": LabelPolicy,
        "PRODUCER": "001191110102MAD55U9H0F10002",
        "PROVIDER_SECRET": KEY,
        "model": model,
    }

    exec(compile(block, "README.md", "exec"), namespace)

    profile = namespace["profile"]
    assert (profile.scheme, profile.vocab_size, profile.slot) == ("gumbel", 32_000, 0)
