"""
Per-format carriers of the implicit label and the visible text of a file.

========  ===========================================  =====================================
format    implicit label (``where``)                    visible text fed to ``verify()``
========  ===========================================  =====================================
docx      ``docProps/custom.xml#AIGC`` (vt:lpwstr)      paragraphs and tables; headers/footers
md        ``front-matter:AIGC`` (YAML mapping)          the body after the front matter
html      ``meta[name=AIGC]``                           text outside head/script/style
pdf       ``pdf:/Info/AIGC`` (also ``pdf:XMP``)         page text (pypdf)
txt       none: the in-text marks are the only channel  the whole file
========  ===========================================  =====================================

Reading is defensive and linear in the input: XML goes through defusedxml (no DTDs or
entities) in one streaming pass that caps elements, nesting depth and text as it goes; ZIP
archives are checked for member count and declared uncompressed size before anything is
read; HTML is tokenized by libxml2 (lxml), never by the quadratic stdlib ``html.parser``;
YAML is read with ``safe_load`` behind a size cap and an alias-expansion cap; PDFs are
capped in pages and text. Problems raise :class:`CarrierError` with a message meant for a
report line.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigclabel.exceptions import MetadataError, MissingDependencyError
from aigclabel.metadata import AIGCMetadata

from ._html import html_text, tag_spans
from ._limits import MAX_DEPTH, MAX_FRONT_MATTER, MAX_NODES, MAX_PDF_OBJECTS, MAX_PDF_PAGES, CarrierError
from ._ooxml import TextBudget, custom_properties, paragraphs

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_FRONT_MATTER",
    "MAX_NODES",
    "MAX_PDF_OBJECTS",
    "MAX_PDF_PAGES",
    "MAX_TEXT_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_TOTAL",
    "CarrierError",
    "Extracted",
    "Format",
    "detect_format",
    "read_document",
    "rewrite",
]

Format = Literal["docx", "md", "html", "txt", "pdf", "unknown"]

MAX_FILE_BYTES = 100 * 1024 * 1024  #: any file larger than this is not read at all
MAX_TEXT_BYTES = 20 * 1024 * 1024  #: cap on the text of a file (UTF-8 bytes)
MAX_ZIP_TOTAL = 50 * 1024 * 1024  #: cap on the declared uncompressed size of a docx
MAX_ZIP_MEMBERS = 10_000  #: cap on the member count of a docx

_EXT: dict[str, Format] = {
    ".docx": "docx",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".txt": "txt",
    ".text": "txt",
    ".pdf": "pdf",
}
#: The file name suffixes a batch picks up.
SUFFIXES = frozenset(_EXT)

CUSTOM_PART = "docProps/custom.xml"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"


@dataclass(slots=True)
class Extracted:
    """
    What one file holds: its visible text (candidates, best first) and its implicit label.

    ``texts`` lists the text to verify, then alternatives (for docx: without headers and
    footers, whose repeated visible label is not part of the sealed text).
    ``labels`` counts the AIGC carriers found (a file should hold exactly one);
    ``metadata_error`` says why a present carrier could not be read.
    """

    format: Format
    texts: list[str]
    metadata: AIGCMetadata | None = None
    where: str | None = None
    labels: int = 0
    metadata_error: str | None = None
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path, head: bytes) -> Format:
    """
    The format by file name suffix, else by the first bytes.
    """
    fmt = _EXT.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    return "unknown"


def read_document(path: Path) -> Extracted:
    """
    Read *path*: its format, visible text and implicit label.

    Raises:
        CarrierError: unreadable, hostile or over a cap.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CarrierError(f"file size {size} bytes exceeds the {MAX_FILE_BYTES // 2**20} MB cap")
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CarrierError(f"cannot read file: {exc.strerror or exc}") from exc
    fmt = detect_format(path, data[:8])
    return parse_bytes(fmt, data)


def parse_bytes(fmt: Format, data: bytes) -> Extracted:
    """
    Parse the bytes of a file of format *fmt* (see :func:`read_document`).
    """
    if fmt == "docx":
        return _read_docx(data)
    if fmt == "pdf":
        return _read_pdf(data)
    if fmt == "unknown":
        raise CarrierError("unsupported format (expected docx, md, html, txt or pdf)")
    text = _decode(data)
    if fmt == "md":
        return _read_md(text)
    if fmt == "html":
        return _read_html(text)
    return Extracted("txt", [text])


def _decode(data: bytes) -> str:
    if len(data) > MAX_TEXT_BYTES:
        raise CarrierError(f"text of {len(data)} bytes exceeds the {MAX_TEXT_BYTES // 2**20} MB text cap")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CarrierError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _parse_meta(value: object, where: str, out: Extracted) -> None:
    out.labels += 1
    out.where = where
    try:
        if isinstance(value, str):
            out.metadata = AIGCMetadata.from_json(value)
        else:
            out.metadata = AIGCMetadata.from_obj(value)
    except MetadataError as exc:
        out.metadata_error = f"{where}: {exc}"


# -- docx -------------------------------------------------------------------------------


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CarrierError(f"not a readable docx (ZIP) archive: {exc}") from exc
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise CarrierError(f"archive member count {len(infos)} exceeds the cap of {MAX_ZIP_MEMBERS}")
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_TOTAL:
        raise CarrierError(
            f"archive uncompressed size {total} bytes exceeds the {MAX_ZIP_TOTAL // 2**20} MB cap"
        )
    return zf


def _zip_read(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        zf.getinfo(name)
    except KeyError:
        return None
    try:
        return zf.read(name)  # never more than the declared (capped) size
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise CarrierError(f"{name}: cannot decompress: {exc}") from exc


def _read_docx(data: bytes) -> Extracted:
    zf = _open_zip(data)
    budget = TextBudget(MAX_TEXT_BYTES)
    with zf:
        doc = _zip_read(zf, "word/document.xml")
        if doc is None:
            raise CarrierError("not a Word document: word/document.xml is missing")
        body = "\n".join(
            paragraphs(doc, "word/document.xml", budget, max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        )
        extra: list[str] = []
        names = sorted(n for n in zf.namelist() if re.fullmatch(r"word/(header|footer)\d*\.xml", n))
        for name in names:
            part = _zip_read(zf, name)
            if part is not None:
                extra.append(
                    "\n".join(paragraphs(part, name, budget, max_nodes=MAX_NODES, max_depth=MAX_DEPTH))
                )
        full = "\n".join([body, *(e for e in extra if e)])
        out = Extracted("docx", [full, body] if full != body else [body])
        custom = _zip_read(zf, CUSTOM_PART)
        if custom is not None:
            props = custom_properties(
                custom, CUSTOM_PART, max_nodes=MAX_NODES, max_depth=MAX_DEPTH, limit=MAX_TEXT_BYTES
            )
            for prop_name, value in props:
                if prop_name.upper() == "AIGC":
                    _parse_meta(value, f"{CUSTOM_PART}#AIGC", out)
    return out


def _rewrite_docx(data: bytes, metadata: AIGCMetadata, prompt: str | None) -> bytes:
    # The exporter owns writing the one AIGC property (custom.xml, its relationship and content type).
    from ..export import ExportError
    from ..export.docx import replace_aigc_property

    try:
        data = replace_aigc_property(data, metadata)
    except ExportError as exc:
        raise CarrierError(str(exc)) from exc
    if not prompt:
        return data
    zf = _open_zip(data)
    with zf:
        doc = _prepend_paragraph(_zip_read(zf, "word/document.xml") or b"", prompt)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zf.infolist():  # same order, the document part replaced in place
                body = doc if info.filename == "word/document.xml" else zf.read(info.filename)
                out.writestr(info, body)
    return buf.getvalue()


def _prepend_paragraph(doc: bytes, prompt: str) -> bytes:
    # The opening tag ends at the first ">" after "<w:body": found with find(), because
    # ``[^>]*>`` rescans to the end of the part from every "<body" that has no ">" after it.
    m = re.search(rb"<(\w+:)?body\b", doc)
    gt = doc.find(b">", m.end()) if m is not None else -1
    if m is None or gt < 0:
        raise CarrierError("word/document.xml has no body")
    p = (m.group(1) or b"w:").decode()
    run = f"<{p}p><{p}r><{p}rPr><{p}b/></{p}rPr><{p}t>{html.escape(prompt)}</{p}t></{p}r></{p}p>"
    return doc[: gt + 1] + run.encode() + doc[gt + 1 :]


# -- markdown ---------------------------------------------------------------------------

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """
    ``(front matter text or None, body)``. A ``---`` opening line without a closing one is
    an error, not a body.
    """
    if not re.match(r"\A---[ \t]*\r?\n", text):
        return None, text
    m = _FRONT.match(text)
    if m is None:
        raise CarrierError("malformed front matter: the opening '---' line has no closing '---'")
    return m.group(1) or "", text[m.end() :]


def _load_front(front: str) -> dict[str, Any]:
    if len(front) > MAX_FRONT_MATTER:
        raise CarrierError(f"front matter of {len(front)} characters exceeds the cap of {MAX_FRONT_MATTER}")
    try:
        import yaml

        from ..export._yaml import load_yaml
    except ImportError as exc:
        raise MissingDependencyError("pyyaml", "files") from exc
    try:
        data = load_yaml(front)
    except yaml.YAMLError as exc:
        raise CarrierError(f"malformed front matter: {str(exc).splitlines()[0]}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CarrierError(f"malformed front matter: a YAML mapping is expected, not {type(data).__name__}")
    return data


def _read_md(text: str) -> Extracted:
    front, body = split_front_matter(text)
    out = Extracted("md", [body])
    if front is not None:
        data = _load_front(front)
        for key, value in data.items():
            if str(key).upper() == "AIGC":
                _parse_meta(value, "front-matter:AIGC", out)
    return out


def _strip_aigc_block(front: str) -> str:
    lines = front.splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        if re.match(r"""^["']?AIGC["']?[ \t]*:""", line, re.IGNORECASE):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    return "".join(kept)


def _rewrite_md(text: str, metadata: AIGCMetadata, prompt: str | None) -> str:
    front, body = split_front_matter(text)
    block = metadata.for_format("markdown").split("\n")[1:-2]  # the AIGC: mapping lines
    rest = _strip_aigc_block(front or "")
    if rest and not rest.endswith("\n"):
        rest += "\n"
    new_front = rest + "\n".join(block) + "\n"
    data = _load_front(new_front)
    if sum(1 for k in data if str(k).upper() == "AIGC") != 1:
        raise CarrierError("cannot merge the AIGC mapping into the front matter")
    if prompt:
        body = f"{prompt}\n\n{body}"
    return f"---\n{new_front}---\n{body}"


# -- html -------------------------------------------------------------------------------


def _read_html(text: str) -> Extracted:
    visible, metas = html_text(text, max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
    out = Extracted("html", [visible])
    for content in metas:
        _parse_meta(content or "", "meta[name=AIGC]", out)
    return out


_SPACE = re.compile(r"\s*")
_NAME_AIGC = re.compile(r"""\bname\s*=\s*(["']?)AIGC\1(?=[\s/>])""", re.IGNORECASE)


def _drop_aigc_metas(text: str) -> str:
    kept: list[str] = []
    pos = 0
    for start, end in tag_spans(text, "meta"):
        if _NAME_AIGC.search(text, start, end):
            kept.append(text[pos:start])
            m = _SPACE.match(text, end)
            pos = m.end() if m else end
    kept.append(text[pos:])
    return "".join(kept)


def _first_tag_end(text: str, name: str) -> int | None:
    span = next(tag_spans(text, name), None)
    return span[1] if span is not None else None


def _rewrite_html(text: str, metadata: AIGCMetadata, prompt: str | None) -> str:
    text = _drop_aigc_metas(text)
    meta = f'<meta name="AIGC" content="{html.escape(metadata.for_format("html"), quote=True)}">'
    head = _first_tag_end(text, "head")
    if head is not None:
        text = f"{text[:head]}\n{meta}{text[head:]}"
    else:
        at = _first_tag_end(text, "html") or 0
        text = f"{text[:at]}<head>{meta}</head>{text[at:]}"
    if prompt:
        tag = f'<p class="aigc-prompt" role="note"><strong>{html.escape(prompt)}</strong></p>'
        body = _first_tag_end(text, "body")
        if body is not None:
            text = f"{text[:body]}\n{tag}{text[body:]}"
        else:
            end = re.search(r"</head\s*>", text, re.IGNORECASE)
            at = end.end() if end else 0
            text = f"{text[:at]}{tag}{text[at:]}"
    return text


# -- pdf --------------------------------------------------------------------------------

_XMP_OPEN = re.compile(r"""TC260:AIGC\s*=\s*(["'])|<TC260:AIGC>""")


def _xmp_values(raw: str) -> Iterator[str]:
    """
    The values of ``TC260:AIGC="…"`` attributes and ``<TC260:AIGC>…</TC260:AIGC>`` elements.

    One pass: a lazy ``(.*?)`` regex would rescan to the end from every unclosed opener.
    A closer not found after one position is not looked for again.
    """
    missing: set[str] = set()
    pos = 0
    while (m := _XMP_OPEN.search(raw, pos)) is not None:
        close = m.group(1) or "</TC260:AIGC>"
        end = -1 if close in missing else raw.find(close, m.end())
        if end < 0:
            missing.add(close)
            pos = m.end()
            continue
        yield raw[m.end() : end]
        pos = end + len(close)


def _read_pdf(data: bytes) -> Extracted:
    try:
        import pypdf
        from pypdf.errors import PyPdfError
    except ImportError as exc:
        raise MissingDependencyError("pypdf", "files") from exc

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CarrierError("encrypted PDF: cannot read its text")
        objects = len(reader.xref_objStm) + sum(len(v) for v in reader.xref.values())
        if objects > MAX_PDF_OBJECTS:
            raise CarrierError(f"PDF has {objects} objects, over the cap of {MAX_PDF_OBJECTS}")
        count = len(reader.pages)  # the page tree walk is bounded by pypdf's own limits
        if count > MAX_PDF_PAGES:
            raise CarrierError(f"PDF has {count} pages, over the cap of {MAX_PDF_PAGES}")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            chunk = page.extract_text() or ""
            size += len(chunk.encode("utf-8", "surrogatepass"))
            if size > MAX_TEXT_BYTES:
                raise CarrierError(f"PDF text exceeds the {MAX_TEXT_BYTES // 2**20} MB text cap")
            pages.append(chunk)
        info: Mapping[Any, Any] = reader.metadata or {}
        raw_info = {str(k): v for k, v in info.items()}
        xmp = reader.xmp_metadata
        xmp_raw = xmp.stream.get_data().decode("utf-8", "replace") if xmp is not None else ""
    except CarrierError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise CarrierError(f"not a readable PDF: {type(exc).__name__}: {exc}") from exc
    out = Extracted("pdf", ["\n".join(pages)])
    for key, value in raw_info.items():
        if key.lstrip("/").upper() == "AIGC":
            _parse_meta(str(value), "pdf:/Info/AIGC", out)
    if out.labels == 0 and xmp_raw:
        for value in _xmp_values(xmp_raw):
            _parse_meta(html.unescape(value), "pdf:XMP/TC260:AIGC", out)
    return out


def _rewrite_pdf(data: bytes, metadata: AIGCMetadata, prompt: str | None) -> bytes:
    try:
        import pikepdf
    except ImportError as exc:
        raise MissingDependencyError("pikepdf", "files") from exc

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise CarrierError(f"not a readable PDF: {exc}") from exc
    with pdf:
        info = pdf.docinfo
        for key in [k for k in info.keys() if str(k).lstrip("/").upper() == "AIGC"]:  # noqa: SIM118
            del info[key]
        info[pikepdf.Name("/AIGC")] = pikepdf.String(metadata.for_format("pdf"))
        if prompt and len(pdf.pages):
            _stamp(pdf, pdf.pages[0], prompt)
        buf = io.BytesIO()
        pdf.save(
            buf,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            compress_streams=True,
            deterministic_id=True,
        )
    return buf.getvalue()


def _stamp(pdf: Any, page: Any, prompt: str) -> None:
    """
    Draw *prompt* at the top of *page* in the standard Adobe-GB1 font (no embedding;
    every viewer substitutes a Song face) with a ToUnicode map so that text extraction
    returns the prompt.
    """
    import pikepdf

    codes = "".join(f"{ord(c):04X}" for c in prompt)
    chars = sorted(set(prompt))
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /AIGC-UCS def /CMapType 2 def\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n"
        + "".join(f"<{ord(c):04X}> <{ord(c):04X}>\n" for c in chars)
        + "endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
    )
    descendant = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType0,
        BaseFont=pikepdf.Name("/STSong-Light"),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("GB1"),
                                         Supplement=4),
        FontDescriptor=pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/STSong-Light"), Flags=6,
            FontBBox=[-25, -254, 1000, 880], ItalicAngle=0, Ascent=880, Descent=-120, CapHeight=880,
            StemV=93,
        )),
    )  # fmt: skip
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/STSong-Light"),
            Encoding=pikepdf.Name("/UniGB-UCS2-H"),
            DescendantFonts=[pdf.make_indirect(descendant)],
            ToUnicode=pdf.make_stream(cmap.encode("ascii")),
        )
    )
    resources = page.obj.get("/Resources")
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    fonts = resources.get("/Font")
    if fonts is None:
        fonts = resources.Font = pikepdf.Dictionary()
    fonts["/FAIGCPrompt"] = font
    box = [float(v) for v in page.mediabox]
    y = box[3] - 24
    content = f"q BT /FAIGCPrompt 12 Tf 1 0 0 1 {box[0] + 36:.1f} {y:.1f} Tm <{codes}> Tj ET Q\n"
    page.contents_add(pdf.make_stream(content.encode("ascii")), prepend=False)


# -- writing ----------------------------------------------------------------------------


def rewrite(fmt: Format, data: bytes, metadata: AIGCMetadata, prompt: str | None) -> bytes:
    """
    Return the bytes of the file with exactly one implicit label, *metadata*, replacing
    any existing one, and *prompt* (a visible line) added at the top when given.

    ``txt`` has no metadata carrier: only the prompt is added.

    Raises:
        CarrierError: the file cannot be read or rewritten safely.
    """
    if fmt == "docx":
        return _rewrite_docx(data, metadata, prompt)
    if fmt == "pdf":
        return _rewrite_pdf(data, metadata, prompt)
    if fmt == "unknown":
        raise CarrierError("unsupported format (expected docx, md, html, txt or pdf)")
    text = _decode(data)
    if fmt == "md":
        return _rewrite_md(text, metadata, prompt).encode("utf-8")
    if fmt == "html":
        return _rewrite_html(text, metadata, prompt).encode("utf-8")
    return (f"{prompt}\n\n{text}" if prompt else text).encode("utf-8")


def metadata_json(metadata: AIGCMetadata) -> str:
    """
    The bare JSON of *metadata* (what every carrier here stores).
    """
    return json.dumps(metadata.to_dict("bare"), separators=(",", ":"))
