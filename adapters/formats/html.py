"""
HTML: the label in ``<meta name="AIGC" content="…">``; read, set and render.

* :func:`read`: the visible text outside head/script/style (block elements on their own
  lines), a variant without the label elements an exporter or platform adds, and every
  ``<meta>`` whose name contains ``AIGC``, read leniently. Tokenized by libxml2 in one
  linear pass (:mod:`.htmltext`).
* :func:`set_label`: exactly one ``<meta name="AIGC">`` in the head; a platform's prompt as a
  ``<p class="aigc-prompt">`` at the top of the body.
* :func:`render`: a standalone UTF-8 page with the meta, the visible label and the interface
  tag.

No standard carrier exists for HTML (standard §4); ``<meta name="AIGC" content="…">`` holding
the bare seven-key JSON is the common practice. The interface tag (GB 45438 §5.6) is a
persistent ``<aside class="aigc-ui-tag">`` near the content, never a tooltip. The body is the
Markdown rendered with markdown-it-py with raw HTML disabled, so the content cannot inject
markup or scripts; the invisible marks stay in the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from aigclabel.exceptions import MissingDependencyError
from aigclabel.metadata import carrier_value

from .document import ExportDocument
from .extracted import Extracted, found_label
from .htmltext import html_text, tag_spans
from .text import decode

__all__ = ["STYLESHEET", "markdown_parser", "read", "render", "render_markdown", "set_label"]


def read(data: bytes) -> Extracted:
    """
    The visible text and ``AIGC`` metas of an HTML page (see the module docstring).

    Raises:
        CarrierError: over the element or depth caps, or libxml2 gave up on the page.
    """
    text, findings = decode(data)
    visible, content, metas = html_text(text)
    out = Extracted("html", [visible], findings=findings)
    out.add_text(content)
    for value in metas:
        out.labels.append(found_label(value, "meta[name=AIGC]"))
    return out


_SPACE = re.compile(r"\s*")
_NAME_ATTR = re.compile(r"""\b(?:name|property)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)


def _names_label(tag: str) -> bool:
    return any("AIGC" in (m.group(m.lastindex or 1) or "").upper() for m in _NAME_ATTR.finditer(tag))


def _drop_aigc_metas(text: str) -> str:
    kept: list[str] = []
    pos = 0
    for start, end in tag_spans(text, "meta"):
        if _names_label(text[start:end]):
            kept.append(text[pos:start])
            m = _SPACE.match(text, end)
            pos = m.end() if m else end
    kept.append(text[pos:])
    return "".join(kept)


def _first_tag_end(text: str, name: str) -> int | None:
    span = next(tag_spans(text, name), None)
    return span[1] if span is not None else None


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The page with exactly one ``<meta name="AIGC">`` holding *fields*, and *prompt* (when
    given) as the first element of the body.

    Raises:
        CarrierError: not valid text.
    """
    text, _ = decode(data, strict=True)
    text = _drop_aigc_metas(text)
    meta = f'<meta name="AIGC" content="{html.escape(carrier_value(fields, "html"), quote=True)}">'
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
    return text.encode("utf-8")


#: The export page's stylesheet: label and interface-tag colours meet WCAG 4.5:1 (tested).
STYLESHEET = """\
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;\
max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.6}
.aigc-ui-tag{display:inline-block;border:1px solid #888;border-radius:4px;padding:.1rem .5rem;\
font-size:.85rem;color:#333;background:#f4f4f4}
.aigc-label{color:#555;font-size:.9rem}
pre{background:#f6f8fa;padding:.75rem;overflow:auto}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:.25rem .5rem}"""


def markdown_parser() -> Any:
    """
    A CommonMark parser with tables and strikethrough, raw HTML disabled.

    Raises:
        MissingDependencyError: markdown-it-py is not installed.
    """
    try:
        from markdown_it import MarkdownIt
    except ImportError as exc:
        raise MissingDependencyError("markdown-it-py", "markdown") from exc
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """
    *text* (Markdown) rendered as an HTML fragment, raw HTML escaped.
    """
    return str(markdown_parser().render(text))


def ui_tag(doc: ExportDocument) -> str:
    """
    The interface tag markup: a persistent element near the content.
    """
    ui = doc.ui
    return (
        f'<aside class="aigc-ui-tag" role="note" data-position="{html.escape(ui.position)}" '
        f'data-persistent="true" data-produce-id="{html.escape(ui.produce_id)}" '
        f'lang="{html.escape(ui.language)}">{html.escape(ui.text)}</aside>'
    )


def render(doc: ExportDocument) -> bytes:
    """
    The HTML page of *doc* (UTF-8).
    """
    lang = html.escape(doc.ui.language)
    title = doc.title if doc.title is not None else doc.label_text
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="AIGC" content="{html.escape(doc.metadata.for_format("html"), quote=True)}">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLESHEET}</style>",
        "</head>",
        "<body>",
    ]
    if doc.show_label:
        out.append(ui_tag(doc))
    out.append("<main>")
    if doc.title is not None:
        out.append(f"<h1>{html.escape(doc.title)}</h1>")
    if doc.show_label and not doc.body_has_label:
        out.append(f'<p class="aigc-label" data-aigc-label="explicit">{html.escape(doc.label_text)}</p>')
    for part in doc.parts:
        if part.role is None:
            out.append(f"<article>\n{render_markdown(part.text)}</article>")
        else:
            name = html.escape(doc.role_name(part.role))
            out.append(
                f'<section class="message" data-role="{part.role}">\n<h3>{name}</h3>\n'
                f"{render_markdown(part.text)}</section>"
            )
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out).encode("utf-8")
