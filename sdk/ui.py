"""
The interface tag (GB 45438 §5.6): a persistent text prompt a front end shows near the content.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["UIDisclosure"]


class UIDisclosure(BaseModel):
    """
    What a chat or writing front end renders next to generated content.

    §5.6 asks for a prompt shown **persistently** near the content or at the top, bottom
    or background of the interface; a flash on generation or a hover-only tooltip does
    not satisfy it. Serialise with ``model_dump()`` / ``model_dump_json()``.

    Attributes:
        text: the prompt, with both the AI and the generation element.
        position: ``near_content``, ``top``, ``bottom`` or ``background``.
        persistent: always ``True`` for a compliant tag; kept explicit for renderers.
        language: BCP 47 tag of *text*.
        produce_id: the ProduceID of the content the tag belongs to.
        explicit_label_in_text: whether the text itself also carries the visible label.

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True)

    text: str
    position: Literal["near_content", "top", "bottom", "background"] = "near_content"
    persistent: Literal[True] = True
    language: str = "zh-CN"
    produce_id: str = ""
    explicit_label_in_text: bool = True
