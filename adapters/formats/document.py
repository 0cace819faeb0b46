"""
The document every format renders: body parts, the implicit label and the visible label.

:func:`aigclabel.adapters.export.export` builds an :class:`ExportDocument`; each format
module's ``render(doc)`` turns it into file bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aigclabel.exceptions import AIGCLabelError
from aigclabel.explicit import ExplicitLabel
from aigclabel.metadata import AIGCMetadata
from aigclabel.ui import UIDisclosure

__all__ = ["ROLE_NAMES", "ExportDocument", "ExportError", "Part", "Role"]

Role = Literal["user", "assistant", "system"]

#: The heading shown above each conversation turn, per label language. Readers use the same
#: names to find the turns of an exported conversation again.
ROLE_NAMES: dict[str, dict[Role, str]] = {
    "zh": {"user": "用户", "assistant": "助手", "system": "系统"},
    "en": {"user": "User", "assistant": "Assistant", "system": "System"},
}


class ExportError(AIGCLabelError, ValueError):
    """
    The content cannot be exported: bad front matter, a missing labeler, no CJK font for a pdf…
    """


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
        return ROLE_NAMES[self.language][role]

    def explicit_line(self, text_format: Literal["plain", "markdown"]) -> str:
        """
        The visible label rendered for a text body (``*…*`` in Markdown, 【…】 in plain text).
        """
        return str(ExplicitLabel(self.label_text, format=text_format).render())

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
