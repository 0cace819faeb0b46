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
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .exceptions import MetadataError

__all__ = [
    "FIELD_NAMES",
    "PROPAGATION_FIELDS",
    "AIGCMetadata",
    "LabelReading",
    "LabelValue",
    "MetadataShape",
    "carrier_value",
    "read_label",
]

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
#: The fields a platform writes (Art. 6); every other key of a label is the producer's.
PROPAGATION_FIELDS = ("Label", "ContentPropagator", "PropagateID", "ReservedCode2")
_VALUE_RE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]*")
# The same rule checked inside pydantic-core, without a Python call per field (its regex engine's
# "$" is the end of the string: a trailing line break does not pass).
_Value = Annotated[str, StringConstraints(strict=True, pattern=r"^[\x21\x23-\x5B\x5D-\x7E]*$")]
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
    content_producer: _Value = Field(default="", alias="ContentProducer")
    produce_id: _Value = Field(default="", alias="ProduceID")
    reserved_code1: _Value = Field(default="", alias="ReservedCode1")
    content_propagator: _Value = Field(default="", alias="ContentPropagator")
    propagate_id: _Value = Field(default="", alias="PropagateID")
    reserved_code2: _Value = Field(default="", alias="ReservedCode2")

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
        self, *, propagator: str, propagate_id: str, reserved_code2: str = "", label: LabelValue | None = None
    ) -> AIGCMetadata:
        """
        Return a copy with a platform's propagation elements (Art. 6).

        The production fields (``ContentProducer``, ``ProduceID``, ``ReservedCode1``) are kept
        exactly as they are, also when they were read leniently from another vendor's label
        (:func:`read_label`); the new propagation fields (and *label*, when given) are checked
        with the strict writer rule.

        .. versionchanged:: 0.2.0
           *label*; lenient production fields are kept instead of refused.
        """
        checked = type(self)(
            label=label or "1",
            content_propagator=propagator,
            propagate_id=propagate_id,
            reserved_code2=reserved_code2,
        )
        update: dict[str, str] = {
            "content_propagator": checked.content_propagator,
            "propagate_id": checked.propagate_id,
            "reserved_code2": checked.reserved_code2,
        }
        if label is not None:
            update["label"] = checked.label
        return self.model_copy(update=update)

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
        return carrier_value(self.to_dict("bare"), fmt)


def _metadata_error(exc: ValidationError) -> MetadataError:
    err = exc.errors()[0]
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, MetadataError):  # raised by __init__ inside model_validate
        return inner
    where = str(err["loc"][0]) if err["loc"] else "?"
    field = dict(zip(_SNAKE, FIELD_NAMES, strict=True)).get(where, where)
    value = err.get("input")
    if err["type"] == "string_type":
        msg = f"must be a string, not {type(value).__name__}"
    elif err["type"] == "string_pattern_mismatch" and isinstance(value, str):
        bad = next((c for c in value if not _VALUE_RE.fullmatch(c)), value[-1:])
        msg = (
            f"contains {bad!r}; values are printable ASCII without space, '\"' or '\\' "
            "(bytes 0x21, 0x23-0x5B, 0x5D-0x7E)"
        )
    else:
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


def _yaml_key(key: str) -> str:
    # Only the Annex E names go unquoted: a plain `NULL`, `yes` or `1` would not read back as a string.
    return key if key in FIELD_NAMES else _yaml_scalar(key)


# Characters YAML does not allow raw in a document (YAML 1.1 §5.1, as PyYAML checks them), and
# the line breaks YAML knows beyond JSON's (NEL, LS, PS): written as JSON escapes, which YAML reads.
# YAML escapes what it may not print plainly: C0/C1 controls, U+2028/2029, surrogates, U+FFFE/FFFF.
_YAML_ESCAPE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _yaml_scalar(value: object) -> str:
    """
    A string as a single-quoted YAML scalar (``'`` doubled); a string with line breaks or
    characters YAML cannot hold raw as a double-quoted one (JSON escapes, which YAML reads);
    any other value as JSON, which is YAML flow. Every value reads back exactly.
    """
    if isinstance(value, str) and value.isprintable() and not _YAML_ESCAPE.search(value):
        return "'" + value.replace("'", "''") + "'"
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@dataclass(frozen=True, slots=True)
class LabelReading:
    """
    An implicit label read leniently from someone else's carrier (standard §3: writers are
    strict, readers lenient).

    Attributes:
        metadata: the seven fields, values exactly as read (a Chinese company name, a space,
            a SecurityData JSON are kept); ``Label`` normalised to ``"1"``, ``"2"`` or ``"3"``.
        findings: each deviation from the strict Annex E form, one sentence each.
        extra: keys outside the seven Annex E keys, with their values (kept on propagation).

    .. versionadded:: 0.2.0
    """

    metadata: AIGCMetadata
    findings: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def strict(self) -> bool:
        """Whether the label is exactly what a strict writer emits (no findings)."""
        return not self.findings

    def producer_elements(self) -> dict[str, Any]:
        """
        Every key of the label as read but the platform's four (``Label``, ``ContentPropagator``,
        ``PropagateID``, ``ReservedCode2``, in any letter case): what propagation must keep.
        """
        return {
            key: value
            for key, value in self.raw.items()
            if (key if key in FIELD_NAMES else _LOWER.get(str(key).lower())) not in PROPAGATION_FIELDS
        }

    def propagated(
        self, *, label: LabelValue, propagator: str, propagate_id: str, reserved_code2: str = ""
    ) -> dict[str, Any]:
        """
        The label a platform writes back (Art. 6, standard §7): every key and value of the
        label as read, in its order and type (the producer's elements byte for byte, extra
        keys kept), with only ``Label``, ``ContentPropagator``, ``PropagateID`` and
        ``ReservedCode2`` replaced (a misspelt one is replaced by the Annex E spelling).

        Raises:
            MetadataError: a new value breaks the strict writer rule.
        """
        new = AIGCMetadata(
            label=label,
            content_propagator=propagator,
            propagate_id=propagate_id,
            reserved_code2=reserved_code2,
        ).to_dict("bare")
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            name = key if key in FIELD_NAMES else _LOWER.get(str(key).lower())
            if name in PROPAGATION_FIELDS:
                out.setdefault(name, new[name])
            else:
                out[key] = value
        for name in PROPAGATION_FIELDS:
            out.setdefault(name, new[name])
        return out


def read_label(value: str | bytes | Mapping[Any, Any]) -> LabelReading:
    """
    Read an implicit label the way a platform must (Art. 6, standard §3): anything that is
    recognisably an Annex E label is a label, its deviations are findings.

    *value* is the carrier's content: a JSON text or an already decoded mapping (a YAML front
    matter), wrapped (``{"AIGC": {...}}``) or bare. Accepted with a finding: key spelling in
    another letter case, a missing key (read as ``""``), an extra key (kept in ``extra``), a
    ``Label`` given as a number or padded with spaces, a non-string value (numbers kept as
    their JSON text, objects as compact JSON), and string values outside the strict
    character set (kept unchanged).

    Raises:
        MetadataError: not a label: not JSON, not a mapping, or no ``Label`` of 1, 2 or 3.
    """
    findings: list[str] = []
    obj: Any = value
    if isinstance(value, str | bytes):
        try:
            obj = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MetadataError(f"AIGC metadata is not valid JSON: {exc}") from exc
    if not isinstance(obj, Mapping):
        raise MetadataError(f"AIGC metadata must be a JSON object, not {type(obj).__name__}")
    if len(obj) == 1 and str(next(iter(obj))).upper() == "AIGC":
        inner = next(iter(obj.values()))
        if isinstance(inner, str):
            return read_label(inner)
        if not isinstance(inner, Mapping):
            raise MetadataError("the value of 'AIGC' must be an object with the Annex E keys")
        obj = inner
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, item in obj.items():
        name = key if key in FIELD_NAMES else _LOWER.get(str(key).lower())
        if name is None:
            extra[str(key)] = item
            continue
        if name != key:
            findings.append(f"key {key!r} is spelt {name!r} in Annex E (keys are case-sensitive)")
        if name in values:
            findings.append(f"key {name!r} appears twice; the first value is read")
            continue
        values[name] = item
    if extra:
        findings.append(f"keys outside Annex E: {', '.join(sorted(extra))} (kept)")
    label = values.get("Label")
    text = str(label).strip() if isinstance(label, str | int) and not isinstance(label, bool) else None
    if text not in ("1", "2", "3"):
        raise MetadataError(f"AIGC metadata has no Label of '1', '2' or '3' (found {label!r})")
    if not isinstance(label, str):
        findings.append(f"Label is the number {label!r}, not the string {text!r}")
    elif label != text:
        findings.append(f"Label {label!r} has surrounding spaces")
    fields: dict[str, str] = {}
    for name in FIELD_NAMES[1:]:
        if name not in values:
            findings.append(f"key {name!r} is missing (read as empty)")
            fields[name] = ""
            continue
        item = values[name]
        if item is None:
            findings.append(f"{name} is null (read as empty)")
            item = ""
        elif not isinstance(item, str):
            findings.append(f"{name} is a {type(item).__name__}, not a string (kept as its JSON text)")
            item = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        if not _VALUE_RE.fullmatch(item):
            findings.append(f"{name} {_describe(item)}")
        fields[name] = item
    snake = dict(zip(FIELD_NAMES, _SNAKE, strict=True))
    values_by_attr: dict[str, Any] = {snake[k]: v for k, v in fields.items()}
    # Values as read, past the strict writer check (this is a reading, never written as ours).
    metadata = AIGCMetadata.model_construct(None, label=text, **values_by_attr)
    return LabelReading(metadata, tuple(findings), extra, dict(obj))


def carrier_value(fields: Mapping[str, Any], fmt: Literal["docx", "pdf", "html", "markdown"]) -> str:
    """
    The stored form of a label's *fields* (bare, in the given order) for one carrier: compact
    JSON for docx, pdf and html, a YAML front matter with an ``AIGC:`` mapping for markdown.
    Non-ASCII characters are written as they are: a label this SDK writes has none, and a
    producer's kept field keeps its characters.
    """
    if fmt == "markdown":
        lines = ["---", "AIGC:", *(f"  {_yaml_key(k)}: {_yaml_scalar(v)}" for k, v in fields.items())]
        return "\n".join([*lines, "---", ""])
    if fmt in ("docx", "pdf", "html"):
        return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    raise ValueError(f"unknown metadata carrier {fmt!r}")


def _describe(value: str) -> str:
    kinds = []
    if any(ord(c) > 0x7E for c in value):
        kinds.append("non-ASCII characters")
    if " " in value:
        kinds.append("a space")
    if '"' in value:
        kinds.append("a quote")
    if "\\" in value:
        kinds.append("a backslash")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        kinds.append("control characters")
    return "holds " + ", ".join(kinds or ["characters"]) + " outside the strict Annex E set (kept as read)"
