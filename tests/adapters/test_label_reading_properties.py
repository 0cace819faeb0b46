"""
Property tests of the lenient label reader and the carrier writers: whatever a vendor stores
(any Unicode, any JSON type, extra keys, odd key case) is read back exactly, and propagation
changes the platform's four fields and nothing else.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import yaml
from aigclabel.metadata import FIELD_NAMES, PROPAGATION_FIELDS, carrier_value, read_label
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import PLATFORM

_json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=40)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_producer_keys = st.sampled_from(["ContentProducer", "ProduceID", "ReservedCode1"])
_extra_keys = st.text(min_size=1, max_size=12).filter(
    lambda k: k.lower() not in {n.lower() for n in FIELD_NAMES}
)


@st.composite
def vendor_labels(draw: st.DrawFn) -> dict[str, Any]:
    """A label as a vendor might store it: Label 1-3 (string or number), anything else anywhere."""
    label: Any = draw(st.sampled_from(["1", "2", "3", 1, 2, 3, " 1"]))
    out: dict[str, Any] = {"Label": label}
    for key in draw(st.lists(_producer_keys, unique=True)):
        out[key] = draw(st.text(max_size=60) | _json)
    for key in draw(st.lists(_extra_keys, max_size=3, unique=True)):
        out[key] = draw(_json)
    return out


@settings(max_examples=300, deadline=None)
@given(vendor_labels())
def test_any_vendor_label_is_read_and_kept_exactly(label: dict[str, Any]) -> None:
    """read_label never refuses a label with a Label of 1-3, and its raw mapping is what was stored."""
    stored = json.dumps(label, ensure_ascii=False)
    reading = read_label(stored)
    assert dict(reading.raw) == label
    assert reading.metadata.label == str(label["Label"]).strip()


@settings(max_examples=300, deadline=None)
@given(vendor_labels(), st.text(alphabet="abcdef0123456789-", min_size=1, max_size=36))
def test_propagation_changes_only_the_platforms_fields(label: dict[str, Any], pid: str) -> None:
    """Every key but Label/ContentPropagator/PropagateID/ReservedCode2 survives a JSON and a YAML carrier."""
    fields = read_label(json.dumps(label)).propagated(label="1", propagator=PLATFORM, propagate_id=pid)
    kept = {k: v for k, v in label.items() if k not in PROPAGATION_FIELDS}
    for fmt in ("docx", "markdown"):
        value = carrier_value(fields, fmt)
        if fmt == "markdown":
            back = yaml.safe_load(value.removeprefix("---\n").removesuffix("---\n"))["AIGC"]
        else:
            back = json.loads(value)
        assert {k: v for k, v in back.items() if k not in PROPAGATION_FIELDS} == kept
        assert (back["Label"], back["ContentPropagator"], back["PropagateID"]) == ("1", PLATFORM, pid)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_read_label_never_raises_anything_but_a_metadata_error(value: str) -> None:
    """Arbitrary carrier text is a label or a MetadataError: no other exception escapes."""
    from aigclabel.exceptions import MetadataError

    with contextlib.suppress(MetadataError):
        read_label(value)
