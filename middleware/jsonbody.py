"""
Labeling of one JSON response body (and of each Batch output line's body).

Fail closed: a body that is not a JSON object of the endpoint's shape, or that holds text
where no label can be placed, raises :class:`~.common.BodyShapeError` (reported by the
transports as :class:`~aigclabel.middleware.UnlabelableResponseError`).
"""

from __future__ import annotations

import json
from typing import Any

from .common import (
    REASONING_FIELDS,
    THINKING,
    BodyShapeError,
    RewriterBase,
    aigc_item,
    dumps,
    kind_name,
    output_texts,
    reasoning_texts,
)
from .endpoints import Endpoint

__all__ = ["JSONRewriter"]


class JSONRewriter(RewriterBase):
    """
    Labels the text parts of one JSON response body.
    """

    def rewrite(self, body: bytes) -> bytes:
        """
        The rewritten body.

        Raises:
            BodyShapeError: the body is not a JSON object of the endpoint's shape, or holds
                text where no label can be placed.
        """
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise BodyShapeError(f"the body is not valid JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise BodyShapeError(f"the body is a JSON {kind_name(doc)}, not an object")
        self.rewrite_doc(doc)
        return dumps(doc).encode("utf-8")

    def rewrite_doc(self, doc: dict[str, Any]) -> None:
        """
        Label one parsed response object in place and add its ``aigc`` object.

        Raises:
            BodyShapeError: as :meth:`rewrite`.
        """
        handler = {
            Endpoint.CHAT: self._chat,
            Endpoint.COMPLETIONS: self._completions,
            Endpoint.RESPONSES: self._responses,
            Endpoint.MESSAGES: self._messages,
        }[self.info.endpoint]
        doc["aigc"] = self._aigc(handler(doc))

    def _chat(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        choices = _list(doc, "choices")
        items: list[dict[str, Any]] = []
        reasoning: list[dict[str, Any]] = []
        for i, choice in enumerate(choices):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(choice, dict) or not isinstance(message, dict):
                raise BodyShapeError(f"choice {i} has no `message` object")
            index = choice.get("index", i)
            content = message.get("content")
            if isinstance(content, str):
                labeled = self._label(content)
                message["content"] = labeled.text
                items.append(aigc_item(labeled, index=index))
            elif content is None:  # tool calls or a refusal only: metadata and interface tag
                items.append(aigc_item(self._metadata_only(), index=index))
            elif isinstance(content, list):  # content parts, as some compatible servers send them
                items.extend(self._parts(content, f"choice {i}", index=index))
            else:
                raise BodyShapeError(f"choice {i} has a `message.content` of type {kind_name(content)}")
            reasoning.extend(self._reasoning_fields(message, index=index))
        return items + reasoning

    def _parts(self, parts: list[Any], where: str, *, index: int) -> list[dict[str, Any]]:
        items = []
        for ci, part in enumerate(parts):
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str):
                labeled = self._label(text)
                part["text"] = labeled.text
                items.append(aigc_item(labeled, index=index, content_index=ci))
            elif text is not None or not isinstance(part, dict):
                raise BodyShapeError(f"{where} has a content part that is not a text part of the known shape")
        return items or [aigc_item(self._metadata_only(), index=index)]

    def _reasoning_fields(self, holder: dict[str, Any], *, index: int) -> list[dict[str, Any]]:
        items = []
        for field in REASONING_FIELDS:
            value = holder.get(field)
            if isinstance(value, str) and value and self._seen_reasoning():
                labeled = self._label(value, reasoning=True)
                holder[field] = labeled.text
                items.append(aigc_item(labeled, index=index, field=field))
        return items

    def _completions(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        items = []
        for i, choice in enumerate(_list(doc, "choices")):
            text = choice.get("text") if isinstance(choice, dict) else None
            if not isinstance(choice, dict) or not isinstance(text, str | None):
                raise BodyShapeError(f"choice {i} has no `text` string")
            if isinstance(text, str):
                labeled = self._label(text)
                choice["text"] = labeled.text
                items.append(aigc_item(labeled, index=choice.get("index", i)))
        return items

    def _responses(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        items = []
        reasoning = []
        for oi, item in enumerate(_list(doc, "output")):
            for ci, part in output_texts(item):
                labeled = self._label(part["text"])
                part["text"] = labeled.text
                items.append(aigc_item(labeled, index=oi, content_index=ci))
            for field, where, part in reasoning_texts(item):
                if self._seen_reasoning():
                    labeled = self._label(part["text"], reasoning=True)
                    part["text"] = labeled.text
                    reasoning.append(aigc_item(labeled, index=oi, **{where: field[1]}, field=field[0]))
        if not items:
            items.append(aigc_item(self._metadata_only(), index=0))
        return items + reasoning

    def _messages(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        items = []
        for i, block in enumerate(_list(doc, "content")):
            if isinstance(block, dict) and block.get("type") == "text":
                if not isinstance(block.get("text"), str):
                    raise BodyShapeError(f"text block {i} has no `text` string")
                labeled = self._label(block["text"])
                block["text"] = labeled.text
                items.append(aigc_item(labeled, index=i))
            elif isinstance(block, dict) and block.get("type") in THINKING:
                self.reasoning = "passed_through"  # the block's signature covers its text
        if not items:
            items.append(aigc_item(self._metadata_only(), index=0))
        return items


def _list(doc: dict[str, Any], name: str) -> list[Any]:
    value = doc.get(name)
    if not isinstance(value, list):
        raise BodyShapeError(f"the JSON object has no `{name}` list (found {kind_name(value)})")
    return value
