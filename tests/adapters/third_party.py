# ruff: noqa: E501  (vendor labels are kept as the raw one-line JSON they store)
"""
Files in the shapes other vendors write (standard §3-§4), built by hand: the carrier values
are given as raw text, so a label that strays from the strict writer rule reaches the reader
exactly as a vendor stored it.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from typing import Any

import docx
import pikepdf

CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
RT_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
XMP_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
VENDOR = "某某人工智能科技有限公司"

#: Annex E labels that stray from the strict charset, as vendors store them (JSON text).
DEVIATIONS: dict[str, str] = {
    "chinese company name": json.dumps(
        {
            "Label": "1",
            "ContentProducer": VENDOR,
            "ProduceID": "gen-20260101-0001",
            "ReservedCode1": "",
            "ContentPropagator": VENDOR,
            "PropagateID": "gen-20260101-0001",
            "ReservedCode2": "",
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ),
    "space in ProduceID": '{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"id 42",'
    '"ReservedCode1":"","ContentPropagator":"001191440300708461136T1XGW3","PropagateID":"id 42","ReservedCode2":""}',
    "escaped quote": '{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"q-1",'
    '"ReservedCode1":"sig\\"x","ContentPropagator":"001191440300708461136T1XGW3","PropagateID":"q-1","ReservedCode2":""}',
    "SecurityData JSON": json.dumps(
        {
            "Label": "1",
            "ContentProducer": "001191440300MA5G49LC9K1YO01",
            "ProduceID": "sd-7",
            "ReservedCode1": json.dumps(
                {"Type": "SM2", "Version": "1.0", "PubSD": "3045022100ab"}, separators=(",", ":")
            ),
            "ContentPropagator": "001191440300MA5G49LC9K1YO01",
            "PropagateID": "sd-7",
            "ReservedCode2": "",
        },
        separators=(",", ":"),
    ),
    "Label as a JSON number": '{"Label":1,"ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"n-1",'
    '"ReservedCode1":"","ContentPropagator":"001191110102MAD55U9H0F10002","PropagateID":"n-1","ReservedCode2":""}',
    "extra key": '{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"x-1",'
    '"ReservedCode1":"","ContentPropagator":"001191110102MAD55U9H0F10002","PropagateID":"x-1","ReservedCode2":"",'
    '"Model":"vendor-llm-2"}',
    "wrapped shape": '{"AIGC":{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"w-1",'
    '"ReservedCode1":"","ContentPropagator":"001191110102MAD55U9H0F10002","PropagateID":"w-1","ReservedCode2":""}}',
    "missing reserved keys": '{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"m-1"}',
}
#: Deviations the strict reading lists as findings (the wrapped shape is allowed: readers accept both).
WITH_FINDINGS = frozenset(DEVIATIONS) - {"wrapped shape"}


def producer_fields(value: str) -> dict[str, Any]:
    """The producer's elements (and extra keys) of a JSON label value, as stored."""
    obj = json.loads(value)
    obj = obj.get("AIGC", obj)
    return {
        k: v
        for k, v in obj.items()
        if k not in ("Label", "ContentPropagator", "PropagateID", "ReservedCode2")
    }


# -- OOXML -------------------------------------------------------------------------------------


def _custom_xml(name: str, value: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Department">'
        "<vt:lpwstr>Sales</vt:lpwstr></property>"
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="3" name="{name}">'
        f"<vt:lpwstr>{html.escape(value, quote=False)}</vt:lpwstr></property></Properties>"
    )


def package(
    parts: dict[str, str],
    main_rel: tuple[str, str],
    value: str | None,
    *,
    part: str = "docProps/custom.xml",
    registered: bool = True,
    name: str = "AIGC",
) -> bytes:
    """
    An OPC package of *parts* with the main relationship *main_rel* (type, target) and, when
    *value* is given, a custom-properties part *part* holding an ``AIGC`` property (registered
    in the relationships unless *registered* is false).
    """
    rels = [f'<Relationship Id="rId1" Type="{main_rel[0]}" Target="{main_rel[1]}"/>']
    overrides = []
    files = dict(parts)
    if value is not None:
        files[part] = _custom_xml(name, value)
        overrides.append(f'<Override PartName="/{part}" ContentType="{CT_CUSTOM}"/>')
        if registered:
            rels.append(f'<Relationship Id="rId9" Type="{RT_CUSTOM}" Target="{part}"/>')
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>"
    )
    rel_xml = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels)
        + "</Relationships>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", rel_xml)
        for name_, body in files.items():
            zf.writestr(name_, body)
    return buf.getvalue()


_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def xlsx(texts: list[str], value: str | None) -> bytes:
    """A workbook whose shared strings are *texts*, labeled with *value*."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    shared = (
        f'<sst {ns} count="{len(texts)}">'
        + "".join(f"<si><t>{html.escape(t)}</t></si>" for t in texts)
        + "</sst>"
    )
    sheet = (
        f"<worksheet {ns}><sheetData>"
        + "".join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(len(texts)))
        + '<row r="99"><c r="B99" t="inlineStr"><is><t>inline cell</t></is></c></row></sheetData></worksheet>'
    )
    parts = {
        "xl/workbook.xml": f'<workbook {ns}><sheets><sheet name="S" sheetId="1"/></sheets></workbook>',
        "xl/sharedStrings.xml": shared,
        "xl/worksheets/sheet1.xml": sheet,
    }
    return package(parts, (_OFFICE_DOC, "xl/workbook.xml"), value)


def pptx(slides: list[str], value: str | None) -> bytes:
    """A presentation with one text paragraph per slide, labeled with *value*."""
    a = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    p = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    parts = {"ppt/presentation.xml": f"<p:presentation {p}/>"}
    for i, text in enumerate(slides, 1):
        parts[f"ppt/slides/slide{i}.xml"] = (
            f"<p:sld {p} {a}><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{html.escape(text)}</a:t></a:r>"
            "</a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        )
    return package(parts, (_OFFICE_DOC, "ppt/presentation.xml"), value)


def docx_file(
    text: str,
    value: str | None,
    *,
    part: str = "docProps/custom.xml",
    registered: bool = True,
    name: str = "AIGC",
) -> bytes:
    """A python-docx document of *text*, its label *value* stored in *part* (raw)."""
    d = docx.Document()
    for para in text.split("\n"):
        d.add_paragraph(para)
    buf = io.BytesIO()
    d.save(buf)
    if value is None:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "_rels/.rels" and registered:
                body = body.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rId99" Type="{RT_CUSTOM}" Target="{part}"/></Relationships>'.encode(),
                )
            elif info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>", f'<Override PartName="/{part}" ContentType="{CT_CUSTOM}"/></Types>'.encode()
                )
            zf.writestr(info, body)
        zf.writestr(part, _custom_xml(name, value))
    return out.getvalue()


# -- text formats and PDF ------------------------------------------------------------------------


def md_file(body: str, front: str | None) -> bytes:
    """Markdown with the raw YAML *front* matter (``None``: none)."""
    return ((f"---\n{front}---\n" if front is not None else "") + body).encode()


def md_front_from_json(value: str, *, quote_label: bool = True) -> str:
    """A YAML front matter holding the JSON label *value* as an ``AIGC`` mapping (values as JSON)."""
    obj = json.loads(value)
    obj = obj.get("AIGC", obj)
    lines = ["title: 答案", "AIGC:"]
    for k, v in obj.items():
        if k == "Label" and not quote_label:
            lines.append(f"  {k}: {v}")
        else:
            lines.append(f"  {k}: {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def html_file(body: str, value: str | None, *, name: str = "AIGC") -> bytes:
    """A page with ``<meta name=... content=value>`` (raw value, attribute-escaped)."""
    meta = f'<meta name="{name}" content="{html.escape(value, quote=True)}">' if value is not None else ""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n") if p)
    return f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>t</title></head><body>{paras}</body></html>".encode()


def pdf_file(info: str | None, xmp: str | None = None, *, attribute: bool = False) -> bytes:
    """A one-page PDF with the label *info* in the Info dict and/or *xmp* as TC260:AIGC."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page = pdf.add_blank_page()
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (A vendor answer about Hangzhou.) Tj ET")
    if info is not None:
        pdf.docinfo["/AIGC"] = pikepdf.String(info)
    if xmp is not None:
        if attribute:
            body = f'<rdf:Description rdf:about="" xmlns:TC260="{XMP_NS}" TC260:AIGC="{html.escape(xmp, quote=True)}"/>'
        else:
            body = f'<rdf:Description rdf:about="" xmlns:TC260="{XMP_NS}"><TC260:AIGC>{html.escape(xmp)}</TC260:AIGC></rdf:Description>'
        packet = (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            + body
            + '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
        )
        pdf.Root.Metadata = pdf.make_stream(
            packet.encode(), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
        )
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()
