"""
Hostile and broken files, and batches: every problem is a reported error, never a crash.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from aigclabel import Labeler
from aigclabel.adapters.files import verify_file, verify_tree
from aigclabel.adapters.files_cli import verify_path

from tests.adapters.test_files import MAKERS, PHRASE, PLAIN, add_custom, make_docx, meta_for
from tests.helpers import KEY

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Properties><property name="AIGC"><lpwstr>&lol3;</lpwstr></property></Properties>"""


def zip_bomb() -> bytes:
    """A docx-shaped archive whose one member inflates to 60 MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (60 * 2**20))
    return buf.getvalue()


def hostile(tmp_path: Path) -> dict[str, Path]:
    """The hostile files of the batch, by kind."""
    files = {
        "broken": ("broken.docx", b"PK\x03\x04 this is not a zip archive"),
        "bomb": ("bomb.docx", zip_bomb()),
        "laughs": ("laughs.docx", add_custom(make_docx(PLAIN, None), [], raw=BILLION_LAUGHS)),
        "front": ("front.md", b"---\ntitle: [unclosed\nAIGC: {Label: '1'\n---\nbody\n"),
        "flood": ("flood.txt", ("前" + "\ufe01" * (5 * 2**20 // 3) + "后").encode()),
    }
    out = {}
    for kind, (name, data) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[kind] = path
    return out


def test_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    """A docx declaring more than the uncompressed cap gives an "exceeds" error."""
    fv = verify_file(hostile(tmp_path)["bomb"])
    assert fv.error is not None
    assert "exceeds" in fv.error
    assert fv.tier == "none"


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    """
    Entity declarations in custom.xml are refused, not expanded; the body is still read and
    the unreadable label carrier is a trace (suspected) and a conflict, never "no label".
    """
    fv = verify_file(hostile(tmp_path)["laughs"])
    assert fv.error is None
    assert fv.tier == "suspected"
    assert any("entity declarations are refused" in c for c in fv.conflicts)
    assert fv.exit_code == 2


def test_broken_docx_is_an_error(tmp_path: Path) -> None:
    """A file named .docx that is no ZIP archive is reported as unreadable."""
    fv = verify_file(hostile(tmp_path)["broken"])
    assert fv.format == "docx"
    assert fv.error is not None
    assert "ZIP" in fv.error


def test_malformed_front_matter_naming_aigc_is_an_unreadable_label(tmp_path: Path) -> None:
    """Front matter that is not valid YAML but has an AIGC key: suspected, a conflict, a finding."""
    fv = verify_file(hostile(tmp_path)["front"])
    assert fv.error is None
    assert fv.tier == "suspected"
    assert any("front matter" in f for f in fv.findings)
    assert any("unreadable implicit label" in c for c in fv.conflicts)


def test_unclosed_front_matter_is_read_as_body(tmp_path: Path) -> None:
    """An opening --- without a closing one is a finding; the whole file is verified as body."""
    path = tmp_path / "open.md"
    path.write_text("---\ntitle: x\nno end\n", "utf-8")
    fv = verify_file(path)
    assert fv.error is None
    assert fv.tier == "none"
    assert any("no closing" in f for f in fv.findings)


def test_unclosed_front_matter_does_not_hide_a_labeled_body(tmp_path: Path, labeler: Labeler) -> None:
    """A labeled body after a '---' line with no closing line is still confirmed."""
    path = tmp_path / "open.md"
    path.write_text("---\n" + labeler.label(PLAIN).text, "utf-8")
    fv = verify_file(path)
    assert (fv.error, fv.tier) == (None, "confirmed")


def test_yaml_tags_are_not_constructed(tmp_path: Path) -> None:
    """safe_load refuses Python object tags in front matter: a finding, nothing constructed."""
    path = tmp_path / "tag.md"
    path.write_text("---\nx: !!python/object/apply:os.system ['true']\n---\nbody\n", "utf-8")
    fv = verify_file(path)
    assert fv.error is None
    assert any("python/object" in f for f in fv.findings)


def test_selector_flood_is_verified(tmp_path: Path) -> None:
    """5 MB of variation selectors is read and verified as corrupt marks (suspected), not an error."""
    fv = verify_file(hostile(tmp_path)["flood"])
    assert fv.error is None
    assert fv.tier == "suspected"


def test_text_over_the_cap_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text file larger than the text cap is reported with an "exceeds" error."""
    from aigclabel.adapters.formats import limits

    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 1024)
    path = tmp_path / "big.txt"
    path.write_text("x" * 2048, "utf-8")
    assert "exceeds" in (verify_file(path).error or "")


def test_invalid_bytes_are_a_finding_and_the_text_is_still_verified(tmp_path: Path, labeler: Labeler) -> None:
    """Labeled text plus one invalid byte: still confirmed (never "no label"), with a finding."""
    path = tmp_path / "bad.txt"
    path.write_bytes(labeler.label(PLAIN).text.encode() + b"\xff")
    fv = verify_file(path)
    assert (fv.error, fv.tier) == (None, "confirmed")
    assert any("not valid UTF-8" in f for f in fv.findings)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path, labeler: Labeler) -> None:
    """A UTF-16 file (byte-order mark first) is decoded as UTF-16, marks intact."""
    path = tmp_path / "utf16.txt"
    path.write_bytes(labeler.label(PLAIN).text.encode("utf-16"))
    fv = verify_file(path, key=KEY)
    assert (fv.tier, fv.status) == ("confirmed", "intact")


def test_truncated_pdf_is_an_error(tmp_path: Path) -> None:
    """Half a PDF is reported as unreadable or read as far as possible, never raised."""
    path = tmp_path / "half.pdf"
    path.write_bytes(MAKERS["pdf"](PLAIN, None)[:300])
    fv = verify_file(path)
    assert fv.format == "pdf"
    assert fv.error is not None or fv.tier == "none"


def build_tree(root: Path, labeler: Labeler) -> int:
    """About 30 mixed files (the hostile ones included) in nested folders; returns the count."""
    n = 0
    labeled = labeler.label(PLAIN)
    for i in range(5):
        sub = root / f"d{i % 2}"
        sub.mkdir(exist_ok=True)
        for fmt, make in MAKERS.items():
            text, meta = [
                (PLAIN, meta_for()),
                (PHRASE, None),
                (PLAIN, None),
                (labeled.text, labeled.metadata),
            ][(i + n) % 4]
            (sub / f"f{i}.{fmt}").write_bytes(make(text, meta))
            n += 1
        (sub / f"t{i}.txt").write_text(labeled.text if i % 2 else PLAIN, "utf-8")
        n += 1
    (root / "ignored.bin").write_bytes(b"\0\1")
    return n + len(hostile(root))


def test_batch_reports_every_file_and_completes(tmp_path: Path, labeler: Labeler) -> None:
    """One JSON line per file; the five hostile files are errors; the rest are classified."""
    root = tmp_path / "tree"
    root.mkdir()
    count = build_tree(root, labeler)
    jsonl = tmp_path / "out.jsonl"
    summary = verify_tree(root, jsonl=jsonl, progress=False)
    rows = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    assert len(rows) == summary.files == count
    errors = {Path(r["path"]).name for r in rows if r["error"]}
    assert errors == {"broken.docx", "bomb.docx"}
    assert summary.errors == 2
    conflicted = {Path(r["path"]).name for r in rows if r["conflicts"]}
    assert {"laughs.docx", "front.md"} <= conflicted
    assert sum(summary.by_tier.values()) == count
    assert summary.by_tier["confirmed"] > 0
    assert summary.by_tier["suspected"] > 0
    assert summary.by_tier["none"] > 0


def test_process_pool_gives_the_same_rows(tmp_path: Path, labeler: Labeler) -> None:
    """A batch with workers=2 writes the same lines in the same order as one process."""
    root = tmp_path / "tree"
    root.mkdir()
    build_tree(root, labeler)
    one, two = io.StringIO(), io.StringIO()
    verify_tree(root, jsonl=one, progress=False)
    verify_tree(root, jsonl=two, progress=False, workers=2)
    assert one.getvalue() == two.getvalue()


def test_cli_verify_directory_writes_jsonl(tmp_path: Path, labeler: Labeler) -> None:
    """verify DIR --recursive --jsonl OUT: exit 3 when some files are unreadable, a summary table printed."""
    import argparse

    root = tmp_path / "tree"
    root.mkdir()
    count = build_tree(root, labeler)
    out, jsonl = io.StringIO(), tmp_path / "o.jsonl"
    args = argparse.Namespace(file=str(root), recursive=True, jsonl=str(jsonl), declared=False, key_file=None)
    assert verify_path(args, None, out) == 3
    assert len(jsonl.read_text("utf-8").splitlines()) == count
    assert "errors" in out.getvalue()


def test_cli_text_file_goes_through_the_file_verdict(tmp_path: Path) -> None:
    """A .txt argument is a file like any other: the file verdict, its exit code (1: no label)."""
    import argparse

    path = tmp_path / "a.txt"
    path.write_text(PLAIN, "utf-8")
    out = io.StringIO()
    assert verify_path(argparse.Namespace(file=str(path)), None, out) == 1
    assert "tier: none" in out.getvalue()


def nested_docx(levels: int) -> bytes:
    """The issue's docx: *levels* paragraphs nested in one another, each with a run of text."""
    from tests.adapters.test_file_growth import docx_of

    return docx_of("<w:p><w:r><w:t>nested paragraph text</w:t></w:r>" * levels + "</w:p>" * levels)


def test_nested_paragraph_docx_is_refused_small(tmp_path: Path) -> None:
    """A ~1 KB docx of paragraphs nested 10,000 deep is refused by the depth cap, not expanded."""
    path = tmp_path / "nested.docx"
    path.write_bytes(nested_docx(10_000))
    assert path.stat().st_size < 2048
    fv = verify_file(path)
    assert fv.error is not None
    assert "deeper than" in fv.error


def test_nested_paragraphs_keep_each_text_once() -> None:
    """Nested paragraphs under the cap yield each run once, in the order they start."""
    from aigclabel.adapters.formats import read

    body = "<w:p><w:r><w:t>a</w:t></w:r><w:p><w:r><w:t>b</w:t></w:r></w:p><w:r><w:t>c</w:t></w:r></w:p>"
    from tests.adapters.test_file_growth import docx_of

    assert ["ac\nb"] == read(docx_of(body), "docx").texts[:1]


def test_docx_text_cap_is_checked_while_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text cap stops the parse at the first run past it: later parts are never parsed."""
    from aigclabel.adapters.formats import CarrierError, limits, read, xmlparts

    from tests.adapters.test_file_growth import docx_of

    seen: list[str] = []
    spend = xmlparts.TextBudget.spend

    def spy(self: xmlparts.TextBudget, text: str) -> None:
        seen.append(text)
        spend(self, text)

    monkeypatch.setattr(xmlparts.TextBudget, "spend", spy)
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 100)
    with pytest.raises(CarrierError, match="text cap"):
        read(docx_of("<w:p><w:r><w:t>0123456789</w:t></w:r></w:p>" * 1000), "docx")
    assert len(seen) == 11


def test_docx_element_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A part with more elements than the cap is refused with a clear error."""
    from aigclabel.adapters.formats import CarrierError, limits, read

    from tests.adapters.test_file_growth import docx_of

    monkeypatch.setattr(limits, "MAX_NODES", 100)
    with pytest.raises(CarrierError, match="more than 100 XML elements"):
        read(docx_of("<w:p/>" * 200), "docx")


def test_deep_html_is_refused() -> None:
    """HTML nested deeper than the cap is an error naming the cap, not a silent truncation."""
    from aigclabel.adapters.formats import CarrierError, read
    from aigclabel.adapters.formats.limits import MAX_DEPTH

    with pytest.raises(CarrierError, match=f"deeper than {MAX_DEPTH}"):
        read(("<div>" * (MAX_DEPTH + 1) + "text").encode(), "html")


def test_html_element_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTML with more elements than the cap is refused."""
    from aigclabel.adapters.formats import CarrierError, limits, read

    monkeypatch.setattr(limits, "MAX_NODES", 100)
    with pytest.raises(CarrierError, match="more than 100 elements"):
        read(b"<p>x" * 200, "html")


def test_unclosed_comment_flood_is_read(tmp_path: Path) -> None:
    """The issue's 320 KB page of '<!--' is read (an empty comment, no text), not stalled on."""
    path = tmp_path / "comments.html"
    path.write_bytes(b"<!--" * 80_000)
    fv = verify_file(path)
    assert fv.error is None
    assert fv.tier == "none"


def test_html_meta_and_text_survive_the_parser() -> None:
    """The AIGC meta (any case, in head) is read; head, script and comments are not text."""
    from aigclabel.adapters.formats import read

    page = (
        '<html><head><META Name="aigc" content="{&quot;Label&quot;:&quot;1&quot;}"><title>t</title></head>'
        "<body><!-- c -->a<script>s</script><p>b<br>c</p>d &amp; &#x4e2d;</body></html>"
    )
    doc = read(page.encode(), "html")
    assert ["a\nb\nc\nd & 中"] == doc.texts
    assert 1 == len(doc.labels)
    assert doc.labels[0].reading is not None
    assert doc.labels[0].reading.metadata.label == "1"


ALIAS_BOMB = """---
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
AIGC: *f
---
body
"""


def front_matter_refusal(path: Path) -> str:
    """
    The findings of a Markdown file whose front matter is refused: the file itself is read
    (no error) and, its front matter naming AIGC, counts as an unreadable label (suspected).
    """
    fv = verify_file(path)
    assert fv.error is None
    assert fv.tier == "suspected"
    assert any("unreadable implicit label" in c for c in fv.conflicts)
    return " | ".join(fv.findings)


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    """Front matter whose aliases expand past the cap is refused, not a million-node walk."""
    path = tmp_path / "bomb.md"
    path.write_text(ALIAS_BOMB, "utf-8")
    assert "expands to more than" in front_matter_refusal(path)


def test_recursive_yaml_alias_is_refused(tmp_path: Path) -> None:
    """A front matter that refers to itself is refused."""
    path = tmp_path / "loop.md"
    path.write_text("---\nAIGC: &a [*a]\n---\nbody\n", "utf-8")
    assert "refers to itself" in front_matter_refusal(path)


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    """Front matter nested deeper than the composer can follow is refused, not a RecursionError."""
    path = tmp_path / "deep.md"
    path.write_text("---\nAIGC: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n", "utf-8")
    assert "nests too deeply" in front_matter_refusal(path)


def test_benign_yaml_aliases_are_read(tmp_path: Path) -> None:
    """A few aliases in front matter are fine: the label is read."""
    meta = meta_for()
    block = meta.for_format("markdown").removeprefix("---\n").removesuffix("---\n")
    path = tmp_path / "alias.md"
    path.write_text(f"---\nbase: &b {{x: 1}}\nother: *b\n{block}---\nbody\n", "utf-8")
    fv = verify_file(path)
    assert fv.error is None
    assert meta == fv.metadata


def test_front_matter_over_the_cap_is_refused(tmp_path: Path) -> None:
    """Front matter over 1 MB is refused before YAML parsing."""
    path = tmp_path / "huge.md"
    path.write_text("---\n" + "k: v\n" * 250_000 + "---\nbody\n", "utf-8")
    fv = verify_file(path)
    assert fv.error is None
    assert any("exceeds the cap" in f for f in fv.findings)


def test_export_refuses_an_alias_bomb() -> None:
    """The exporter's front-matter split refuses an alias bomb with an ExportError."""
    from aigclabel.adapters.export import ExportError, split_front_matter

    with pytest.raises(ExportError, match="expands to more than"):
        split_front_matter(ALIAS_BOMB)


def test_pdf_page_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF with more pages than the cap is reported, not read."""
    from aigclabel.adapters.formats import limits

    from tests.adapters.test_file_growth import pdf_of

    monkeypatch.setattr(limits, "MAX_PDF_PAGES", 2)
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf_of(3))
    assert "3 pages, over the cap of 2" in (verify_file(path).error or "")


def test_pdf_object_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF with more objects than the cap is reported."""
    from aigclabel.adapters.formats import limits

    from tests.adapters.test_file_growth import pdf_of

    monkeypatch.setattr(limits, "MAX_PDF_OBJECTS", 5)
    path = tmp_path / "objects.pdf"
    path.write_bytes(pdf_of(3))
    assert "over the cap of 5" in (verify_file(path).error or "")


def test_carrier_error_is_ours() -> None:
    """CarrierError is an AIGCLabelError and a ValueError."""
    from aigclabel.adapters.files import CarrierError
    from aigclabel.exceptions import AIGCLabelError

    assert issubclass(CarrierError, AIGCLabelError)
    assert issubclass(CarrierError, ValueError)


def nested_tables_docx(levels: int, text: str) -> bytes:
    """A python-docx document whose body holds tables nested *levels* deep around *text*."""
    import docx

    d = docx.Document()
    buf = io.BytesIO()
    d.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    inner = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
    for _ in range(levels):
        inner = f"<w:tbl><w:tr><w:tc>{inner}</w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>"
    xml = src.read("word/document.xml").decode().replace("<w:sectPr", inner + "<w:p/><w:sectPr", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, xml if info.filename == "word/document.xml" else src.read(info.filename))
    return out.getvalue()


def test_document_text_reads_nested_tables_once() -> None:
    """Tables nested 80 deep yield the innermost text once (it was repeated 80² / 2 times)."""
    from aigclabel.adapters.formats.docx import document_text

    text = document_text(nested_tables_docx(80, "深层表格文字"))
    assert 1 == text.count("深层表格文字")
