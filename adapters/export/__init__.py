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

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from aigclabel.exceptions import AIGCLabelError, MissingDependencyError
from aigclabel.explicit import ExplicitLabel
from aigclabel.ids import new_produce_id
from aigclabel.labeler import LabeledText, Labeler
from aigclabel.marks.alphabet import ANY_MARK_CHAR
from aigclabel.metadata import AIGCMetadata
from aigclabel.ui import UIDisclosure

__all__ = ["FORMATS", "ExportDocument", "ExportError", "ExportFormat", "Message", "Part", "export"]

Role = Literal["user", "assistant", "system"]
ExportFormat = Literal["md", "docx", "html", "txt", "pdf"]
FORMATS: tuple[ExportFormat, ...] = ("md", "docx", "html", "txt", "pdf")

_ROLE_NAMES: dict[str, dict[str, str]] = {
    "zh": {"user": "用户", "assistant": "助手", "system": "系统"},
    "en": {"user": "User", "assistant": "Assistant", "system": "System"},
}


class ExportError(AIGCLabelError, ValueError):
    """
    The content cannot be exported: bad front matter, a missing labeler, no CJK font for a pdf…
    """


@dataclass(frozen=True, slots=True)
class Message:
    """
    One turn of a conversation. Only ``assistant`` content is AI-generated.
    """

    role: Role
    content: str | LabeledText


@dataclass(frozen=True, slots=True)
class Part:
    """
    One block of the exported body: Markdown (or plain text) as released, with its role.

    ``role`` is ``None`` for a single exported text.
    """

    role: Role | None
    text: str


@dataclass(frozen=True, slots=True)
class ExportDocument:
    """
    What every format writer receives: the body, the implicit label and the visible label.

    Attributes:
        parts: the body blocks, in order.
        metadata: the file's single implicit label.
        ui: the interface tag (its ``text`` is the visible label wording used by the writers).
        show_label: ``False`` only after an accepted Art. 9 opt-out: no visible label is added.
        body_has_label: whether the body text already holds the visible label.
        title: the document title, if any.
        front_matter: other YAML front-matter keys of the input (Markdown files keep them).
        created: the export time (UTC).
    """

    parts: tuple[Part, ...]
    metadata: AIGCMetadata
    ui: UIDisclosure
    show_label: bool = True
    body_has_label: bool = True
    title: str | None = None
    front_matter: dict[Any, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def label_text(self) -> str:
        """
        The visible label wording (the interface tag's prompt: both GB 45438 §5.1 elements).
        """
        return self.ui.text

    @property
    def language(self) -> Literal["zh", "en"]:
        """
        ``zh`` or ``en``: the language of the visible label.
        """
        return "zh" if self.ui.language.lower().startswith("zh") else "en"

    def role_name(self, role: Role) -> str:
        """
        The heading shown above a conversation turn.
        """
        return _ROLE_NAMES[self.language][role]

    def body_markdown(self) -> str:
        """
        The whole body as one Markdown text (conversation turns under role headings).
        """
        blocks = []
        for part in self.parts:
            if part.role is not None:
                blocks.append(f"### {self.role_name(part.role)}")
            blocks.append(part.text.strip("\n"))
        return "\n\n".join(blocks) + "\n"

    def body_plain(self) -> str:
        """
        The whole body as plain text (conversation turns after a ``Role:`` line).
        """
        colon = "：" if self.language == "zh" else ":"
        blocks = []
        for part in self.parts:
            text = part.text.strip("\n")
            blocks.append(f"{self.role_name(part.role)}{colon}\n{text}" if part.role is not None else text)
        return "\n\n".join(blocks) + "\n"


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_EMPTY_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")
#: Front matter beyond this size is refused (it is a header, not a document).
MAX_FRONT_MATTER = 1 << 20


def split_front_matter(text: str) -> tuple[dict[Any, Any] | None, str]:
    """
    Split a leading YAML front matter from *text*: ``(mapping or None, rest of the text)``.

    Raises:
        ExportError: the front matter is not valid YAML, not a mapping, or too large.
    """
    m = _EMPTY_FRONT_MATTER.match(text) or _FRONT_MATTER.match(text)
    if m is None:
        return None, text
    source = m.group(1) if m.re is _FRONT_MATTER else ""
    if len(source) > MAX_FRONT_MATTER:
        raise ExportError(f"the front matter is larger than {MAX_FRONT_MATTER} characters")
    try:
        import yaml

        from ._yaml import load_yaml
    except ImportError as exc:
        raise MissingDependencyError("pyyaml", "export") from exc
    try:
        data = load_yaml(source) if source.strip() else {}
    except yaml.YAMLError as exc:
        raise ExportError(f"the front matter is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ExportError(f"the front matter must be a YAML mapping, not {type(data).__name__}")
    return data, text[m.end() :]


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


def explicit_line(doc: ExportDocument, text_format: Literal["plain", "markdown"]) -> str:
    """
    The visible label rendered for a text body (``*…*`` in Markdown, 【…】 in plain text).
    """
    return str(ExplicitLabel(doc.label_text, format=text_format).render())


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
    doc = build_document(content, fmt, labeler=labeler, title=title)
    if fmt == "md":
        from . import markdown

        return markdown.render(doc)
    if fmt == "txt":
        from . import txt

        return txt.render(doc)
    if fmt == "html":
        from . import html

        return html.render(doc)
    if fmt == "docx":
        from . import docx

        return docx.render(doc, template=template)
    from . import pdf

    return pdf.render(doc)
