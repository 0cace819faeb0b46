"""
Growth of every file reader and rewriter on hostile input: 8x the input costs < 20x the time.

Each pattern here was quadratic (or worse) somewhere: stdlib ``html.parser`` on unclosed
comments, tags and attributes; ``[^>]*>`` regexes from every ``<meta`` without a ``>``; the
docx walk that joined nested paragraphs once per level; lazy XMP regexes. The ratio of two
medians is measured, never an absolute time (``tests/growth.py``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pikepdf
import pytest
from aigclabel.adapters import formats
from aigclabel.adapters.export import ExportError, split_front_matter
from aigclabel.adapters.formats import CarrierError, limits
from aigclabel.adapters.formats.pdf import xmp_values_by_prefix

from tests.adapters.test_files import meta_for
from tests.growth import assert_linear

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_of(body: str) -> bytes:
    """A minimal .docx archive whose word/document.xml body is *body*."""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{body}</w:body></w:document>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", xml)
    return buf.getvalue()


def raw_docx(document: bytes) -> bytes:
    """A .docx archive whose word/document.xml is *document* as given (not wrapped)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", document)
    return buf.getvalue()


def rewrite(fmt: formats.Format, data: bytes, meta: object, prompt: str) -> bytes:
    """Set the label of *fmt* bytes (the platform's write path)."""
    return formats.set_label(data, fmt, meta.to_dict("bare"), prompt)  # type: ignore[attr-defined]


def read(fmt: formats.Format) -> Callable[[bytes], object]:
    """A reader of *fmt* bytes that returns the CarrierError instead of raising it."""

    def run(data: bytes) -> object:
        try:
            return formats.read(data, fmt)
        except CarrierError as exc:
            return exc

    return run


@pytest.fixture(name="no_depth_cap")
def _no_depth_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the nesting cap so that deep inputs are parsed in full, not refused early."""
    monkeypatch.setattr(limits, "MAX_DEPTH", 1 << 30)


HTML_PATTERNS = {
    "unclosed comments": "<!--",
    "unclosed tags": "<a",
    "lone less-than signs": "<",
    "lone ampersands": "&",
    "unclosed attributes": '<a b="',
    "unclosed CDATA": "<![CDATA[",
    "unclosed end tags": "</a",
    "unclosed formatting in paragraphs": "<p><b>x",
}


@pytest.mark.parametrize("pattern", list(HTML_PATTERNS.values()), ids=list(HTML_PATTERNS))
def test_html_reader_is_linear(pattern: str) -> None:
    """The HTML reader is linear in repetitions of each unclosed construct."""
    assert_linear(read("html"), lambda n: (pattern * n + "tail").encode(), base=1024)


@pytest.mark.usefixtures("no_depth_cap")
def test_html_reader_is_linear_in_nesting() -> None:
    """<div> nested n deep costs linear time (the depth cap lifted)."""
    assert_linear(read("html"), lambda n: ("<div>" * n + "x").encode(), base=1024)


@pytest.mark.parametrize("tag", ["<meta", "<head", "<body", "<html"])
def test_html_rewriter_is_linear(tag: str) -> None:
    """Rewriting a page of opening tags without a closing '>' is linear."""
    meta = meta_for()
    assert_linear(lambda data: rewrite("html", data, meta, "提示"), lambda n: (tag * n).encode(), base=1024)


@pytest.mark.usefixtures("no_depth_cap")
def test_docx_reader_is_linear_in_nested_paragraphs() -> None:
    """Paragraphs nested n deep, each with its own run, are read in linear time."""
    p = "<w:p><w:r><w:t>x</w:t></w:r>"
    assert_linear(read("docx"), lambda n: docx_of(p * n + "</w:p>" * n), base=256)


def test_docx_reader_is_linear_in_flat_paragraphs() -> None:
    """n sibling paragraphs are read in linear time."""
    p = "<w:p><w:r><w:t>x</w:t><w:tab/><w:t>y</w:t></w:r></w:p>"
    assert_linear(read("docx"), lambda n: docx_of(p * n), base=256)


def test_docx_body_search_is_linear() -> None:
    """Finding the body tag of a part full of '<w:body' without '>' is linear."""

    def run(doc: bytes) -> object:
        try:
            return formats.set_label(doc, "docx", meta_for().to_dict("bare"), "提示")
        except CarrierError as exc:
            return exc

    assert_linear(run, lambda n: raw_docx(b"<w:body" * n), base=1024)


def test_front_matter_of_dashes_is_linear() -> None:
    """A Markdown file of n '---' lines is read in linear time."""
    assert_linear(read("md"), lambda n: ("---\n" * n).encode(), base=1024)


def test_unterminated_front_matter_is_linear() -> None:
    """Front matter without a closing line is read past (the whole file as body) in linear time."""
    assert_linear(read("md"), lambda n: ("---\n" + "key: value\n" * n).encode(), base=1024)


def test_front_matter_yaml_is_linear() -> None:
    """A front matter of n keys is parsed in linear time (below the size cap)."""
    assert_linear(
        read("md"), lambda n: ("---\n" + "".join(f"k{i}: v\n" for i in range(n)) + "---\nbody").encode(), 64
    )


def test_front_matter_aliases_are_linear() -> None:
    """n aliases of one anchor cost linear time to check and load."""
    assert_linear(
        read("md"),
        lambda n: ("---\na: &a [x, y]\n" + "".join(f"k{i}: *a\n" for i in range(n)) + "---\nbody").encode(),
        64,
    )


def test_export_front_matter_split_is_linear() -> None:
    """The exporter's front-matter split is linear on an unterminated front matter."""

    def run(text: str) -> object:
        try:
            return split_front_matter(text)
        except ExportError as exc:
            return exc

    assert_linear(run, lambda n: "---\n" + "x\n" * n, base=1024)


def pdf_of(pages: int) -> bytes:
    """A PDF of *pages* pages, each with one line of text."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for _ in range(pages):
        page = pdf.add_blank_page()
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (Hello page) Tj ET")
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def test_pdf_reader_is_linear_in_pages() -> None:
    """A PDF of 8x the pages takes < 20x the time to read."""
    assert_linear(read("pdf"), pdf_of, base=16)


@pytest.mark.parametrize("opener", ["<TC260:AIGC>", 'TC260:AIGC="', "TC260:AIGC='"])
def test_xmp_scan_is_linear(opener: str) -> None:
    """Unclosed TC260:AIGC values in XMP are scanned in linear time."""
    assert_linear(lambda raw: list(xmp_values_by_prefix(raw)), lambda n: opener * n, base=1024)


def test_pdf_rewriter_is_linear_in_pages() -> None:
    """Writing the label and prompt into a PDF of 8x the pages takes < 20x the time."""
    meta = meta_for()
    assert_linear(lambda data: rewrite("pdf", data, meta, "提示"), pdf_of, base=16)


def test_xlsx_reader_is_linear_in_strings() -> None:
    """A workbook of n shared strings is read in linear time."""
    from tests.adapters import third_party as tp

    assert_linear(read("xlsx"), lambda n: tp.xlsx([f"cell {i}" for i in range(n)], None), base=256)


def test_pptx_reader_is_linear_in_slides() -> None:
    """A presentation of n slides is read in linear time."""
    from tests.adapters import third_party as tp

    assert_linear(read("pptx"), lambda n: tp.pptx([f"slide {i}" for i in range(n)], None), base=64)


@pytest.mark.parametrize("attr", ['name="', "name='", "name=", 'property="x'])
def test_html_label_writer_is_linear_in_meta_attributes(attr: str) -> None:
    """Meta tags full of unterminated name attributes are rewritten in linear time."""
    meta = meta_for()
    assert_linear(
        lambda data: rewrite("html", data, meta, "提示"),
        lambda n: ("<meta " + attr * n + ">" + "<p>x</p>").encode(),
        base=1024,
    )


def test_label_value_reader_is_linear() -> None:
    """A label whose reserved field is a large JSON value is read in linear time."""
    from aigclabel.metadata import read_label

    assert_linear(
        lambda value: read_label(value),
        lambda n: '{"Label":"1","ReservedCode1":' + "[" * 1 + ",".join(['"x y"'] * n) + "]}",
        base=1024,
    )


def test_front_matter_label_key_scan_is_linear() -> None:
    """Merging a label into a front matter of long keyless lines is linear."""
    meta = meta_for()
    assert_linear(
        lambda data: rewrite("md", data, meta, None),
        lambda n: (
            "---\nk: |\n  " + "a" * n + "\n  " + "b" * n + "aigc\nAIGC:\n  Label: '1'\n---\nbody\n"
        ).encode(),
        base=1024,
    )
