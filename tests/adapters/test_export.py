"""
Export with labels: Markdown, HTML, plain text and PDF files, conversations and the command line.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from aigclabel import LabeledText, Labeler, verify
from aigclabel.adapters import export_cli
from aigclabel.adapters.export import ExportError, Message, export
from aigclabel.adapters.formats import pdf as pdf_export
from aigclabel.adapters.formats.docx import aigc_properties
from markdown_it import MarkdownIt

from tests.helpers import KEY, PRODUCER, visible

ANSWER = """\
# 杭州一日游

杭州是**浙江省**的省会，以*西湖*闻名。详见[杭州市政府网站](https://www.hangzhou.gov.cn/)。

- 上午：西湖、雷峰塔
- 下午：灵隐寺

| 景点 | 门票 |
|---|---|
| 西湖 | 免费 |

```python
print("hello")
```

春秋两季气候宜人，是最好的季节。从上海乘高铁约一小时即可到达。
"""
LABEL = "本内容由人工智能生成"
FRONT = re.compile(r"\A---\n(.*?)^---\n", re.S | re.M)


@pytest.fixture(name="labeled")
def _labeled(labeler: Labeler) -> LabeledText:
    """
    A Markdown answer labeled for Markdown output.
    """
    return labeler.label(ANSWER, text_format="markdown")


def _split(md: str) -> tuple[dict[str, object], str]:
    m = FRONT.match(md)
    assert m is not None
    return yaml.safe_load(m.group(1)), md[m.end() :]


def test_markdown_front_matter_holds_the_seven_keys_as_strings(labeled: LabeledText) -> None:
    """
    The front matter parses with a YAML library: an AIGC mapping of the seven keys, all strings.
    """
    data, _ = _split(export(labeled, "md").decode("utf-8"))
    assert labeled.metadata.to_dict("bare") == data["AIGC"]
    assert all(isinstance(v, str) for v in data["AIGC"].values())  # type: ignore[attr-defined]


def test_markdown_body_renders_with_the_label_and_intact_marks(labeled: LabeledText) -> None:
    """
    The body renders with markdown-it showing the label, and its marks verify intact.
    """
    _, body = _split(export(labeled, "md").decode("utf-8"))
    assert LABEL in visible(MarkdownIt("commonmark").render(body))
    verdict = verify(body, key=KEY)
    assert ("confirmed", "intact") == (verdict.tier, verdict.status)


def test_markdown_merges_existing_front_matter(labeler: Labeler) -> None:
    """
    Existing front matter keys are kept and an old AIGC mapping is replaced: one block, one key.
    """
    source = "---\ntitle: 杭州\ntags: [travel]\nAIGC:\n  Label: '3'\n---\n" + ANSWER
    md = export(source, "md", labeler=labeler).decode("utf-8")
    data, body = _split(md)
    assert 1 == md.count("AIGC:")
    assert 2 == md.count("---\n")
    assert ("杭州", ["travel"], "1") == (data["title"], data["tags"], data["AIGC"]["Label"])  # type: ignore[index]
    assert "intact" == verify(body, key=KEY).status


def test_markdown_reexport_keeps_one_aigc_key(labeled: LabeledText) -> None:
    """
    Exporting an exported Markdown file again leaves exactly one front matter and one AIGC key.
    """
    first = export(labeled, "md").decode("utf-8")
    second = export(replace(labeled, text=first), "md").decode("utf-8")
    assert (1, 2) == (second.count("AIGC:"), second.count("---\n"))
    assert _split(first)[0] == _split(second)[0]


def test_markdown_malformed_front_matter_is_a_clear_error(labeler: Labeler) -> None:
    """
    A front matter that is not a YAML mapping is refused with an ExportError naming the cause.
    """
    with pytest.raises(ExportError, match="front matter"):
        export("---\n[unclosed\n---\nbody", "md", labeler=labeler)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.asides: list[dict[str, str | None]] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("name"):
            self.meta[str(a["name"])] = str(a.get("content"))
        elif tag == "aside":
            self.asides.append(a)
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_page_has_meta_label_and_ui_tag(labeler: Labeler) -> None:
    """
    The page's AIGC meta holds the bare JSON; the label and a persistent interface tag are shown.
    """
    labeled = labeler.label(ANSWER + "\n<script>alert(1)</script>\n", text_format="markdown")
    page = _Page()
    page.feed(export(labeled, "html").decode("utf-8"))
    assert labeled.metadata.to_dict("bare") == json.loads(page.meta["AIGC"])
    assert LABEL in visible("".join(page.text))
    assert [("aigc-ui-tag", "near_content", "true")] == [
        (a["class"], a["data-position"], a["data-persistent"]) for a in page.asides
    ]
    assert 0 == page.scripts  # raw HTML in the content is escaped


def test_txt_is_the_labeled_text(labeled: LabeledText) -> None:
    """
    The text file is the labeled text itself: visible label and intact invisible marks.
    """
    text = export(labeled, "txt").decode("utf-8")
    assert labeled.text == text
    assert "intact" == verify(text, key=KEY).status


def test_pdf_info_holds_aigc_uncompressed_and_text_renders(labeled: LabeledText) -> None:
    """
    pypdf reads /AIGC from the Info dictionary, the raw bytes show it, the CJK text extracts.
    """
    from pypdf import PdfReader

    data = export(labeled, "pdf")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert labeled.metadata.to_dict("bare") == json.loads(str(reader.metadata["/AIGC"]))
    assert b"/AIGC (" + labeled.metadata.for_format("pdf").encode()[:40] in data
    text = reader.pages[0].extract_text()
    assert LABEL in text
    assert "杭州一日游" in text
    assert b"/FontFile2" in data


def test_pdf_without_cjk_font_names_the_package(
    labeled: LabeledText, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """
    With no CJK font installed the error says which package to install.
    """
    monkeypatch.setattr(pdf_export, "_FONT_DIRS", (str(tmp_path),))
    with pytest.raises(ExportError, match="fonts-wqy-microhei"):
        export(labeled, "pdf")


def test_conversation_labels_only_assistant_content(labeler: Labeler) -> None:
    """
    User and system turns carry no mark and no label; the assistant turn is labeled.
    """
    question = "杭州有什么好玩的地方？"
    messages = [
        Message("system", "你是导游。"),
        Message("user", question),
        Message("assistant", "西湖、灵隐寺和龙井村都值得一去。春秋两季最适合旅行。"),
    ]
    text = export(messages, "txt", labeler=labeler).decode("utf-8")
    head, _, answer = text.partition("助手：\n")
    assert visible(head) == head
    assert LABEL not in head
    assert question in head
    verdict = verify(answer, key=KEY)
    assert ("intact", PRODUCER) == (verdict.status, verdict.metadata and verdict.metadata.content_producer)


def test_conversation_with_several_answers_has_one_file_label(labeler: Labeler) -> None:
    """
    Several assistant turns give one file-level implicit label with its own ProduceID.
    """
    first = labeler.label("第一个回答：西湖。", text_format="markdown")
    messages = [
        Message("user", "问题一"),
        Message("assistant", first),
        Message("user", "问题二"),
        Message("assistant", "第二个回答：灵隐寺。"),
    ]
    data, _ = _split(export(messages, "md", labeler=labeler).decode("utf-8"))
    aigc = data["AIGC"]
    assert PRODUCER == aigc["ContentProducer"]  # type: ignore[index]
    assert first.produce_id != aigc["ProduceID"]  # type: ignore[index]


def test_str_without_labeler_is_refused() -> None:
    """
    Unlabeled text cannot be exported without a labeler.
    """
    with pytest.raises(ExportError, match="labeler"):
        export("AI text", "txt")


def _cli(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="aigclabel")
    export_cli.add_export_command(parser.add_subparsers(dest="command"))
    return export_cli.run_export(parser.parse_args(["export", *argv]), io.StringIO(), io.StringIO())


@pytest.mark.parametrize("fmt", ["md", "docx", "html", "txt", "pdf"])
def test_cli_exports_each_format(fmt: str, tmp_path: Path) -> None:
    """
    `aigclabel export INPUT --to FMT -o OUT` writes a file carrying the producer's label.
    """
    src = tmp_path / "answer.md"
    src.write_text(ANSWER, "utf-8")
    key = tmp_path / "key"
    key.write_text(KEY, "utf-8")
    out = tmp_path / f"out.{fmt}"
    code = _cli([str(src), "--to", fmt, "-o", str(out), "--producer", PRODUCER, "--key-file", str(key)])
    assert 0 == code
    data = out.read_bytes()
    if fmt == "docx":
        assert PRODUCER in aigc_properties(data)[0]
    else:
        assert PRODUCER.encode() in data or verify(data.decode(), key=KEY).tier == "confirmed"


def test_cli_bad_input_exits_three(tmp_path: Path) -> None:
    """
    A file that is not UTF-8 is bad input: exit code 3.
    """
    src = tmp_path / "bad.md"
    src.write_bytes(b"\xff\xfe\x00bad")
    assert 3 == _cli([str(src), "--to", "md", "-o", str(tmp_path / "o.md"), "--producer", PRODUCER])
