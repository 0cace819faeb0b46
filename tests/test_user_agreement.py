"""
Art. 8 and Art. 9: the user-agreement template (docs/user-agreement.md) describes the labeling
method and style, the user's duty when opting out, and the record kept for six months, in
Chinese and English, with the SDK's actual default wordings.
"""

from __future__ import annotations

from aigclabel.explicit import DEFAULT_LABEL_TEXT

from tests.helpers import REPO

DOC = (REPO / "docs" / "user-agreement.md").read_text("utf-8")
ZH, EN = DOC.split("## 中文", 1)[1].split("## English", 1)


def test_the_agreement_describes_the_labeling_method_and_style_in_both_languages() -> None:
    """Art. 8: explicit label (wording, position, interface, copies) and implicit label (metadata, marks)."""
    assert DEFAULT_LABEL_TEXT["zh"] in ZH
    assert DEFAULT_LABEL_TEXT["en"] in EN
    for clause in ("显式标识", "隐式标识", "交互界面", "复制", "元数据", "不可见"):
        assert clause in ZH, clause
    for clause in ("explicit label", "implicit label", "interface", "copy", "metadata", "invisible"):
        assert clause in EN.lower(), clause


def test_the_agreement_states_the_opt_out_duty_and_the_six_month_record() -> None:
    """Art. 9: the user's labeling duty, the implicit label kept, records kept ≥ six months, a version."""
    for clause in ("自行添加显式标识", "隐式标识", "不少于六个月", "版本"):
        assert clause in ZH, clause
    assert "six months" in EN.lower()
    assert "version" in EN.lower()


def test_the_agreement_forbids_removal_tools() -> None:
    """Art. 10 ¶2 is stated to the user in both languages."""
    assert "不得为他人实施上述行为提供工具或服务" in ZH
    assert "provide tools or services" in EN
