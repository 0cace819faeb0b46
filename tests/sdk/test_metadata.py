"""
Tests for the GB 45438 Annex E implicit label (AIGCMetadata).
"""

from __future__ import annotations

import json

import pytest
import yaml
from aigclabel import AIGCMetadata, MetadataError
from aigclabel.metadata import FIELD_NAMES
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import PRODUCER

PID = "0190a8e2-5f4b-7c3d-8e9f-0123456789ab"
BARE = {
    "Label": "1",
    "ContentProducer": PRODUCER,
    "ProduceID": PID,
    "ReservedCode1": "",
    "ContentPropagator": PRODUCER,
    "PropagateID": PID,
    "ReservedCode2": "",
}

charset_value = st.text(
    alphabet="".join(chr(c) for c in [0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)]), max_size=40
)
metadata = st.builds(
    lambda **fields: AIGCMetadata(**fields),
    label=st.sampled_from(["1", "2", "3"]),
    content_producer=charset_value,
    produce_id=charset_value,
    reserved_code1=charset_value,
    content_propagator=charset_value,
    propagate_id=charset_value,
    reserved_code2=charset_value,
)


@pytest.fixture(name="meta")
def _meta() -> AIGCMetadata:
    """
    A first-write label with every field set.
    """
    return AIGCMetadata.first_write(producer=PRODUCER, produce_id=PID, reserved_code1="SD1.x")


def test_reads_wrapped_json() -> None:
    """
    The Annex E wrapped shape ``{"AIGC": {...}}`` is read.
    """
    assert BARE == AIGCMetadata.from_json(json.dumps({"AIGC": BARE})).to_dict("bare")


def test_reads_bare_json() -> None:
    """
    The bare seven-key object of the TC260 format guides is read.
    """
    assert BARE == AIGCMetadata.from_json(json.dumps(BARE)).to_dict("bare")


def test_reads_bytes() -> None:
    """
    UTF-8 bytes are accepted as well as str.
    """
    assert BARE == AIGCMetadata.from_json(json.dumps(BARE).encode()).to_dict("bare")


def test_reads_only_label() -> None:
    """
    Missing optional keys default to the empty string.
    """
    assert {**dict.fromkeys(FIELD_NAMES, ""), "Label": "3"} == AIGCMetadata.from_json(
        '{"Label":"3"}'
    ).to_dict("bare")


def test_to_json_emits_seven_keys_compact(meta: AIGCMetadata) -> None:
    """
    to_json() writes all seven keys in Annex E order, with no whitespace, wrapped under AIGC.
    """
    text = meta.to_json()

    assert text.startswith('{"AIGC":{"Label":"1","ContentProducer":')
    assert " " not in text
    assert list(FIELD_NAMES) == list(json.loads(text)["AIGC"])


def test_to_json_bare(meta: AIGCMetadata) -> None:
    """
    The bare shape has the seven keys at the top level.
    """
    assert list(FIELD_NAMES) == list(json.loads(meta.to_json("bare")))


def test_first_write_copies_production_into_propagation(meta: AIGCMetadata) -> None:
    """
    On first write ContentPropagator = ContentProducer and PropagateID = ProduceID.
    """
    assert (PRODUCER, PID, "") == (meta.content_propagator, meta.propagate_id, meta.reserved_code2)


def test_with_propagation_keeps_production_fields(meta: AIGCMetadata) -> None:
    """
    A platform's propagation elements replace only the three propagation fields.
    """
    out = meta.with_propagation(propagator="PLATFORM1", propagate_id="p-42", reserved_code2="sig")

    assert {
        **meta.to_dict("bare"),
        "ContentPropagator": "PLATFORM1",
        "PropagateID": "p-42",
        "ReservedCode2": "sig",
    } == out.to_dict("bare")


@pytest.mark.parametrize(
    "value",
    ["has space", 'has"quote', "back\\slash", "中文", "tab\there", "é", "trailing\n", "\nleading", "nul\x00"],
)
def test_charset_violation_raises(value: str) -> None:
    """
    A value outside printable ASCII without space, quote or backslash raises MetadataError naming the key.
    """
    with pytest.raises(MetadataError, match="ProduceID"):
        AIGCMetadata.from_json(json.dumps({**BARE, "ProduceID": value}))


@pytest.mark.parametrize("value", ["has space", 'has"quote', "back\\slash", "中文"])
def test_charset_violation_raises_on_construction(value: str) -> None:
    """
    Building metadata in code with an invalid value raises MetadataError too (not a bare pydantic error).
    """
    with pytest.raises(MetadataError):
        AIGCMetadata.first_write(producer=PRODUCER, produce_id=value)


@pytest.mark.parametrize("key", ["label", "LABEL", "contentProducer", "produceid"])
def test_misspelled_key_raises_with_the_right_spelling(key: str) -> None:
    """
    Keys are case-sensitive; a case-misspelled key is rejected and the message gives the right spelling.
    """
    proper = next(name for name in FIELD_NAMES if name.lower() == key.lower())
    data = {**BARE, key: BARE[proper]}
    del data[proper]

    with pytest.raises(MetadataError, match=repr(proper)):
        AIGCMetadata.from_json(json.dumps(data))


def test_unknown_key_raises() -> None:
    """
    A key that is no Annex E key at all is rejected.
    """
    with pytest.raises(MetadataError, match="Colour"):
        AIGCMetadata.from_json(json.dumps({**BARE, "Colour": "red"}))


@pytest.mark.parametrize(
    ("key", "value"), [("Label", 1), ("ContentProducer", 42), ("ProduceID", None), ("ReservedCode1", ["x"])]
)
def test_non_string_value_raises(key: str, value: object) -> None:
    """
    Every value must be a JSON string.
    """
    with pytest.raises(MetadataError, match=key):
        AIGCMetadata.from_json(json.dumps({**BARE, key: value}))


@pytest.mark.parametrize("value", ["0", "4", "", "yes"])
def test_label_value_out_of_range_raises(value: str) -> None:
    """
    Label is one of "1", "2", "3".
    """
    with pytest.raises(MetadataError, match="Label"):
        AIGCMetadata.from_json(json.dumps({**BARE, "Label": value}))


def test_missing_label_raises() -> None:
    """
    Label is mandatory.
    """
    data = dict(BARE)
    del data["Label"]

    with pytest.raises(MetadataError, match="Label"):
        AIGCMetadata.from_json(json.dumps(data))


@pytest.mark.parametrize("data", ["", "{", "not json", "{'Label': '1'}", b"\xff\xfe"])
def test_non_json_raises(data: str | bytes) -> None:
    """
    Input that is not JSON raises MetadataError.
    """
    with pytest.raises(MetadataError, match="JSON"):
        AIGCMetadata.from_json(data)


@pytest.mark.parametrize("data", ["[]", '"AIGC"', "1", '{"AIGC": "1"}', '{"AIGC": []}'])
def test_non_object_raises(data: str) -> None:
    """
    JSON that is not an object (or an AIGC wrapper around a non-object) raises MetadataError.
    """
    with pytest.raises(MetadataError):
        AIGCMetadata.from_json(data)


def test_metadata_error_is_a_value_error() -> None:
    """
    MetadataError is a ValueError.
    """
    assert issubclass(MetadataError, ValueError)


@given(metadata, st.sampled_from(["wrapped", "bare"]))
def test_json_round_trip(meta: AIGCMetadata, shape: str) -> None:
    """
    Any valid metadata survives to_json / from_json in either shape.
    """
    assert meta == AIGCMetadata.from_json(meta.to_json(shape))  # type: ignore[arg-type]


def test_for_format_api_is_wrapped(meta: AIGCMetadata) -> None:
    """
    The API carrier gets the wrapped Annex E JSON.
    """
    assert meta.to_json("wrapped") == meta.for_format("api")


@pytest.mark.parametrize("fmt", ["docx", "pdf", "html"])
def test_for_format_files_are_bare(meta: AIGCMetadata, fmt: str) -> None:
    """
    File carriers store the bare object under a property already named AIGC.
    """
    assert meta.to_json("bare") == meta.for_format(fmt)  # type: ignore[arg-type]


def test_for_format_markdown_is_front_matter(meta: AIGCMetadata) -> None:
    """
    Markdown gets a YAML front-matter block with an AIGC mapping of quoted strings.
    """
    block = meta.for_format("markdown")

    assert block.startswith("---\nAIGC:\n")
    assert block.endswith("\n---\n")
    assert "  Label: '1'" in block.splitlines()


@given(metadata)
def test_markdown_front_matter_parses_back(meta: AIGCMetadata) -> None:
    """
    The front matter is valid YAML holding exactly the seven values, whatever characters they use.
    """
    body = meta.for_format("markdown").removeprefix("---\n").removesuffix("---\n")

    assert {"AIGC": meta.to_dict("bare")} == yaml.safe_load(body)


def test_for_format_unknown_raises(meta: AIGCMetadata) -> None:
    """
    An unknown carrier is a ValueError.
    """
    with pytest.raises(ValueError, match="rtf"):
        meta.for_format("rtf")  # type: ignore[arg-type]


def test_metadata_is_immutable(meta: AIGCMetadata) -> None:
    """
    Metadata objects are frozen.
    """
    with pytest.raises(ValueError, match="frozen"):
        meta.label = "2"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x y", "'ProduceID': contains ' '; values are printable ASCII"),
        ("ok\n", "'ProduceID': contains '\\n'"),
        (b"bytes", "'ProduceID': must be a string, not bytes"),
        (7, "'ProduceID': must be a string, not int"),
    ],
)
def test_a_bad_value_is_named_with_its_field_and_first_bad_character(value: object, message: str) -> None:
    with pytest.raises(MetadataError) as caught:
        AIGCMetadata(label="1", produce_id=value)  # type: ignore[arg-type]
    assert message in str(caught.value)
