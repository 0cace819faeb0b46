"""
The interface tag (GB 45438 §5.6): a persistent text prompt a front end shows near the content.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from .explicit import Placement

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
        opted_out: the user opted out of the visible label (Art. 9) and the release was
            recorded; the tag is then the only visible disclosure. A tag-only answer
            (``placement="none"``) that is not opted out has ``False`` here.
        short_text: the corner-mark form (「AI」), which GB 45438 allows for a tag that sits
            on the content (a badge); use :attr:`text` wherever the tag stands alone.
        placement: where the visible label is in the text (``none`` when it has none).
        label_text: the visible label as plain text, brackets included (「【本内容由人工智能生成】」;
            ``""`` when the text has none): what a front end appends when the user copies
            part of the text or stops the stream.

    A stream's tag is complete from its first content event
    (:attr:`~aigclabel.StreamLabeler.disclosure`) and equal to the final one.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *opted_out*, *short_text*, *placement* and *label_text*.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    position: Literal["near_content", "top", "bottom", "background"] = "near_content"
    persistent: Literal[True] = True
    language: str = "zh-CN"
    produce_id: str = ""
    explicit_label_in_text: bool = True
    opted_out: bool = False
    short_text: str = "AI"
    placement: Placement = "end"
    label_text: str = ""
