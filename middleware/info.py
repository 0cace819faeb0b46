"""
``aigc_info(result)``: the ``aigc`` object a wrapped client adds to its results, typed.

The middleware adds ``aigc`` (``{"label": "1", "stage": "end", "items": [...]}``) to every
labeled JSON body and to the final event of each streamed text, and ``"stage": "start"`` to
the event that releases a streamed text's first characters (its metadata has no
``ReservedCode1`` yet). The SDKs keep unknown fields (openai and
anthropic models allow extra attributes), so ``completion.aigc`` exists at run time — but a
type checker does not know it. ``aigc_info()`` reads it from an SDK model, a parsed dict, or
a raw JSON body, and returns typed objects::

    info = aigc_info(client.chat.completions.create(...))
    if info is not None:
        send(text, metadata=info.items[0].metadata.to_json(), tag=info.items[0].ui.text)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aigclabel.metadata import AIGCMetadata
from aigclabel.ui import UIDisclosure

__all__ = ["AIGCInfo", "AIGCItem", "aigc_info"]


@dataclass(frozen=True, slots=True)
class AIGCItem:
    """
    The label of one text (or of one non-text output: tool calls, JSON-mode output).

    Attributes:
        index: the choice, output item or content block the text belongs to.
        produce_id: its ProduceID.
        mark_id: the id its invisible marks carry (hex), or ``""``.
        explicit: whether the text carries the visible label.
        metadata: the implicit label (GB 45438 Annex E).
        ui: the interface tag to show next to the text.
        field: for reasoning text, where it came from (``reasoning_content``, ``summary``…);
            ``None`` for the answer.
        content_index: the content part, where the API has parts (Responses API).
        summary_index: the reasoning summary part (Responses API).

    .. versionadded:: 0.2.0
    """

    index: int
    produce_id: str
    mark_id: str
    explicit: bool
    metadata: AIGCMetadata
    ui: UIDisclosure
    field: str | None = None
    content_index: int | None = None
    summary_index: int | None = None


@dataclass(frozen=True, slots=True)
class AIGCInfo:
    """
    The ``aigc`` object of one result.

    Attributes:
        label: the Annex E ``Label`` value (``"1"`` generated, ``"2"`` possibly, ``"3"`` suspected).
        items: one entry per labeled text, in response order.
        raw: the object as it was received.
        stage: ``"start"`` on a stream's first event with text, ``"end"`` on the final event
            and on JSON bodies (and on objects from versions that did not say).

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.3.0
       *stage*.
    """

    label: str
    items: tuple[AIGCItem, ...]
    raw: Mapping[str, Any]
    stage: str = "end"


def aigc_info(result: object) -> AIGCInfo | None:
    """
    The ``aigc`` object of *result*, typed; ``None`` when it carries none.

    Args:
        result: what a wrapped client returned: an openai or anthropic model (a completion,
            a response, a message, a stream chunk or event), a parsed JSON ``dict``, or the
            raw JSON body (``str`` / ``bytes``). A Responses ``response.completed`` event is
            looked into (its ``response`` holds the object).

    Raises:
        ValueError: *result* has an ``aigc`` object that is not of the middleware's shape
            (:class:`~aigclabel.MetadataError` for its metadata).

    .. versionadded:: 0.2.0
    """
    raw = _find(result)
    if raw is None:
        return None
    label = raw.get("label")
    items = raw.get("items")
    if not isinstance(label, str) or not isinstance(items, list):
        raise ValueError("the aigc object has no `label` string and `items` list")
    stage = raw.get("stage", "end")
    return AIGCInfo(label=label, items=tuple(_item(item) for item in items), raw=raw, stage=str(stage))


def _find(result: object) -> Mapping[str, Any] | None:
    if isinstance(result, str | bytes | bytearray):
        try:
            result = json.loads(result)
        except ValueError:
            return None
    if isinstance(result, Mapping):
        found = result.get("aigc")
        if found is None and isinstance(result.get("response"), Mapping):
            found = result["response"].get("aigc")
    else:
        found = getattr(result, "aigc", None)
        if found is None:
            found = getattr(getattr(result, "response", None), "aigc", None)
    return found if isinstance(found, Mapping) else None


def _item(item: object) -> AIGCItem:
    if not isinstance(item, Mapping):
        raise ValueError(f"an aigc item is a JSON object, not {type(item).__name__}")
    try:
        return AIGCItem(
            index=_int(item.get("index", 0)),
            produce_id=str(item["produce_id"]),
            mark_id=str(item.get("mark_id") or ""),
            explicit=bool(item.get("explicit")),
            metadata=AIGCMetadata.from_obj(item["metadata"]),
            ui=UIDisclosure.model_validate(item["ui"]),
            field=str(item["field"]) if "field" in item else None,
            content_index=_int(item["content_index"]) if "content_index" in item else None,
            summary_index=_int(item["summary_index"]) if "summary_index" in item else None,
        )
    except KeyError as exc:
        raise ValueError(f"an aigc item has no {exc.args[0]!r}") from exc


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"an aigc item position is an integer, not {value!r}")
    return value
