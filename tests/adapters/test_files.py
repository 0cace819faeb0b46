"""
Files on the platform side: the three Art. 6 tiers per format, conflicts, propagation.

Input files are built here (python-docx, YAML front matter, HTML strings, fpdf2 + pikepdf)
so that these tests do not depend on the exporters.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pikepdf
import pytest
import yaml
from aigclabel import AIGCMetadata, Labeler
from aigclabel.adapters.files import PROMPTS, propagate_file, verify_file
from aigclabel.adapters.formats import Extracted, detect_format, read
from aigclabel.adapters.formats.pdf import find_cjk_font
from fpdf import FPDF

from tests.helpers import KEY, PLATFORM, PRODUCER

OTHER = "001191110102MAD55U9H0F10003"
PLAIN = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。"
PHRASE = PLAIN + "\n\n本内容由人工智能生成"
FORMATS = ["docx", "md", "html", "pdf"]


def read_file(path: Path) -> Extracted:
    """What the format reader sees in the file at *path*."""
    data = path.read_bytes()
    fmt, _ = detect_format(path.name, data)
    assert fmt is not None
    return read(data, fmt)


def make_docx(text: str, meta: AIGCMetadata | None) -> bytes:
    """A python-docx document; *meta* written to docProps/custom.xml as the bare JSON."""
    d = docx.Document()
    for para in text.split("\n"):
        d.add_paragraph(para)
    buf = io.BytesIO()
    d.save(buf)
    if meta is None:
        return buf.getvalue()
    return add_custom(buf.getvalue(), [("AIGC", meta.for_format("docx"))])


def add_custom(data: bytes, props: list[tuple[str, str]], raw: bytes | None = None) -> bytes:
    """Add a docProps/custom.xml part (registered in the rels and content types)."""
    body = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i + 2}" name="{n}">'
        f"<vt:lpwstr>{v.replace('&', '&amp;').replace('<', '&lt;')}</vt:lpwstr></property>"
        for i, (n, v) in enumerate(props)
    )
    custom = (
        raw
        or (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            f"{body}</Properties>"
        ).encode()
    )
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename == "_rels/.rels":
                part = part.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>',
                )
            elif info.filename == "[Content_Types].xml":
                part = part.replace(
                    b"</Types>",
                    b'<Override PartName="/docProps/custom.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>',
                )
            zf.writestr(info, part)
        zf.writestr("docProps/custom.xml", custom)
    return out.getvalue()


def make_md(text: str, meta: AIGCMetadata | None) -> bytes:
    """Markdown with a title in its front matter and *meta* as the AIGC mapping."""
    front = meta.for_format("markdown").replace("---\n", "---\ntitle: '杭州'\n", 1) if meta else ""
    return (front + text).encode()


def make_html(text: str, meta: AIGCMetadata | None) -> bytes:
    """A small page; *meta* in <meta name="AIGC">."""
    import html

    tag = f'<meta name="AIGC" content="{html.escape(meta.for_format("html"))}">' if meta else ""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p)
    return f"<!doctype html><html><head><title>答</title>{tag}</head><body>{paras}</body></html>".encode()


def make_pdf(text: str, meta: AIGCMetadata | None) -> bytes:
    """An fpdf2 PDF with a CJK font; *meta* put into the Info dict /AIGC with pikepdf."""
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("cjk", "", find_cjk_font()[0])
    pdf.set_font("cjk", size=12)
    pdf.multi_cell(0, 8, text)
    data = bytes(pdf.output())
    if meta is None:
        return data
    with pikepdf.open(io.BytesIO(data)) as doc:
        doc.docinfo["/AIGC"] = meta.for_format("pdf")
        buf = io.BytesIO()
        doc.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()


MAKERS: dict[str, Callable[[str, AIGCMetadata | None], bytes]] = {
    "docx": make_docx,
    "md": make_md,
    "html": make_html,
    "pdf": make_pdf,
}
WHERE = {
    "docx": "docProps/custom.xml#AIGC",
    "md": "front-matter:AIGC",
    "html": "meta[name=AIGC]",
    "pdf": "pdf:/Info/AIGC",
}


def meta_for(producer: str = PRODUCER, produce_id: str = "aigc-0001") -> AIGCMetadata:
    """A first-write label with Label 1."""
    return AIGCMetadata.first_write(producer=producer, produce_id=produce_id)


def write(tmp_path: Path, fmt: str, text: str, meta: AIGCMetadata | None, name: str = "in") -> Path:
    """Build a file of *fmt* under *tmp_path*."""
    path = tmp_path / f"{name}.{fmt}"
    path.write_bytes(MAKERS[fmt](text, meta))
    return path


def count_labels(path: Path) -> int:
    """How many AIGC carriers the file holds, counted with each format's own library."""
    data = path.read_bytes()
    if path.suffix == ".docx":
        custom = zipfile.ZipFile(io.BytesIO(data)).read("docProps/custom.xml")
        return custom.count(b'name="AIGC"')
    if path.suffix == ".md":
        front = data.decode().split("---\n")[1]
        return front.count("AIGC:") if isinstance(yaml.safe_load(front).get("AIGC"), dict) else 0
    if path.suffix == ".html":
        return data.lower().count(b'name="aigc"')
    with pikepdf.open(path) as pdf:
        return sum(1 for k in pdf.docinfo.keys() if "AIGC" in str(k))  # noqa: SIM118


@pytest.mark.parametrize("fmt", FORMATS)
def test_metadata_label_1_is_confirmed(tmp_path: Path, fmt: str) -> None:
    """A file whose implicit label says Label 1 is confirmed, with where the label was found."""
    fv = verify_file(write(tmp_path, fmt, PLAIN, meta_for()))
    assert (fv.tier, fv.label, fv.metadata_where, fv.error) == ("confirmed", "1", WHERE[fmt], None)
    assert fv.metadata == meta_for()


@pytest.mark.parametrize("fmt", FORMATS)
def test_declared_without_metadata_is_possible(tmp_path: Path, fmt: str) -> None:
    """No implicit label, but the uploader declared AI content: possible (Label 2)."""
    fv = verify_file(write(tmp_path, fmt, PLAIN, None), declared=True)
    assert (fv.tier, fv.label, fv.metadata) == ("possible", "2", None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_explicit_phrase_only_is_suspected(tmp_path: Path, fmt: str) -> None:
    """Only a visible label phrase in the text: suspected (Label 3)."""
    fv = verify_file(write(tmp_path, fmt, PHRASE, None))
    assert (fv.tier, fv.label) == ("suspected", "3")
    assert fv.text_verdict is not None
    assert fv.text_verdict.evidence.explicit


@pytest.mark.parametrize("fmt", [*FORMATS, "txt"])
def test_nothing_is_none(tmp_path: Path, fmt: str) -> None:
    """No metadata, no phrase, no marks, not declared: none."""
    path = tmp_path / f"plain.{fmt}"
    path.write_bytes(PLAIN.encode() if fmt == "txt" else MAKERS[fmt](PLAIN, None))
    fv = verify_file(path)
    assert (fv.tier, fv.label, fv.error, fv.conflicts) == ("none", None, None, [])


@pytest.mark.parametrize("fmt", ["docx", "md", "html"])
def test_metadata_and_marks_conflict_is_reported(tmp_path: Path, fmt: str, labeler: Labeler) -> None:
    """Metadata naming another producer than the in-text seal is a conflict, not hidden."""
    labeled = labeler.label(PLAIN)
    fv = verify_file(write(tmp_path, fmt, labeled.text, meta_for(producer=OTHER)), key=KEY)
    assert fv.tier == "confirmed"
    assert any("ContentProducer" in c and OTHER in c for c in fv.conflicts)
    assert fv.to_dict()["status"] == "conflict"


def test_labeled_txt_is_confirmed_by_its_marks(tmp_path: Path, labeler: Labeler) -> None:
    """Plain text has no carrier: an authenticated in-text seal is its implicit label."""
    path = tmp_path / "a.txt"
    path.write_text(labeler.label(PLAIN).text, "utf-8")
    fv = verify_file(path, key=KEY)
    assert (fv.tier, fv.metadata_where, fv.text_verdict and fv.text_verdict.status) == (
        "confirmed",
        "in-text-marks",
        "intact",
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_labeled_file_is_intact(tmp_path: Path, fmt: str, labeler: Labeler) -> None:
    """A labeled text in a file with its metadata verifies with the in-text seal intact."""
    labeled = labeler.label(PLAIN)
    fv = verify_file(write(tmp_path, fmt, labeled.text, labeled.metadata), key=KEY)
    assert (fv.tier, fv.conflicts) == ("confirmed", [])
    if fmt != "pdf":  # the PDF font has no glyphs for the invisible code points
        assert fv.text_verdict is not None
        assert fv.text_verdict.status == "intact"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("declared", "text", "meta", "tier"),
    [
        (False, PHRASE, None, "suspected"),
        (True, PLAIN, None, "possible"),
        (False, PLAIN, meta_for(), "confirmed"),
    ],
    ids=["suspected", "possible", "confirmed"],
)
def test_propagate_writes_one_label_and_the_tier_prompt(
    tmp_path: Path, fmt: str, declared: bool, text: str, meta: AIGCMetadata | None, tier: str
) -> None:
    """Propagation keeps exactly one AIGC carrier with the platform fields and shows the tier prompt."""
    src = write(tmp_path, fmt, text, meta)
    out = tmp_path / f"out.{fmt}"
    fv = propagate_file(src, out, propagator=PLATFORM, propagate_id="p-42", declared=declared)
    again = verify_file(out, declared=declared)
    assert again.metadata is not None
    assert fv.metadata == again.metadata
    assert (again.tier, again.metadata.content_propagator, again.metadata.propagate_id) == (
        tier,
        PLATFORM,
        "p-42",
    )
    assert again.metadata.reserved_code2.startswith("v2.sha256.")
    assert again.metadata_where == WHERE[fmt]
    assert again.conflicts == []
    assert count_labels(out) == 1
    assert PROMPTS[tier] in read_file(out).texts[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_propagate_twice_keeps_one_label(tmp_path: Path, fmt: str) -> None:
    """Propagating an already propagated file replaces the label: still exactly one."""
    src = write(tmp_path, fmt, PHRASE, None)
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    propagate_file(src, first, propagator=PLATFORM, propagate_id="one")
    fv = propagate_file(first, second, propagator=PLATFORM, propagate_id="two")
    assert count_labels(second) == 1
    assert fv.metadata is not None
    assert fv.metadata.propagate_id == "two"


def test_propagate_keeps_production_fields(tmp_path: Path, labeler: Labeler) -> None:
    """A labeled docx keeps ContentProducer and ProduceID; the seal stays intact beside the new fields."""
    labeled = labeler.label(PLAIN)
    src = write(tmp_path, "docx", labeled.text, labeled.metadata)
    fv = propagate_file(src, tmp_path / "o.docx", propagator=PLATFORM, key=KEY)
    assert fv.metadata is not None
    assert (fv.metadata.content_producer, fv.metadata.produce_id) == (PRODUCER, labeled.produce_id)
    assert fv.metadata.reserved_code2.startswith("v2.hs256.")
    assert fv.text_verdict is not None
    assert fv.text_verdict.status == "intact"
    assert fv.conflicts == []
    assert docx.Document(str(tmp_path / "o.docx")).paragraphs  # still opens in python-docx


def test_editing_after_propagation_breaks_reserved_code2(tmp_path: Path) -> None:
    """ReservedCode2 binds the visible text: changing a word afterwards is reported."""
    src = write(tmp_path, "md", PHRASE, None)
    out = tmp_path / "o.md"
    propagate_file(src, out, propagator=PLATFORM)
    out.write_text(out.read_text("utf-8").replace("杭州", "苏州"), "utf-8")
    assert any("ReservedCode2" in c for c in verify_file(out).conflicts)


def test_markdown_front_matter_is_merged(tmp_path: Path) -> None:
    """Existing front matter keys survive propagation; the AIGC mapping holds quoted strings."""
    src = write(tmp_path, "md", PHRASE, meta_for())
    out = tmp_path / "o.md"
    propagate_file(src, out, propagator=PLATFORM, propagate_id="x")
    front = yaml.safe_load(out.read_text("utf-8").split("---\n")[1])
    assert front["title"] == "杭州"
    assert front["AIGC"]["Label"] == "1"
    assert front["AIGC"]["ContentPropagator"] == PLATFORM
    assert "Label: '1'" in out.read_text("utf-8")


def test_docx_propagation_registers_the_custom_part(tmp_path: Path) -> None:
    """A docx without custom properties gains the part, its relationship and content type."""
    src = write(tmp_path, "docx", PHRASE, None)
    out = tmp_path / "o.docx"
    propagate_file(src, out, propagator=PLATFORM)
    zf = zipfile.ZipFile(out)
    assert b"docProps/custom.xml" in zf.read("_rels/.rels")
    assert b"/docProps/custom.xml" in zf.read("[Content_Types].xml")
    assert zf.read("docProps/custom.xml").count(b"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}") == 1


def test_pdf_label_is_outside_object_streams(tmp_path: Path) -> None:
    """The propagated PDF keeps /AIGC where a byte search finds it (no object streams)."""
    out = tmp_path / "o.pdf"
    propagate_file(write(tmp_path, "pdf", PHRASE, None), out, propagator=PLATFORM, propagate_id="p-9")
    data = out.read_bytes()
    assert b"/AIGC" in data
    assert b"p-9" in data
    assert b"/ObjStm" not in data


def test_wrapped_shape_is_read(tmp_path: Path) -> None:
    """Readers accept the wrapped Annex E shape as well as the bare one."""
    path = tmp_path / "w.html"
    wrapped = meta_for().to_json("wrapped").replace('"', "&quot;")
    path.write_text(
        f'<html><head><meta name="AIGC" content="{wrapped}"></head><body>x</body></html>', "utf-8"
    )
    assert verify_file(path).tier == "confirmed"


def test_two_carriers_are_a_conflict(tmp_path: Path) -> None:
    """Two AIGC meta tags break "exactly one implicit label": reported."""
    one = make_html(PLAIN, meta_for()).decode()
    two = one.replace("</head>", f"<meta name=\"AIGC\" content='{meta_for(OTHER).to_json('bare')}'></head>")
    path = tmp_path / "two.html"
    path.write_text(two, "utf-8")
    assert any("2 implicit labels disagree" in c for c in verify_file(path).conflicts)


def test_invalid_propagator_is_refused(tmp_path: Path) -> None:
    """The platform code is validated before anything is written."""
    from aigclabel import ProducerCodeError

    with pytest.raises(ProducerCodeError):
        propagate_file(write(tmp_path, "md", PHRASE, None), tmp_path / "o.md", propagator="PLATFORM")
    assert not (tmp_path / "o.md").exists()


def test_verdict_is_json_ready(tmp_path: Path) -> None:
    """to_dict() serialises with the standard json module."""
    fv = verify_file(write(tmp_path, "docx", PHRASE, meta_for()))
    row = json.loads(json.dumps(fv.to_dict()))
    assert row["metadata"]["Label"] == "1"
    assert row["format"] == "docx"


def test_a_reserved_code2_written_by_0_1_is_still_checked(tmp_path: Path) -> None:
    """
    A ``v1.sha256.`` ReservedCode2 (canonical form 1, as 0.1 wrote it) matches its file, and an
    edit after propagation is still reported against it.
    """
    from aigclabel.adapters.files.verify_file import reserved_code2

    src = write(tmp_path, "md", PHRASE, None)
    out = tmp_path / "o.md"
    fv = propagate_file(src, out, propagator=PLATFORM)
    assert fv.metadata is not None
    text = read_file(out).texts[0]
    v1 = reserved_code2(fv.metadata, text, version=1)
    out.write_text(out.read_text("utf-8").replace(fv.metadata.reserved_code2, v1), "utf-8")

    assert v1.startswith("v1.sha256.")
    assert [] == verify_file(out).conflicts
    out.write_text(out.read_text("utf-8").replace("杭州", "苏州"), "utf-8")
    assert any("ReservedCode2" in c for c in verify_file(out).conflicts)
