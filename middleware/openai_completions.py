"""
OpenAI legacy completions (``POST …/completions``): where the text is, and which event is final.

JSON: each choice's ``text``. Stream: the same ``text`` field in each chunk's choices; the
final chunk of a choice is the one with its ``finish_reason``, as in chat completions
(:mod:`.openai_chat`, whose stream handling this module reuses with the text in the choice).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .common import BodyShapeError, RewriterBase, aigc_item, json_list, json_texts
from .openai_chat import ChatStream

__all__ = ["OBJECT", "CompletionsStream", "batch_structured", "body"]

#: The ``object`` of a completion.
OBJECT = "text_completion"


def body(rw: RewriterBase, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """
    Label a completion object in place; its ``aigc`` items.

    Raises:
        BodyShapeError: a choice without a ``text`` string.
    """
    items = []
    for i, choice in enumerate(json_list(doc, "choices")):
        text = choice.get("text") if isinstance(choice, dict) else None
        if not isinstance(choice, dict) or not isinstance(text, str | None):
            raise BodyShapeError(f"choice {i} has no `text` string")
        if isinstance(text, str):
            labeled = rw.label(text)
            choice["text"] = labeled.text
            items.append(aigc_item(labeled, index=choice.get("index", i)))
    return items


def batch_structured(doc: dict[str, Any]) -> bool:
    """
    Whether a completion in Batch output is JSON-mode output (every text is JSON).
    """
    return json_texts(doc.get("choices"), "text")


class CompletionsStream(ChatStream):
    """
    A legacy completions stream: the text is the choice's ``text``; no reasoning fields.
    """

    FIELD: ClassVar[str] = "text"
    IN_CHOICE: ClassVar[bool] = True
    REASONING: ClassVar[tuple[str, ...]] = ()
