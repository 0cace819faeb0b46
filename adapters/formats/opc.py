"""
The implicit label in an OOXML package (docx, xlsx, pptx), per the TC260 text-file guide:
a custom property named ``AIGC`` holding the bare seven-key JSON as ``vt:lpwstr``, in the
custom-properties part.

The part is found through the package relationships (``_rels/.rels``, type
``custom-properties``) on read and write alike, whatever it is called; a
``docProps/custom.xml`` that no relationship names is still read (with a finding), since a
platform must not miss a label because a writer forgot to register it. Writing keeps every
other property and member; the one ``AIGC`` property is replaced (any letter case), so a
package holds exactly one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from aigclabel.metadata import carrier_value

from . import limits
from .extracted import Extracted, FoundLabel, found_label
from .limits import CarrierError
from .xmlparts import custom_properties, lxml_etree, parse_tree, serialize_tree
from .zipped import Package

__all__ = ["CUSTOM_PART", "FMTID", "custom_part_names", "read_labels", "set_label"]

CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
RT_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
#: The format identifier of user-defined properties (FMTID_UserDefinedProperties).
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
#: Where a new custom-properties part goes.
CUSTOM_PART = "docProps/custom.xml"
_RELS = "_rels/.rels"
_TYPES = "[Content_Types].xml"


def _target(rel: Any) -> str | None:
    if rel.get("Type") != RT_CUSTOM or rel.get("TargetMode") == "External":
        return None
    name = posixpath.normpath(str(rel.get("Target", "")).lstrip("/"))
    return None if name.startswith("..") or name in ("", ".") else name


def custom_part_names(pkg: Package) -> list[str]:
    """
    The custom-properties parts the package relationships name (normally one).

    Raises:
        CarrierError: ``_rels/.rels`` is not well-formed or declares a DTD.
    """
    rels = pkg.get(_RELS)
    if rels is None:
        return []
    return [name for rel in parse_tree(rels, _RELS) if (name := _target(rel)) is not None]


def read_labels(pkg: Package, out: Extracted) -> None:
    """
    Add every ``AIGC`` custom property of *pkg* to ``out.labels``; an unreadable part is a
    finding and, when it may hold a label, an unreadable label (a trace).
    """
    try:
        names = custom_part_names(pkg)
    except CarrierError as exc:
        out.findings.append(str(exc))
        names = []
    if CUSTOM_PART in pkg and CUSTOM_PART not in names:
        if names or pkg.get(_RELS) is not None:
            out.findings.append(f"{CUSTOM_PART} is not named by the package relationships (read anyway)")
        names.append(CUSTOM_PART)
    for name in names:
        data = pkg.get(name)
        if data is None:
            out.findings.append(f"the relationships name {name}, which the package does not hold")
            continue
        try:
            props = custom_properties(data, name, limit=limits.MAX_TEXT_BYTES)
        except CarrierError as exc:
            out.findings.append(str(exc))
            if b"AIGC" in data.upper():
                out.labels.append(FoundLabel(f"{name}#AIGC", error=str(exc)))
            continue
        for prop_name, value in props:
            if "AIGC" not in prop_name.upper():
                continue
            if prop_name != "AIGC":
                out.findings.append(f"{name}: the label property is named {prop_name!r}, not 'AIGC'")
            out.labels.append(found_label(value, f"{name}#{prop_name}"))


def _ensure_custom_part(rels: Any, etree: Any) -> str:
    """The custom part the relationships name (extra ones dropped), registering one if none."""
    found: str | None = None
    for rel in list(rels):
        name = _target(rel)
        if name is None:
            if rel.get("Type") == RT_CUSTOM:
                rels.remove(rel)
            continue
        if found is None:
            found = name
        else:
            rels.remove(rel)
    if found is None:
        used = {r.get("Id") for r in rels}
        n = 1
        while f"rId{n}" in used:
            n += 1
        found = CUSTOM_PART
        etree.SubElement(rels, f"{{{REL_NS}}}Relationship", Id=f"rId{n}", Type=RT_CUSTOM, Target=found)
    return found


def _register_content_type(types: Any, part: str, etree: Any) -> None:
    partname = "/" + part
    for el in list(types):
        if el.tag == f"{{{CT_NS}}}Override" and str(el.get("PartName", "")).lower() == partname.lower():
            types.remove(el)
    etree.SubElement(types, f"{{{CT_NS}}}Override", PartName=partname, ContentType=CT_CUSTOM)


def _custom_xml(existing: bytes | None, name: str, value: str, etree: Any) -> bytes:
    if existing is None:
        root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap={None: CUSTOM_NS, "vt": VT_NS})
    else:
        root = parse_tree(existing, name)
        if root.tag != f"{{{CUSTOM_NS}}}Properties":
            raise CarrierError(f"{name} is not a custom-properties part")
    pids = []
    for prop in list(root):
        if "AIGC" in str(prop.get("name", "")).upper():  # every label property the reader sees
            root.remove(prop)
            continue
        pid = str(prop.get("pid", ""))
        if pid.isdigit():
            pids.append(int(pid))
    prop = etree.SubElement(
        root, f"{{{CUSTOM_NS}}}property", fmtid=FMTID, pid=str(max([1, *pids]) + 1), name="AIGC"
    )
    etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = value
    return serialize_tree(root)


def set_label(pkg: Package, fields: Mapping[str, Any]) -> bytes:
    """
    The package with exactly one custom property ``AIGC`` holding *fields* (bare JSON).

    The custom part named by the relationships is updated (a new ``docProps/custom.xml`` is
    registered in ``_rels/.rels`` and ``[Content_Types].xml`` when there is none); an
    unregistered ``docProps/custom.xml`` beside it loses its ``AIGC`` property too.

    Raises:
        CarrierError: a required part is missing, or a part is malformed or declares a DTD.
    """
    etree = lxml_etree()
    for required in (_TYPES, _RELS):
        if required not in pkg:
            raise CarrierError(f"not an OOXML package: {required} is missing")
    rels = parse_tree(pkg.get(_RELS) or b"", _RELS)
    types = parse_tree(pkg.get(_TYPES) or b"", _TYPES)
    part = _ensure_custom_part(rels, etree)
    _register_content_type(types, part, etree)
    value = carrier_value(fields, "docx")
    updated = {
        _RELS: serialize_tree(rels),
        _TYPES: serialize_tree(types),
        part: _custom_xml(pkg.get(part), part, value, etree),
    }
    stray = CUSTOM_PART if part != CUSTOM_PART and CUSTOM_PART in pkg else None
    if stray is not None:
        root = parse_tree(pkg.get(stray) or b"", stray)
        for prop in [p for p in root if "AIGC" in str(p.get("name", "")).upper()]:
            root.remove(prop)
        updated[stray] = serialize_tree(root)
    return pkg.rewrite(updated, first=_TYPES)
