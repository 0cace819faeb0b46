"""
Export → verify → propagate → verify, for every format.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters.export import export
from aigclabel.adapters.files import propagate_file, verify_file

from tests.helpers import KEY, PRODUCER

PLATFORM = "001191110102MAD55U9H0F20001"
ANSWER = """# 杭州旅行建议

杭州是浙江省的省会，以**西湖**闻名。春秋两季气候宜人，最适合旅行。

- 第一天：西湖、雷峰塔和苏堤
- 第二天：灵隐寺和龙井村

| 季节 | 建议 |
|---|---|
| 春 | 赏花 |

See the [official site](https://example.com/hangzhou) before you go.
"""


@pytest.mark.parametrize("fmt", ["md", "docx", "html", "txt", "pdf"])
def test_export_verify_propagate_verify(tmp_path: Path, fmt: str) -> None:
    """
    An exported file verifies confirmed; after propagation it still does, with the platform's
    elements in its one implicit label.
    """
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, text_format="markdown"))
    path = tmp_path / f"answer.{fmt}"
    path.write_bytes(export(labeler.label(ANSWER), fmt, labeler=labeler))  # type: ignore[arg-type]

    first = verify_file(path, key=KEY)
    out = tmp_path / f"propagated.{fmt}"
    propagate_file(path, out, propagator=PLATFORM, key=KEY)
    second = verify_file(out, key=KEY)

    assert ("confirmed", None) == (first.tier, first.error)
    assert "confirmed" == second.tier
    if fmt != "txt":  # plain text has no metadata carrier
        assert second.metadata is not None
        assert (PRODUCER, PLATFORM) == (second.metadata.content_producer, second.metadata.content_propagator)
