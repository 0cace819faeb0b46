"""
HTML export: a standalone UTF-8 page with ``<meta name="AIGC">``, the visible label and the
interface tag.

No standard carrier exists for HTML (standard §4); ``<meta name="AIGC" content="…">`` holding
the bare seven-key JSON is the common practice. The interface tag (GB 45438 §5.6) is a
persistent ``<aside class="aigc-ui-tag">`` near the content, never a tooltip. The body is the
Markdown rendered with markdown-it-py with raw HTML disabled, so the content cannot inject
markup or scripts; the invisible marks stay in the text.
"""

from __future__ import annotations

import html
from typing import Any

from aigclabel.exceptions import MissingDependencyError

from . import ExportDocument

__all__ = ["markdown_parser", "render", "render_markdown"]

_CSS = """\
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
        f"<style>{_CSS}</style>",
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
