"""
Art. 4 last paragraph and Art. 9 at the export: a file always carries the visible label, also
when the text was labeled with ``placement="none"`` (the interface tag only); only an accepted
Art. 9 opt-out leaves the visible label out, and the implicit label stays. And §5.1's
"clearly legible": the html export's label styles meet WCAG contrast (4.5:1).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters.export import export
from aigclabel.adapters.files import verify_bytes
from aigclabel.adapters.formats import read
from aigclabel.adapters.formats.html import STYLESHEET

from tests.helpers import CHAIN_KEY, KEY, PRODUCER
from tests.sdk.test_optout import OPT_OUT

TEXT = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。"
LABEL = "本内容由人工智能生成"
TEXT_FORMATS = ["md", "docx", "html", "txt"]


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, "pdf"])
def test_an_export_of_a_tag_only_text_still_shows_the_visible_label(fmt: str) -> None:
    """placement="none" labels the interface only; the exported file gets the visible label anyway."""
    labeled = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="none")).label(
        TEXT, text_format="plain" if fmt == "txt" else "markdown"
    )
    assert LABEL not in labeled.text
    data = export(labeled, fmt)  # type: ignore[arg-type]
    assert any(LABEL in text for text in read(data, fmt).texts)  # type: ignore[arg-type]
    assert verify_bytes(data, f"a.{fmt}", key=KEY).tier == "confirmed"


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_an_opted_out_export_has_no_visible_label_but_keeps_the_implicit_one(
    fmt: str, tmp_path: Path
) -> None:
    """Art. 9: only the explicit label is waived; metadata and marks stay, and the file verifies confirmed."""
    labeler = Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=f"sqlite:///{tmp_path / 'records.db'}",
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
        )
    )
    with labeler.context(user="u-1", opt_out=OPT_OUT):
        labeled = labeler.label(TEXT, text_format="plain" if fmt == "txt" else "markdown")
    assert labeled.opted_out
    data = export(labeled, fmt)  # type: ignore[arg-type]
    assert not any(LABEL in text for text in read(data, fmt).texts)  # type: ignore[arg-type]
    fv = verify_bytes(data, f"a.{fmt}", key=KEY)
    assert (fv.tier, fv.status) == ("confirmed", "intact")
    if fmt != "txt":
        assert fv.metadata_where != "in-text-marks"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _expand(colour: str) -> str:
    colour = colour.lstrip("#")
    return "".join(c * 2 for c in colour) if len(colour) == 3 else colour


@pytest.mark.parametrize("selector", [".aigc-ui-tag", ".aigc-label"])
def test_the_html_label_styles_are_clearly_legible(selector: str) -> None:
    """§5.1 "clearly legible": label text contrast ≥ 4.5:1 against its background (white page default)."""
    rule = re.search(re.escape(selector) + r"\{([^}]*)\}", STYLESHEET)
    assert rule is not None
    colour = re.search(r"(?<![-\w])color:#([0-9a-fA-F]{3,6})", rule.group(1))
    background = re.search(r"background:#([0-9a-fA-F]{3,6})", rule.group(1))
    assert colour is not None
    ratio = _contrast(_expand(colour.group(1)), _expand(background.group(1)) if background else "ffffff")
    assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f}:1"
