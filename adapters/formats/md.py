"""
Markdown: the label in a YAML front matter (TC260 text-file guide), the body as released.

* :func:`read`: the ``AIGC`` key of the front matter (any letter case; a mapping of the seven
  keys or a JSON string), read leniently, and the body after it. A front matter that cannot
  be read (no closing line, not YAML, not a mapping) is a finding: the whole text is then
  verified as the body, so a broken header never hides labeled content, and a front matter
  that mentions ``AIGC`` but cannot be read counts as an unreadable label (a trace).
* :func:`set_label`: the front matter keeps every other line; its ``AIGC`` mapping is
  replaced by the given fields (seven quoted strings), so a file holds one front matter and
  one ``AIGC`` key however often it is labeled. A platform's prompt opens the body.
* :func:`render`: the export: front matter (input keys, ``title``, ``AIGC``) and the labeled
  text as the body, its visible label and invisible marks unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import frontmatter
from .document import ExportDocument
from .extracted import Extracted, FoundLabel, found_label
from .text import decode

__all__ = ["read", "render", "set_label"]


def read(data: bytes) -> Extracted:
    """
    The body and front-matter label of a Markdown file (see the module docstring).
    """
    text, findings = decode(data)
    out = Extracted("md", [], findings=findings)
    try:
        found = frontmatter.split(text)
    except frontmatter.FrontMatterError as exc:
        out.findings.append(f"{exc}; the whole file is read as the body")
        out.texts.append(text)
        return out
    if found is None:
        out.texts.append(text)
        return out
    out.texts.append(found.body)
    out.add_text(text)  # a verifier's last resort when a "front matter" was in fact content
    try:
        data_map = frontmatter.load(found.source)
    except frontmatter.FrontMatterError as exc:
        out.findings.append(str(exc))
        if frontmatter.mentions_label(found.source):
            out.labels.append(FoundLabel("front-matter:AIGC", error=f"front-matter:AIGC: {exc}"))
        return out
    for key, value in data_map.items():
        if "AIGC" in str(key).upper():
            if str(key) != "AIGC":
                out.findings.append(f"the front-matter label key is {key!r}, not 'AIGC'")
            out.labels.append(found_label(value, f"front-matter:{key}"))
    return out


def set_label(data: bytes, fields: Mapping[str, Any], prompt: str | None = None) -> bytes:
    """
    The Markdown file with exactly one ``AIGC`` mapping, *fields*, and *prompt* opening the body.

    Raises:
        CarrierError: not UTF-8 text, or a front matter that cannot be read.
    """
    text, findings = decode(data, strict=True)
    del findings
    found = frontmatter.split(text)
    if prompt:
        if found is None:
            text = f"{prompt}\n\n{text}"
        else:
            head = text[: len(text) - len(found.body)]
            text = f"{head}{prompt}\n\n{found.body}"
    return frontmatter.merge_label(text, fields).encode("utf-8")


def render(doc: ExportDocument) -> bytes:
    """
    The Markdown file of *doc* (UTF-8).
    """
    other = dict(doc.front_matter)
    if doc.title is not None and "title" not in other:
        other["title"] = doc.title
    body = doc.body_markdown() if any(p.role for p in doc.parts) else doc.parts[0].text
    if doc.show_label and not doc.body_has_label:
        body = doc.explicit_line("markdown") + "\n\n" + body
    return frontmatter.prepend(body, doc.metadata.to_dict("bare"), other).encode("utf-8")
