"""
The platform side as a platform meets it (Art. 6): other vendors' labels read leniently,
propagation that keeps the producer's elements byte for byte, one label per file, xlsx and
pptx, PDF XMP, labels found wherever the relationships put them, and hostile uploads that
never hide a label.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pikepdf
import pytest
from aigclabel import Labeler
from aigclabel.adapters.files import (
    RECORD_SCHEMA,
    PropagationError,
    propagate_bytes,
    propagate_file,
    verify_batch,
    verify_bytes,
    verify_file,
)
from aigclabel.adapters.files.batch import verify_tree
from aigclabel.adapters.formats import docx as docx_format
from aigclabel.adapters.formats import read
from aigclabel.exceptions import ProducerCodeError

from tests.adapters import third_party as tp
from tests.helpers import KEY, PLATFORM, PRODUCER

ANSWER = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。"


def stored_label(data: bytes, fmt: str) -> dict[str, object]:
    """The one label a file holds after propagation, as stored (JSON or YAML decoded)."""
    doc = read(data, fmt)  # type: ignore[arg-type]
    assert 1 == len(doc.labels), [f.where for f in doc.labels]
    found = doc.labels[0]
    assert found.reading is not None
    return dict(found.reading.raw)


def vendor_file(fmt: str, value: str) -> bytes:
    """A file of *fmt* carrying the vendor label *value* (raw JSON text)."""
    if fmt == "docx":
        return tp.docx_file(ANSWER, value)
    if fmt == "xlsx":
        return tp.xlsx([ANSWER, "第二行"], value)
    if fmt == "pptx":
        return tp.pptx([ANSWER], value)
    if fmt == "html":
        return tp.html_file(ANSWER, value)
    if fmt == "pdf":
        return tp.pdf_file(value)
    assert fmt == "md"
    return tp.md_file(ANSWER + "\n", tp.md_front_from_json(value))


VENDOR_FORMATS = ["docx", "xlsx", "pptx", "html", "pdf", "md"]


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
@pytest.mark.parametrize("deviation", list(tp.DEVIATIONS))
def test_a_vendor_label_outside_the_strict_charset_is_a_label(fmt: str, deviation: str) -> None:
    """Every Annex E deviation is read as a label (confirmed), listed as findings, no conflict."""
    fv = verify_bytes(vendor_file(fmt, tp.DEVIATIONS[deviation]), f"upload.{fmt}")
    assert (fv.error, fv.tier, fv.label) == (None, "confirmed", "1")
    assert fv.metadata is not None
    assert [] == [c for c in fv.conflicts if "unreadable" in c]
    assert bool(fv.findings) == (deviation in tp.WITH_FINDINGS)
    assert fv.exit_code == 0


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
@pytest.mark.parametrize("deviation", list(tp.DEVIATIONS))
def test_propagation_keeps_the_producers_elements_byte_for_byte(fmt: str, deviation: str) -> None:
    """Propagating a vendor's label keeps its producer fields and extra keys exactly; one label remains."""
    value = tp.DEVIATIONS[deviation]
    written, after = propagate_bytes(
        vendor_file(fmt, value), f"upload.{fmt}", propagator=PLATFORM, propagate_id="plat-1"
    )
    label = stored_label(written, fmt)
    kept = {
        k: v
        for k, v in label.items()
        if k not in ("Label", "ContentPropagator", "PropagateID", "ReservedCode2")
    }
    assert tp.producer_fields(value) == kept
    assert (label["Label"], label["ContentPropagator"], label["PropagateID"]) == ("1", PLATFORM, "plat-1")
    assert str(label["ReservedCode2"]).startswith("v2.sha256.")
    assert (after.tier, after.error) == ("confirmed", None)
    assert [] == [c for c in after.conflicts if "ReservedCode2" in c]


def test_yaml_label_unquoted_is_a_label_and_propagation_writes_strings() -> None:
    """``Label: 1`` unquoted in YAML is read (a finding) and written back as the string '1'."""
    value = tp.DEVIATIONS["extra key"]
    data = tp.md_file(ANSWER + "\n", tp.md_front_from_json(value, quote_label=False))
    fv = verify_bytes(data, "a.md")
    assert fv.tier == "confirmed"
    assert any("Label is the number 1" in f for f in fv.findings)
    written, _ = propagate_bytes(data, "a.md", propagator=PLATFORM)
    assert "  Label: '1'\n" in written.decode()
    assert "title: 答案\n" in written.decode()  # the rest of the front matter kept as it was


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "pptx", "html", "md"])
def test_propagate_refuses_a_label_it_cannot_parse_and_changes_nothing(fmt: str, tmp_path: Path) -> None:
    """A label with no readable Label is never overwritten: an error, no output file."""
    broken = '{"ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"b-1"}'
    data = (
        tp.md_file(ANSWER, "AIGC: {ContentProducer: x, ProduceID: [unclosed\n")
        if fmt == "md"
        else vendor_file(fmt, broken)
    )
    src = tmp_path / f"in.{fmt}"
    src.write_bytes(data)
    out = tmp_path / f"out.{fmt}"
    fv = verify_file(src)
    assert fv.tier == "suspected"
    assert any("unreadable implicit label" in c for c in fv.conflicts)
    with pytest.raises(PropagationError, match="cannot be parsed completely"):
        propagate_file(src, out, propagator=PLATFORM)
    assert not out.exists()
    assert src.read_bytes() == data


def test_pdf_xmp_label_is_read_and_propagation_leaves_exactly_one(tmp_path: Path) -> None:
    """A PDF labeled only in XMP (TC260:AIGC) is confirmed; propagation moves it to Info, XMP cleared."""
    value = tp.DEVIATIONS["chinese company name"]
    for attribute in (False, True):
        data = tp.pdf_file(None, value, attribute=attribute)
        fv = verify_bytes(data, "a.pdf")
        assert (fv.tier, fv.metadata_where) == ("confirmed", "pdf:XMP/TC260:AIGC")
        written, after = propagate_bytes(data, "a.pdf", propagator=PLATFORM)
        doc = read(written, "pdf")
        assert ["pdf:/Info/AIGC"] == [f.where for f in doc.labels]
        assert doc.labels[0].metadata is not None
        assert tp.VENDOR == doc.labels[0].metadata.content_producer
        with pikepdf.open(io.BytesIO(written)) as pdf, pdf.open_metadata() as meta:
            assert f"{{{tp.XMP_NS}}}AIGC" not in meta
        assert after.tier == "confirmed"


def test_pdf_info_and_xmp_that_agree_are_one_label_that_disagree_are_refused() -> None:
    """Info + XMP with the same label: a finding; different producers: a conflict, propagation refused."""
    same = tp.DEVIATIONS["extra key"]
    fv = verify_bytes(tp.pdf_file(same, same), "a.pdf")
    assert ([], "confirmed") == (fv.conflicts, fv.tier)
    assert any("carriers hold the same label" in f for f in fv.findings)
    propagate_bytes(tp.pdf_file(same, same), "a.pdf", propagator=PLATFORM)
    other = tp.DEVIATIONS["chinese company name"]
    data = tp.pdf_file(same, other)
    fv = verify_bytes(data, "a.pdf")
    assert any("implicit labels disagree" in c for c in fv.conflicts)
    assert fv.exit_code == 2
    with pytest.raises(PropagationError, match="disagree"):
        propagate_bytes(data, "a.pdf", propagator=PLATFORM)


def test_docx_custom_part_is_found_through_its_relationship() -> None:
    """A custom part named by the relationships (not docProps/custom.xml) is read and written there."""
    value = tp.DEVIATIONS["extra key"]
    data = tp.docx_file(ANSWER, value, part="docProps/vendor-props.xml")
    fv = verify_bytes(data, "a.docx")
    assert (fv.tier, fv.metadata_where) == ("confirmed", "docProps/vendor-props.xml#AIGC")
    written, after = propagate_bytes(data, "a.docx", propagator=PLATFORM)
    names = zipfile.ZipFile(io.BytesIO(written)).namelist()
    assert "docProps/custom.xml" not in names
    assert 1 == len(docx_format.aigc_properties(written))
    assert after.metadata_where == "docProps/vendor-props.xml#AIGC"
    assert after.metadata is not None
    assert after.metadata.content_propagator == PLATFORM


def test_unregistered_custom_part_is_read_with_a_finding() -> None:
    """docProps/custom.xml that no relationship names still holds a label a platform must see."""
    data = tp.docx_file(ANSWER, tp.DEVIATIONS["extra key"], registered=False)
    fv = verify_bytes(data, "a.docx")
    assert fv.tier == "confirmed"
    assert any("not named by the package relationships" in f for f in fv.findings)


def test_xlsx_and_pptx_text_is_read() -> None:
    """Shared, inline and slide strings reach the verifier (explicit labels are found there)."""
    book = read(tp.xlsx(["甲", "本内容由人工智能生成"], None), "xlsx")
    assert "本内容由人工智能生成" in book.texts[0]
    assert "inline cell" in book.texts[0]
    fv = verify_bytes(tp.pptx(["第一页", "本内容由AI生成"], None), "deck.pptx")
    assert fv.tier == "suspected"


def test_content_wins_over_a_wrong_file_name() -> None:
    """A PDF uploaded as .txt, or an xlsx named .docx, is read as what it is, with a finding."""
    fv = verify_bytes(tp.pdf_file(tp.DEVIATIONS["extra key"]), "upload.txt")
    assert (fv.format, fv.tier) == ("pdf", "confirmed")
    assert any("named as txt" in f for f in fv.findings)
    fv = verify_bytes(tp.xlsx(["x"], tp.DEVIATIONS["extra key"]), "upload.docx")
    assert (fv.format, fv.tier) == ("xlsx", "confirmed")


# -- our own files --------------------------------------------------------------------------------


def strip_metadata(data: bytes, fmt: str) -> bytes:
    """The file without its metadata label (what a careless pipeline does)."""
    if fmt == "md":
        text = data.decode()
        return text.split("---\n", 2)[2].encode()
    if fmt == "html":
        import re

        return re.sub(rb'<meta name="AIGC"[^>]*>', b"", data)
    assert fmt == "docx"
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            if info.filename != "docProps/custom.xml":
                zf.writestr(info, src.read(info.filename))
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["md", "docx", "html", "txt"])
def test_an_intact_seal_is_an_implicit_label_in_every_format(fmt: str, labeler: Labeler) -> None:
    """Metadata deleted, seal intact: confirmed from the in-text marks, in every format."""
    from aigclabel.adapters.export import export

    data = export(labeler.label(ANSWER, text_format="plain" if fmt == "txt" else "markdown"), fmt)  # type: ignore[arg-type]
    if fmt != "txt":
        data = strip_metadata(data, fmt)
    for key in (KEY, None):
        fv = verify_bytes(data, f"a.{fmt}", key=key)
        assert (fv.tier, fv.metadata_where, fv.exit_code) == ("confirmed", "in-text-marks", 0)
        assert fv.status == ("intact" if key else "unverified")


def test_a_rewritten_label_over_an_intact_seal_is_a_conflict_not_a_downgrade(labeler: Labeler) -> None:
    """Front matter rewritten to Label '3' by another propagator over an intact Label-1 seal."""
    from aigclabel.adapters.export import export

    text = export(labeler.label(ANSWER, text_format="markdown"), "md").decode()
    forged = text.replace("Label: '1'", "Label: '3'").replace(
        f"ContentPropagator: '{PRODUCER}'", f"ContentPropagator: '{PLATFORM}'"
    )
    fv = verify_bytes(forged.encode(), "a.md", key=KEY)
    assert fv.tier == "confirmed"
    assert any("metadata Label '3'" in c for c in fv.conflicts)
    assert (fv.status, fv.exit_code) == ("conflict", 2)


# -- hostile uploads --------------------------------------------------------------------------------


def test_a_fifo_named_like_an_upload_is_an_error_not_a_hang(tmp_path: Path, labeler: Labeler) -> None:
    """A FIFO named upload.txt gives a per-file error; the rest of the batch completes."""
    (tmp_path / "ok.txt").write_text(labeler.label(ANSWER).text, "utf-8")
    os.mkfifo(tmp_path / "upload.txt")
    fv = verify_file(tmp_path / "upload.txt")
    assert fv.error is not None
    assert "not a regular file" in fv.error
    summary = verify_tree(tmp_path, progress=False)
    assert (summary.files, summary.errors, summary.by_tier["confirmed"]) == (2, 1, 1)


def test_a_directory_thousands_of_levels_deep_is_walked(tmp_path: Path, labeler: Labeler) -> None:
    """A 1,200-level tree is walked without a RecursionError; the deepest file is verified."""
    levels = [tmp_path]
    for _ in range(1200):
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    answer = levels[-1] / "answer.txt"
    answer.write_text(labeler.label(ANSWER).text, "utf-8")
    try:
        summary = verify_tree(tmp_path, progress=False)
        assert (summary.files, summary.errors, summary.by_tier["confirmed"]) == (1, 0, 1)
    finally:  # shutil.rmtree recurses once per level: pytest could not clean this tree up
        answer.unlink()
        for level in reversed(levels[1:]):
            level.rmdir()


def test_propagate_validates_the_platform_code() -> None:
    """A generation-service code (1xxxx) as propagator is a configuration mistake with a clear error."""
    data = tp.md_file(ANSWER, tp.md_front_from_json(tp.DEVIATIONS["extra key"]))
    with pytest.raises(ProducerCodeError, match="propagat"):
        propagate_bytes(data, "a.md", propagator=PRODUCER)


def test_declared_upload_is_possible_and_recorded(tmp_path: Path) -> None:
    """Art. 6(4): a user's declaration on unlabeled content gives tier possible and Label '2'."""
    data = b"A human-looking paragraph about Hangzhou and its lake.\n"
    with pytest.raises(PropagationError, match="not declared"):
        propagate_bytes(data, "a.md", propagator=PLATFORM)
    written, after = propagate_bytes(data, "a.md", propagator=PLATFORM, declared=True)
    assert (after.tier, stored_label(written, "md")["Label"]) == ("possible", "2")
    assert "可能为人工智能生成内容" in written.decode()
    assert json.dumps(stored_label(written, "md"))  # a complete seven-key label
    assert "ContentProducer" in stored_label(written, "md")


def test_an_upload_is_verified_from_a_file_object_without_a_temp_file(labeler: Labeler) -> None:
    """verify_bytes takes the spooled file object an upload framework hands over."""
    upload = io.BytesIO(labeler.label(ANSWER).text.encode())
    fv = verify_bytes(upload, "answer.txt", key=KEY)
    assert (fv.tier, fv.status) == ("confirmed", "intact")
    with pytest.raises(TypeError, match="binary file object"):
        verify_bytes(io.StringIO("text"), "a.txt")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not str"):
        verify_bytes("text", "a.txt")  # type: ignore[arg-type]


def test_cli_verify_with_a_keyring_names_the_key(tmp_path: Path, labeler: Labeler) -> None:
    """--keyring checks the seal with the producer's key and names the entry; a bad keyring exits 3."""
    from aigclabel.adapters.cli import main

    keyring = tmp_path / "producers.toml"
    keyring.write_text(
        f'[[producer]]\ncode = "{PRODUCER}"\n'
        f'[[producer.key]]\nid = "2026-q4"\nslot = 0\nhmac_secret = "{KEY}"\n',
        "utf-8",
    )
    answer = tmp_path / "answer.txt"
    answer.write_text(labeler.label(ANSWER).text, "utf-8")
    out = io.StringIO()
    assert 0 == main(["verify", str(answer), "--keyring", str(keyring), "--json"], stdout=out)
    verdict = json.loads(out.getvalue())
    assert (verdict["status"], verdict["text_verdict"]["evidence"]["key"]["key_id"]) == ("intact", "2026-q4")
    keyring.write_text('[[producer]]\ncode = "not a code"\n', "utf-8")
    assert 3 == main(["verify", str(answer), "--keyring", str(keyring)], stdout=io.StringIO())


@pytest.mark.parametrize("fmt", ["docx", "md", "html"])
def test_a_label_key_named_otherwise_is_replaced_not_duplicated(fmt: str) -> None:
    """A vendor's label under a name containing AIGC (``AIGC_Label``) is read, and propagation leaves one."""
    value = tp.DEVIATIONS["extra key"]
    if fmt == "docx":
        data = tp.docx_file(ANSWER, value, name="AIGC_Label")
    elif fmt == "html":
        data = tp.html_file(ANSWER, value, name="aigc-label")
    else:
        data = tp.md_file(ANSWER, tp.md_front_from_json(value).replace("AIGC:", "AIGC_Label:"))
    fv = verify_bytes(data, f"a.{fmt}")
    assert fv.tier == "confirmed"
    assert any("not 'AIGC'" in f for f in fv.findings) or fmt == "html"
    written, _ = propagate_bytes(data, f"a.{fmt}", propagator=PLATFORM)
    assert tp.producer_fields(value) == {
        k: v
        for k, v in stored_label(written, fmt).items()
        if k not in ("Label", "ContentPropagator", "PropagateID", "ReservedCode2")
    }


def test_text_around_sealed_messages_is_reported_as_unsealed(labeler: Labeler) -> None:
    """A role heading inserted before a sealed answer does not make added text look sealed."""
    sealed = labeler.label(ANSWER).text
    data = f"Added by someone else.\n\n助手：\n{sealed}\n\n助手：\n另一条没有标记的回答。\n".encode()
    fv = verify_bytes(data, "a.txt", key=KEY)
    assert (fv.tier, fv.status) == ("confirmed", "intact")
    assert "text before the first message is not covered by any seal" in fv.notes
    assert any("carry no marks" in n for n in fv.notes)


def test_verify_batch_gives_a_record_for_every_item_whatever_it_is(labeler: Labeler) -> None:
    """Bad items (None, a 3-tuple, a str) give error records, a wide memoryview its byte size."""
    good = labeler.label(ANSWER).text.encode()
    items: list[object] = [
        None,
        ("a", "b", "c"),
        "ab",
        ("x.txt", memoryview(b"abcd").cast("I")),
        ("ok.txt", good),
    ]
    rows = list(verify_batch(items))  # type: ignore[arg-type]
    assert [r["error"] is not None for r in rows] == [True, True, True, False, False]
    assert rows[3]["size"] == 4
    assert (rows[4]["tier"], rows[4]["size"]) == ("confirmed", len(good))
    assert {name for name, _ in RECORD_SCHEMA} == set(rows[0])


# -- the .txt label sidecar -------------------------------------------------------------------------


def test_a_txt_export_writes_its_label_sidecar_and_verify_reads_it(tmp_path: Path) -> None:
    """aigclabel export --to txt writes OUT.aigc.json; verify_file reads it as the file's metadata label."""
    from aigclabel.adapters.cli import main

    src = tmp_path / "answer.md"
    src.write_text(ANSWER, "utf-8")
    key = tmp_path / "key"
    key.write_text(KEY, "utf-8")
    out = tmp_path / "answer.txt"
    argv = ["export", str(src), "--to", "txt", "-o", str(out), "--producer", PRODUCER, "--key-file", str(key)]
    assert 0 == main(argv, stdout=io.StringIO())
    side = json.loads((tmp_path / "answer.txt.aigc.json").read_text("utf-8"))
    assert side["AIGC"]["ContentProducer"] == PRODUCER
    fv = verify_file(out, key=KEY)
    assert (fv.tier, fv.status, fv.metadata_where, fv.conflicts) == (
        "confirmed",
        "intact",
        "sidecar:.aigc.json",
        [],
    )


def test_a_sidecar_keeps_a_sanitised_txt_labeled(tmp_path: Path, labeler: Labeler) -> None:
    """Marks stripped by a sanitiser: the sidecar still says AI; one naming another producer: a conflict."""
    from aigclabel.adapters.formats import txt
    from aigclabel.marks.alphabet import ANY_MARK_CHAR

    labeled = labeler.label(ANSWER)
    path = tmp_path / "a.txt"
    path.write_text(ANY_MARK_CHAR.sub("", labeled.text), "utf-8")
    (tmp_path / "a.txt.aigc.json").write_bytes(txt.sidecar(labeled.metadata.to_dict("bare")))
    assert (verify_file(path).tier, verify_file(path).metadata_where) == ("confirmed", "sidecar:.aigc.json")
    path.write_text(labeled.text, "utf-8")
    other = labeled.metadata.to_dict("bare") | {"ContentProducer": "001191440300708461136T1XGW3"}
    (tmp_path / "a.txt.aigc.json").write_bytes(txt.sidecar(other))
    assert any("ContentProducer" in c for c in verify_file(path).conflicts)


def test_propagating_a_txt_writes_the_platform_fields_to_its_sidecar(
    tmp_path: Path, labeler: Labeler
) -> None:
    """The txt gets the prompt-free text, its sidecar the producer's fields plus the platform's."""
    from aigclabel.adapters.formats import txt

    labeled = labeler.label(ANSWER)
    src = tmp_path / "in.txt"
    src.write_text(labeled.text, "utf-8")
    (tmp_path / "in.txt.aigc.json").write_bytes(txt.sidecar(labeled.metadata.to_dict("bare")))
    after = propagate_file(src, tmp_path / "out.txt", propagator=PLATFORM, propagate_id="p-9")
    side = json.loads((tmp_path / "out.txt.aigc.json").read_text("utf-8"))["AIGC"]
    assert (side["ContentProducer"], side["ProduceID"]) == (PRODUCER, labeled.produce_id)
    assert (side["ContentPropagator"], side["PropagateID"]) == (PLATFORM, "p-9")
    assert (after.tier, after.conflicts) == ("confirmed", [])
    assert verify_file(tmp_path / "out.txt").metadata_where == "sidecar:.aigc.json"


def test_a_sidecar_that_is_not_a_label_is_a_trace_and_a_fifo_sidecar_does_not_block(
    tmp_path: Path,
) -> None:
    """An unreadable sidecar: suspected with a conflict; a FIFO in its place: a finding, never a hang."""
    path = tmp_path / "a.txt"
    path.write_text("A human paragraph.", "utf-8")
    (tmp_path / "a.txt.aigc.json").write_text("{not json", "utf-8")
    fv = verify_file(path)
    assert (fv.tier, fv.exit_code) == ("suspected", 2)
    (tmp_path / "a.txt.aigc.json").unlink()
    os.mkfifo(tmp_path / "a.txt.aigc.json")
    fv = verify_file(path)
    assert (fv.error, fv.tier) == (None, "none")
    assert any("sidecar cannot be read" in f for f in fv.findings)
