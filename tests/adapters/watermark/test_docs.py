"""
The runnable examples of docs/watermarks.md run (``python`` blocks, in order, in one namespace;
``py`` blocks need a real model and are not run).
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO


def test_watermark_doc_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Every ``python`` block of docs/watermarks.md runs from the repository root without error.
    """
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "watermarks.md").read_text("utf-8"), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(REPO)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/watermarks.md", "exec"), namespace)
