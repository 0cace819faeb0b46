"""
Export labeled content as a file that carries its labels (Art. 4 last paragraph, GB 45438 Annex E).

``export(content, fmt)`` returns the bytes of one file in ``md``, ``docx``, ``html``, ``txt`` or
``pdf``. Every file holds the visible label and exactly one implicit label, stored where the
TC260 format guides put it:

======  ==============================================================================
md      YAML front matter ``AIGC:`` (seven quoted strings); existing front matter merged
docx    ``docProps/custom.xml`` property ``AIGC`` (bare seven-key JSON, ``vt:lpwstr``)
html    ``<meta name="AIGC" content="…">`` plus the interface tag markup
txt     no header exists: the in-text invisible marks are the implicit channel
pdf     Document Information dictionary ``/AIGC``, outside compressed object streams
======  ==============================================================================

What is exported:

* a :class:`~aigclabel.LabeledText` is exported as is: its ``text`` already holds the visible
  label and the invisible marks, its ``metadata`` is the file's implicit label;
* a ``str`` is labeled first with *labeler* (a leading YAML front matter is kept out of the
  labeled body and merged into the Markdown file's front matter);
* a conversation (a sequence of :class:`Message`): only assistant messages are AI content.
  An assistant message given as ``str`` is labeled with *labeler*; user and system messages
  are never labeled. The file's implicit label is one :class:`~aigclabel.AIGCMetadata`: with
  one assistant message, that message's; with several, *labeler* labels the assistant text
  of the file once (the assistant messages as exported, invisible marks removed, joined by a
  blank line), so its ``ReservedCode1`` covers exactly that text. Without a labeler, several
  pre-labeled assistant messages of one producer get a first-write label with a new ProduceID
  and no integrity data.

The visible label is also added where each format shows it best (first paragraph and page
footer of a docx, the top of an html page or a pdf), except after an accepted Art. 9 opt-out,
where only the implicit label stays.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from aigclabel.ids import new_produce_id
from aigclabel.labeler import LabeledText, Labeler
from aigclabel.marks.alphabet import ANY_MARK_CHAR
from aigclabel.metadata import AIGCMetadata
from aigclabel.ui import UIDisclosure

from ..formats import frontmatter
from ..formats.document import ExportDocument, ExportError, Part, Role

__all__ = [
    "FORMATS",
    "ExportDocument",
    "ExportError",
    "ExportFormat",
    "Message",
    "Part",
    "build_document",
    "export",
    "render",
]

ExportFormat = Literal["md", "docx", "html", "txt", "pdf"]
FORMATS: tuple[ExportFormat, ...] = ("md", "docx", "html", "txt", "pdf")


@dataclass(frozen=True, slots=True)
class Message:
    """
    One turn of a conversation. Only ``assistant`` content is AI-generated.
    """

    role: Role
    content: str | LabeledText


def split_front_matter(text: str) -> tuple[dict[Any, Any] | None, str]:
    """
    Split a leading YAML front matter from *text*: ``(mapping or None, rest of the text)``.

    Raises:
        ExportError: the front matter has no closing line, is not valid YAML, not a
            mapping, or too large.
    """
    try:
        found = frontmatter.split(text)
        if found is None:
            return None, text
        return frontmatter.load(found.source, extra="export"), found.body
    except frontmatter.FrontMatterError as exc:
        raise ExportError(f"the input's front matter cannot be read: {exc}") from exc


def _format_of(fmt: ExportFormat) -> Literal["plain", "markdown"]:
    return "plain" if fmt == "txt" else "markdown"


def _need(labeler: Labeler | None, what: str) -> Labeler:
    if labeler is None:
        raise ExportError(f"{what} must be labeled: pass labeler=")
    return labeler


def _single(
    labeled: LabeledText, *, front_matter: dict[Any, Any] | None = None
) -> tuple[Part, dict[Any, Any]]:
    data, body = split_front_matter(labeled.text)
    merged = {**(front_matter or {}), **(data or {})}
    return Part(None, body), merged


def _conversation(
    messages: Sequence[Message], labeler: Labeler | None, text_format: Literal["plain", "markdown"]
) -> tuple[tuple[Part, ...], AIGCMetadata, UIDisclosure, bool, bool]:
    parts: list[Part] = []
    results: list[LabeledText] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Message):
            raise TypeError(f"messages[{i}] is a {type(msg).__name__}, not a Message")
        if msg.role not in ("user", "assistant", "system"):
            raise ExportError(f"messages[{i}] has role {msg.role!r}; expected user, assistant or system")
        content = msg.content
        if msg.role != "assistant":
            text = content.text if isinstance(content, LabeledText) else content
            parts.append(Part(msg.role, text))
            continue
        if isinstance(content, str):
            content = _need(labeler, f"messages[{i}] (assistant, str)").label(
                content, text_format=text_format
            )
        results.append(content)
        parts.append(Part("assistant", content.text))
    if not results:
        raise ExportError("the conversation has no assistant message: nothing AI-generated to label")
    opted_out = all(r.opted_out for r in results)
    has_label = all(r.explicit for r in results)
    if len(results) == 1:
        only = results[0]
        return tuple(parts), only.metadata, only.ui, not opted_out, has_label
    if labeler is not None:
        joined = "\n\n".join(ANY_MARK_CHAR.sub("", p.text) for p in parts if p.role == "assistant")
        whole = labeler.label(joined, placement="none", text_format=text_format)
        ui = results[0].ui.model_copy(update={"produce_id": whole.produce_id})
        return tuple(parts), whole.metadata, ui, not opted_out, has_label
    producers = {r.metadata.content_producer for r in results}
    if len(producers) != 1:
        raise ExportError(
            f"the assistant messages come from {len(producers)} producers; pass labeler= to label the file"
        )
    produce_id = new_produce_id()[0]
    metadata = AIGCMetadata.first_write(
        producer=producers.pop(), produce_id=produce_id, label=results[0].metadata.label
    )
    ui = results[0].ui.model_copy(update={"produce_id": produce_id})
    return tuple(parts), metadata, ui, not opted_out, has_label


def build_document(
    content: LabeledText | str | Sequence[Message],
    fmt: ExportFormat = "md",
    *,
    labeler: Labeler | None = None,
    title: str | None = None,
) -> ExportDocument:
    """
    Turn the input of :func:`export` into the :class:`ExportDocument` every writer renders.
    """
    text_format = _format_of(fmt)
    if isinstance(content, str):
        data, body = split_front_matter(content)
        labeled = _need(labeler, "a str").label(body, text_format=text_format)
        part, fm = _single(labeled, front_matter=data)
        return ExportDocument(
            (part,), labeled.metadata, labeled.ui, not labeled.opted_out, labeled.explicit, title, fm
        )
    if isinstance(content, LabeledText):
        part, fm = _single(content)
        return ExportDocument(
            (part,), content.metadata, content.ui, not content.opted_out, content.explicit, title, fm
        )
    if isinstance(content, Sequence):
        parts, metadata, ui, show, has_label = _conversation(
            cast(Sequence[Message], content), labeler, text_format
        )
        return ExportDocument(parts, metadata, ui, show, has_label, title)
    raise TypeError(
        f"export() takes a LabeledText, a str or a sequence of Message, not {type(content).__name__}"
    )


def export(
    content: LabeledText | str | Sequence[Message],
    fmt: ExportFormat,
    *,
    labeler: Labeler | None = None,
    title: str | None = None,
    template: bytes | str | os.PathLike[str] | None = None,
) -> bytes:
    """
    Return one file, in format *fmt*, that carries the visible and the implicit label.

    Args:
        content: a :class:`~aigclabel.LabeledText` (exported as is), a ``str`` (labeled with
            *labeler*) or a conversation (a sequence of :class:`Message`).
        fmt: ``md``, ``docx``, ``html``, ``txt`` or ``pdf``.
        labeler: labels ``str`` content and, for conversations with several assistant
            messages, the file's implicit label.
        title: document title (front matter ``title``, docx/pdf properties, html ``<title>``).
        template: ``docx`` only: a .docx whose styles, headers, footers and properties are
            kept (its body is replaced; an ``AIGC`` property in it is replaced, never duplicated).

    Raises:
        ExportError: bad front matter, a ``str`` without a labeler, a conversation without an
            assistant message, no CJK font for a pdf.
        MissingDependencyError: the format's optional package is not installed.
        ValueError: unknown format, or a template for a format other than docx.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if template is not None and fmt != "docx":
        raise ValueError("template= is only used by the docx format")
    return render(build_document(content, fmt, labeler=labeler, title=title), fmt, template=template)


def render(
    doc: ExportDocument, fmt: ExportFormat, *, template: bytes | str | os.PathLike[str] | None = None
) -> bytes:
    """
    The file of an already built :class:`ExportDocument` in format *fmt* (the second half of
    :func:`export`; use it when the caller also needs ``doc.metadata``, e.g. for a ``.txt``
    sidecar, see :func:`aigclabel.adapters.formats.txt.sidecar`).
    """
    module = importlib.import_module(f"aigclabel.adapters.formats.{fmt}")
    if fmt == "docx":
        return bytes(module.render(doc, template=template))
    return bytes(module.render(doc))
