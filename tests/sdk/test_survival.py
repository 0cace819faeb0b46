"""
The survival matrix: which benign transforms a label survives, and that edits still show through them.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Callable

import docx
import ftfy
import pytest
from aigclabel import LabeledText, Labeler, LabelPolicy, verify
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from tests.helpers import KEY, PRODUCER

DOCUMENT = """# 大模型服务接入指南 (Integration Guide)

本文介绍如何把**大语言模型**接入现有的客服系统。This guide explains how to connect a large language
model to an existing customer-service system, step by step, with examples in Python and notes on compliance.

## 准备工作

- 申请 API 密钥，并妥善保存；不要把密钥写进代码仓库。
- 安装依赖：运行 `pip install aigc-label` 即可。
- Read the [official documentation](https://example.com/docs/guide?lang=zh) before you start.
- 确认服务提供者编码已经在主管部门完成登记。

## 接入步骤

第一步，创建一个标注器（Labeler），并配置生产者编码。第二步，在每次生成回答之后调用 `label()` 方法，
把返回的文本交给前端展示。第三步，前端需要在回答旁边**持续显示**提示语，而不是只在生成时闪现一下。

In streaming mode, feed each delta to the stream labeler and forward whatever it returns. The concatenated
output is identical to the one-shot result, so clients never see a difference between the two paths.
Latency stays low because text is held back only while the language of the answer is still unknown.

## 合规要点

1. 显式标识必须包含「人工智能」或「AI」，以及「生成」或「合成」。
2. 隐式标识写入元数据，字段名为 AIGC，值为 JSON 字符串。
3. 平台在传播时应补充自己的传播者编码和传播编号，而不是覆盖原有信息。

Keep an eye on the token budget: each packet costs roughly forty tokens, and packets repeat about every few
hundred tokens so that any excerpt of reasonable length still carries one.

## 常见问题

问：如果用户要求去掉显式标识怎么办？答：根据《办法》第九条，可以提供不带显式标识的内容，但必须在用户协议中
说明标识义务，并保存日志至少六个月。问：隐式标识会不会影响阅读？答：不会，这些字符不可见，也不占用版面。

Question: does the invisible mark change how the text renders? Answer: no. The characters are zero-width
or variation selectors; browsers, editors and terminals draw nothing for them. Tokens cost a little more.

最后，请定期轮换密钥，并在监控系统中记录每一次校验的结果。如有疑问，请联系平台的技术支持团队，
我们会在两个工作日内答复。感谢您的耐心阅读，祝您接入顺利！
"""

_MD = MarkdownIt()


def _markdown_html_text(text: str) -> str:
    return BeautifulSoup(_MD.render(text), "html.parser").get_text()


def _docx_round_trip(text: str) -> str:
    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    return "\n".join(p.text for p in docx.Document(buffer).paragraphs)


def _drop_category(category: str) -> Callable[[str], str]:
    return lambda text: "".join(c for c in text if unicodedata.category(c) != category)


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "identity": lambda text: text,
    "nfc": lambda text: unicodedata.normalize("NFC", text),
    "nfkc": lambda text: unicodedata.normalize("NFKC", text),
    "markdown_html_text": _markdown_html_text,
    "json": lambda text: json.loads(json.dumps(text)),
    "json_ascii": lambda text: json.loads(json.dumps(text, ensure_ascii=True)),
    "utf16": lambda text: text.encode("utf-16").decode("utf-16"),
    "docx": _docx_round_trip,
    "drop_cf": _drop_category("Cf"),
    "drop_mn": _drop_category("Mn"),
    "collapse_whitespace": lambda text: re.sub(r"\s+", " ", text),
    "ftfy": ftfy.fix_text,
}
#: The seal travels on the Mn channel by default; these transforms remove that channel.
REMOVES_MN_SEAL = {"drop_mn"}


@pytest.fixture(name="document", scope="module")
def _document() -> LabeledText:
    """
    The sample document, labeled with the default policy (seal on the Mn channel).
    """
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY)).label(DOCUMENT)


@pytest.fixture(name="document_both", scope="module")
def _document_both() -> LabeledText:
    """
    The sample document, labeled with the seal on both channels.
    """
    return Labeler(LabelPolicy(producer=PRODUCER, key=KEY, seal_channels="both")).label(DOCUMENT)


def test_document_is_realistic(document: LabeledText) -> None:
    """
    The sample is about 1,500 characters and carries packets on both channels besides the seal.
    """
    evidence = verify(document.text, key=KEY).evidence

    assert 1300 <= len(DOCUMENT) <= 1700
    assert (True, True) == (evidence.cf.valid > 0, evidence.mn.valid > 0)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_label_survives(document: LabeledText, name: str) -> None:
    """
    After each transform the label is confirmed: intact, or valid packets when the seal's channel is gone.
    """
    verdict = verify(TRANSFORMS[name](document.text), key=KEY)
    expected = "valid" if name in REMOVES_MN_SEAL else "intact"

    assert ("confirmed", expected, document.mark_id) == (verdict.tier, verdict.status, verdict.mark_id)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_label_with_two_seals_survives_intact(document_both: LabeledText, name: str) -> None:
    """
    With the seal on both channels every transform leaves an intact seal.
    """
    verdict = verify(TRANSFORMS[name](document_both.text), key=KEY)

    assert ("confirmed", "intact") == (verdict.tier, verdict.status)


@pytest.mark.parametrize("name", [n for n in TRANSFORMS if n not in REMOVES_MN_SEAL])
@pytest.mark.parametrize(("old", "new"), [("customer-service", "customer-support"), ("六个月", "三个月")])
def test_edit_shows_through_transform(document: LabeledText, name: str, old: str, new: str) -> None:
    """
    A one-word edit before the transform is still reported as tampered after it.
    """
    edited = document.text.replace(old, new, 1)
    assert edited != document.text

    assert "tampered" == verify(TRANSFORMS[name](edited), key=KEY).status


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_edit_shows_through_transform_with_two_seals(document_both: LabeledText, name: str) -> None:
    """
    With seals on both channels an edit is detected after every transform, including dropping Mn.
    """
    edited = document_both.text.replace("customer-service", "customer-support", 1)

    assert "tampered" == verify(TRANSFORMS[name](edited), key=KEY).status
