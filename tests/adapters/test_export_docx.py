"""
DOCX export: a real Word document with the visible label, one AIGC custom property and the
Markdown structure, readable by python-docx and LibreOffice.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from aigclabel import LabeledText, Labeler, verify
from aigclabel.adapters.export import export
from aigclabel.adapters.formats import CarrierError
from aigclabel.adapters.formats.docx import LABEL_STYLE, aigc_properties, document_text, set_label
from aigclabel.adapters.formats.opc import FMTID
from docx.oxml.ns import qn

from tests.helpers import KEY, PRODUCER

ANSWER = """\
# 杭州一日游

杭州是**浙江省**的省会，以*西湖*闻名。详见[杭州市政府网站](https://www.hangzhou.gov.cn/)。

## 安排

- 上午：西湖、雷峰塔
- 下午：灵隐寺

1. 订酒店
2. 买车票

另一份清单：

1. 带伞
2. 带水

| 景点 | 门票 |
|---|---|
| 西湖 | 免费 |

```python
print("hello")
```

春秋两季气候宜人，是最好的季节。从上海乘高铁约一小时即可到达。
"""
LABEL = "本内容由人工智能生成"


@pytest.fixture(name="labeled")
def _labeled(labeler: Labeler) -> LabeledText:
    """
    A Markdown answer labeled for Markdown output.
    """
    return labeler.label(ANSWER, text_format="markdown")


@pytest.fixture(name="data")
def _data(labeled: LabeledText) -> bytes:
    """
    The exported .docx bytes.
    """
    return export(labeled, "docx")


def _open(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def _custom_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("docProps/custom.xml").decode("utf-8")


def test_first_paragraph_and_footer_show_the_label(data: bytes) -> None:
    """
    python-docx opens the file; the label is the first paragraph and in the page footer.
    """
    document = _open(data)
    assert (LABEL, LABEL_STYLE) == (document.paragraphs[0].text, document.paragraphs[0].style.name)
    assert LABEL in document.sections[0].footer.paragraphs[0].text


def test_custom_property_holds_the_bare_json_once(labeled: LabeledText, data: bytes) -> None:
    """
    custom.xml has one AIGC property (fmtid, pid >= 2, vt:lpwstr) holding the bare seven keys.
    """
    values = aigc_properties(data)
    assert 1 == len(values)
    assert labeled.metadata.to_dict("bare") == json.loads(values[0])
    xml = _custom_xml(data)
    m = re.search(r'<property fmtid="([^"]+)" pid="(\d+)" name="AIGC"><vt:lpwstr>', xml)
    assert m is not None
    assert FMTID == m.group(1)
    assert int(m.group(2)) >= 2


def test_custom_part_is_registered(data: bytes) -> None:
    """
    The part is named in _rels/.rels and [Content_Types].xml.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rels = z.read("_rels/.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    assert "relationships/custom-properties" in rels
    assert 'PartName="/docProps/custom.xml"' in types


def test_core_properties_name_the_producer(data: bytes) -> None:
    """
    Author is the producer code; created is the export time in UTC.
    """
    core = _open(data).core_properties
    assert PRODUCER == core.author
    created = core.created.replace(tzinfo=UTC) if core.created.tzinfo is None else core.created
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def test_markdown_becomes_word_structures(data: bytes) -> None:
    """
    Headings, bullet and numbered lists, a table, monospace code and a hyperlink are real docx structures.
    """
    document = _open(data)
    styles = [p.style.name for p in document.paragraphs]
    assert {"Heading 1", "Heading 2", "List Bullet", "List Number"} <= set(styles)
    assert [["景点", "门票"], ["西湖", "免费"]] == [
        [c.text for c in r.cells] for r in document.tables[0].rows
    ]
    code = next(p for p in document.paragraphs if "print(" in p.text)
    assert {"Courier New"} == {r.font.name for r in code.runs}
    links = document.element.body.findall(".//" + qn("w:hyperlink"))
    targets = {document.part.rels[link.get(qn("r:id"))].target_ref for link in links}
    assert {"https://www.hangzhou.gov.cn/"} == targets


def test_each_numbered_list_restarts(data: bytes) -> None:
    """
    Two numbered lists get two numbering instances, so the second starts at 1 again.
    """
    document = _open(data)
    ids = {p._p.pPr.numPr.numId.val for p in document.paragraphs if p.style.name == "List Number"}
    assert 2 == len(ids)


def test_paragraph_text_keeps_the_marks(data: bytes) -> None:
    """
    The paragraphs' text still carries valid marks of this producer.
    """
    verdict = verify("\n".join(p.text for p in _open(data).paragraphs), key=KEY)
    assert "confirmed" == verdict.tier
    assert verdict.evidence.cf.valid + verdict.evidence.mn.valid > 0


def test_document_text_verifies_intact(data: bytes) -> None:
    """
    The body text in document order (tables included, the added label paragraph skipped) is intact.
    """
    verdict = verify(document_text(data), key=KEY)
    assert ("confirmed", "intact") == (verdict.tier, verdict.status)


def test_reexport_over_an_exported_file_keeps_one_property(labeled: LabeledText, data: bytes) -> None:
    """
    Using an exported file as the template replaces its body and its AIGC property.
    """
    again = export(labeled, "docx", template=data)
    document = _open(again)
    assert 1 == len(aigc_properties(again))
    assert 1 == sum(p.text == LABEL for p in document.paragraphs)
    assert 1 == len(document.tables)
    assert 1 == document.sections[0].footer.paragraphs[0].text.count(LABEL)


def test_template_properties_are_kept_with_unique_pids(labeled: LabeledText, data: bytes) -> None:
    """
    Other custom properties of a template stay; the new AIGC pid does not collide with theirs.
    """
    xml = _custom_xml(data).replace(
        "</Properties>",
        f'<property fmtid="{FMTID}" pid="7" name="Department"><vt:lpwstr>Sales</vt:lpwstr></property>'
        f'<property fmtid="{FMTID}" pid="8" name="aigc"><vt:lpwstr>old</vt:lpwstr></property></Properties>',
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, xml if info.filename == "docProps/custom.xml" else zin.read(info))
    out = _custom_xml(export(labeled, "docx", template=buf.getvalue()))
    assert "Department" in out
    assert 1 == len(re.findall(r'name="aigc"', out, re.I))
    pids = re.findall(r'pid="(\d+)"', out)
    assert len(pids) == len(set(pids))


def test_hostile_custom_xml_is_refused(data: bytes) -> None:
    """
    A custom.xml with an entity declaration (billion laughs) is refused, not expanded.
    """
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<Properties>&b;</Properties>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, bomb if info.filename == "docProps/custom.xml" else zin.read(info))
    with pytest.raises(CarrierError, match="DTD"):
        set_label(buf.getvalue(), {"Label": "1"})


def test_libreoffice_text_shows_the_label(data: bytes, tmp_path: Path) -> None:
    """
    LibreOffice headless converts the file to text, and the text shows the visible label.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice is not None, "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    src = tmp_path / "answer.docx"
    src.write_bytes(data)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "txt:Text",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    text = (tmp_path / "answer.txt").read_text("utf-8-sig")
    assert text.lstrip().startswith(LABEL)
    assert "杭州一日游" in text
