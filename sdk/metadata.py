"""
The GB 45438-2025 Annex E implicit label: seven string fields under the key ``AIGC``.

Readers accept the wrapped shape ``{"AIGC": {...}}`` and the bare seven-key object;
writers emit all seven keys, in the shape each carrier wants (see
:meth:`AIGCMetadata.for_format`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .exceptions import MetadataError

__all__ = ["FIELD_NAMES", "AIGCMetadata", "LabelValue", "MetadataShape"]

LabelValue = Literal["1", "2", "3"]
MetadataShape = Literal["wrapped", "bare"]

#: The Annex E keys in their normative order (case-sensitive).
FIELD_NAMES = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
_VALUE_RE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]*")
_LOWER = {name.lower(): name for name in FIELD_NAMES}


class AIGCMetadata(BaseModel):
    """
    One implicit label. Immutable; every value is a string of printable ASCII without
    space, ``"`` or ``\\``.

    Attributes use snake_case; :meth:`to_dict` and :meth:`to_json` use the Annex E keys.
    ``label`` is ``"1"`` (AI-generated), ``"2"`` (possibly, user-declared) or
    ``"3"`` (suspected, detected).

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _metadata_error(exc) from exc

    label: LabelValue = Field(alias="Label")
    content_producer: str = Field(default="", alias="ContentProducer")
    produce_id: str = Field(default="", alias="ProduceID")
    reserved_code1: str = Field(default="", alias="ReservedCode1")
    content_propagator: str = Field(default="", alias="ContentPropagator")
    propagate_id: str = Field(default="", alias="PropagateID")
    reserved_code2: str = Field(default="", alias="ReservedCode2")

    @field_validator(
        "content_producer",
        "produce_id",
        "reserved_code1",
        "content_propagator",
        "propagate_id",
        "reserved_code2",
        mode="before",
    )
    @classmethod
    def _charset(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {type(value).__name__}")
        if not _VALUE_RE.fullmatch(value):
            bad = next(c for c in value if not _VALUE_RE.fullmatch(c))
            raise ValueError(
                f"contains {bad!r}; values are printable ASCII without space, '\"' or '\\' "
                "(bytes 0x21, 0x23-0x5B, 0x5D-0x7E)"
            )
        return value

    @classmethod
    def first_write(
        cls, *, producer: str, produce_id: str, label: LabelValue = "1", reserved_code1: str = ""
    ) -> AIGCMetadata:
        """
        Build the producer's first label: propagation fields equal production fields.
        """
        return cls(
            label=label,
            content_producer=producer,
            produce_id=produce_id,
            reserved_code1=reserved_code1,
            content_propagator=producer,
            propagate_id=produce_id,
        )

    def with_propagation(
        self, *, propagator: str, propagate_id: str, reserved_code2: str = ""
    ) -> AIGCMetadata:
        """
        Return a copy with a platform's propagation elements (Art. 6); production fields are kept.
        """
        return type(self)(
            **{
                **self.to_dict("bare"),
                "ContentPropagator": propagator,
                "PropagateID": propagate_id,
                "ReservedCode2": reserved_code2,
            }
        )

    # -- reading ---------------------------------------------------------------

    @classmethod
    def from_obj(cls, obj: object) -> AIGCMetadata:
        """
        Read a decoded JSON value in the wrapped or bare shape.

        Raises:
            MetadataError: the object is not a mapping, a key is misspelled or missing,
                or a value is not a valid string.
        """
        if not isinstance(obj, Mapping):
            raise MetadataError(f"AIGC metadata must be a JSON object, not {type(obj).__name__}")
        if set(obj) == {"AIGC"}:
            obj = obj["AIGC"]
            if not isinstance(obj, Mapping):
                raise MetadataError("the value of 'AIGC' must be a JSON object with the seven Annex E keys")
        for key in obj:
            if key not in FIELD_NAMES:
                proper = _LOWER.get(str(key).lower())
                hint = f" (keys are case-sensitive: {proper!r})" if proper else f"; expected {FIELD_NAMES}"
                raise MetadataError(f"unknown AIGC metadata key {key!r}{hint}")
        if "Label" not in obj:
            raise MetadataError("AIGC metadata has no 'Label' (expected '1', '2' or '3')")
        try:
            return cls.model_validate(dict(obj))
        except ValidationError as exc:
            raise _metadata_error(exc) from exc

    @classmethod
    def from_json(cls, data: str | bytes) -> AIGCMetadata:
        """
        Parse a JSON string in the wrapped (``{"AIGC": {...}}``) or bare shape.

        Raises:
            MetadataError: not JSON, or not valid metadata (see :meth:`from_obj`).
        """
        try:
            obj: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MetadataError(f"AIGC metadata is not valid JSON: {exc}") from exc
        return cls.from_obj(obj)

    # -- writing ---------------------------------------------------------------

    def to_dict(self, shape: MetadataShape = "wrapped") -> dict[str, Any]:
        """
        Return all seven keys, wrapped under ``"AIGC"`` (Annex E) or bare.
        """
        bare = self.model_dump(by_alias=True)
        return {"AIGC": bare} if shape == "wrapped" else bare

    def to_json(self, shape: MetadataShape = "wrapped") -> str:
        """
        Serialise compactly (no spaces), keys in Annex E order, plain JSON (no Base64).
        """
        return json.dumps(self.to_dict(shape), ensure_ascii=True, separators=(",", ":"))

    def for_format(self, fmt: Literal["api", "docx", "pdf", "html", "markdown"]) -> str:
        """
        Return the value to store for one carrier, per the TC260 format guides.

        ``api`` gives the wrapped Annex E JSON; ``docx``, ``pdf`` and ``html`` the bare
        object stored under a property already named ``AIGC``; ``markdown`` a YAML
        front-matter block with an ``AIGC:`` mapping of quoted strings.
        """
        if fmt == "api":
            return self.to_json("wrapped")
        if fmt in ("docx", "pdf", "html"):
            return self.to_json("bare")
        if fmt == "markdown":
            lines = ["---", "AIGC:"]
            lines += [f"  {k}: '{v.replace(chr(39), chr(39) * 2)}'" for k, v in self.to_dict("bare").items()]
            return "\n".join([*lines, "---", ""])
        raise ValueError(f"unknown metadata carrier {fmt!r}")


def _metadata_error(exc: ValidationError) -> MetadataError:
    err = exc.errors()[0]
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, MetadataError):  # raised by __init__ inside model_validate
        return inner
    where = str(err["loc"][0]) if err["loc"] else "?"
    field = dict(zip(_SNAKE, FIELD_NAMES, strict=True)).get(where, where)
    msg = err["msg"].removeprefix("Value error, ")
    return MetadataError(f"AIGC metadata field {field!r}: {msg}")


_SNAKE = (
    "label",
    "content_producer",
    "produce_id",
    "reserved_code1",
    "content_propagator",
    "propagate_id",
    "reserved_code2",
)
