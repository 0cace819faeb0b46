"""
Markdown export: YAML front matter with the ``AIGC`` mapping, the labeled text as the body.

The TC260 text-file guide puts the implicit label in a front matter at the head of the file,
a mapping ``AIGC:`` of the seven Annex E keys as quoted strings (``Label: '1'``). Other keys of
an existing front matter are kept; an existing ``AIGC`` mapping (any letter case) is replaced,
so a file has one front matter and one ``AIGC`` key however often it is exported. The body is
the released text unchanged: its visible label and invisible marks stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigclabel.exceptions import MissingDependencyError
from aigclabel.metadata import AIGCMetadata

from . import ExportDocument, explicit_line, split_front_matter

__all__ = ["front_matter", "merge_front_matter", "render"]


def front_matter(metadata: AIGCMetadata, other: Mapping[Any, Any] | None = None) -> str:
    """
    A front-matter block: *other* keys (any ``AIGC`` key dropped), then the ``AIGC`` mapping.
    """
    try:
        import yaml
    except ImportError as exc:
        raise MissingDependencyError("pyyaml", "export") from exc

    kept = {k: v for k, v in (other or {}).items() if not (isinstance(k, str) and k.casefold() == "aigc")}
    head = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False, width=1 << 16) if kept else ""
    block = metadata.for_format("markdown").removeprefix("---\n").removesuffix("---\n")
    return f"---\n{head}{block}---\n"


def merge_front_matter(text: str, metadata: AIGCMetadata) -> str:
    """
    *text* with its front matter (if any) merged with *metadata*: exactly one ``AIGC`` key.

    Raises:
        ExportError: the existing front matter is not a valid YAML mapping.
    """
    data, body = split_front_matter(text)
    return front_matter(metadata, data) + body


def render(doc: ExportDocument) -> bytes:
    """
    The Markdown file of *doc* (UTF-8).
    """
    other = dict(doc.front_matter)
    if doc.title is not None and "title" not in other:
        other["title"] = doc.title
    body = doc.body_markdown() if any(p.role for p in doc.parts) else doc.parts[0].text
    if doc.show_label and not doc.body_has_label:
        body = explicit_line(doc, "markdown") + "\n\n" + body
    # A line of its own after the front matter, as most renderers expect.
    sep = "" if body.startswith("\n") else "\n"
    return (front_matter(doc.metadata, other) + sep + body).encode("utf-8")
