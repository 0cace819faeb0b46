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
    """Entity declarations in custom.xml are refused, not expanded."""
    fv = verify_file(hostile(tmp_path)["laughs"])
    assert fv.error is not None
    assert "entity" in fv.error


def test_broken_docx_is_an_error(tmp_path: Path) -> None:
    """A file named .docx that is no ZIP archive is reported as unreadable."""
    fv = verify_file(hostile(tmp_path)["broken"])
    assert fv.format == "docx"
    assert fv.error is not None
    assert "ZIP" in fv.error


def test_malformed_front_matter_is_an_error(tmp_path: Path) -> None:
    """Front matter that is not valid YAML is reported."""
    fv = verify_file(hostile(tmp_path)["front"])
    assert fv.error is not None
    assert "front matter" in fv.error


def test_unclosed_front_matter_is_an_error(tmp_path: Path) -> None:
    """An opening --- without a closing one is reported, not read as body."""
    path = tmp_path / "open.md"
    path.write_text("---\ntitle: x\nno end\n", "utf-8")
    assert "closing" in (verify_file(path).error or "")


def test_yaml_tags_are_not_constructed(tmp_path: Path) -> None:
    """safe_load refuses Python object tags in front matter."""
    path = tmp_path / "tag.md"
    path.write_text("---\nx: !!python/object/apply:os.system ['true']\n---\nbody\n", "utf-8")
    assert verify_file(path).error is not None


def test_selector_flood_is_verified(tmp_path: Path) -> None:
    """5 MB of variation selectors is read and verified as corrupt marks (suspected), not an error."""
    fv = verify_file(hostile(tmp_path)["flood"])
    assert fv.error is None
    assert fv.tier == "suspected"


def test_text_over_the_cap_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text file larger than the text cap is reported with an "exceeds" error."""
    from aigclabel.adapters.files import carriers

    monkeypatch.setattr(carriers, "MAX_TEXT_BYTES", 1024)
    path = tmp_path / "big.txt"
    path.write_text("x" * 2048, "utf-8")
    assert "exceeds" in (verify_file(path).error or "")


def test_invalid_utf8_is_an_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported."""
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert "UTF-8" in (verify_file(path).error or "")


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
    assert errors == {"broken.docx", "bomb.docx", "laughs.docx", "front.md"}
    assert summary.errors == 4
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
    assert verify_path(args, out) == 3
    assert len(jsonl.read_text("utf-8").splitlines()) == count
    assert "errors" in out.getvalue()


def test_cli_text_file_falls_through(tmp_path: Path) -> None:
    """A .txt argument returns None so the existing text path runs."""
    import argparse

    path = tmp_path / "a.txt"
    path.write_text(PLAIN, "utf-8")
    assert verify_path(argparse.Namespace(file=str(path)), io.StringIO()) is None
