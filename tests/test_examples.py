"""
Every example and every README code block runs (offline).
"""

from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path
from typing import Any

import pytest
from aigclabel import verify

from tests.helpers import REPO

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
    Examples switch to a real endpoint when OPENAI_API_KEY is set; tests never do.
    """
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)


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


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)


def test_readme_headline_block_runs() -> None:
    """
    The README's first code block (the headline example) runs as written.
    """
    exec(compile(_python_blocks()[0], "README.md", "exec"), {})


def test_readme_openai_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The README's OpenAI block runs against the example's offline stand-in client.
    """
    example = load(REPO / "examples" / "openai_label_completion.py")
    (tmp_path / "aigclabel.toml").write_text(
        f'producer = "{example.PRODUCER}"\nkey = "{example.KEY}"\n', "utf-8"
    )
    monkeypatch.chdir(tmp_path)
    sent: list[Any] = []
    emitted: list[str] = []
    stand_in = types.SimpleNamespace(OpenAI=example.make_client)
    block = next(b for b in _python_blocks() if "import openai" in b).replace("import openai\n", "")
    namespace = {
        "openai": stand_in,
        "messages": [{"role": "user", "content": "hi"}],
        "send": lambda *args, **kwargs: sent.append((args, kwargs)),
        "emit": emitted.append,
    }

    exec(compile(block, "README.md", "exec"), namespace)

    assert "intact" == verify(sent[0][0][0], key=example.KEY).status
    assert "intact" == verify("".join(emitted), key=example.KEY).status
