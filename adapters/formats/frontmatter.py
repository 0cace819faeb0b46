"""
The one YAML front-matter splitter and merger, shared by the Markdown reader, writer and
exporter.

A front matter opens the file with a ``---`` line and ends at the next ``---`` or ``...``
line. It is a header: larger than :data:`MAX_FRONT_MATTER` it is refused. YAML is loaded
with ``safe_load`` behind an alias-expansion cap (:mod:`.yamlsafe`). Merging a label
replaces only the ``AIGC`` mapping: every other line of the front matter is kept as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aigclabel.exceptions import MissingDependencyError
from aigclabel.metadata import carrier_value

from . import limits
from .limits import CarrierError

__all__ = ["FrontMatter", "FrontMatterError", "load", "mentions_label", "merge_label", "prepend", "split"]

_OPEN = re.compile(r"\A\ufeff?---[ \t]*(?:\r\n|\n|\r)")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r\n|\n|\r|\Z)", re.MULTILINE)
# A top-level key whose name contains AIGC (Annex E: the field name must contain "AIGC").
_AIGC_KEY = re.compile(r"""^(["']?)[^:\n"']*aigc[^:\n"']*\1[ \t]*:""", re.IGNORECASE)


class FrontMatterError(CarrierError):
    """
    The front matter cannot be read: no closing line, not YAML, not a mapping, too large.
    """


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """
    A front matter found at the head of a text: its YAML ``source`` and the ``body`` after it.
    """

    source: str
    body: str


def split(text: str) -> FrontMatter | None:
    """
    The front matter of *text*, or ``None`` when the text does not open with ``---``.

    Raises:
        FrontMatterError: the opening ``---`` line has no closing line, or the front matter
            is larger than the cap.
    """
    opening = _OPEN.match(text)
    if opening is None:
        return None
    closing = _CLOSE.search(text, opening.end())
    if closing is None:
        raise FrontMatterError("malformed front matter: the opening '---' line has no closing '---'")
    source = text[opening.end() : closing.start()]
    if len(source) > limits.MAX_FRONT_MATTER:
        raise FrontMatterError(
            f"front matter of {len(source)} characters exceeds the cap of {limits.MAX_FRONT_MATTER}"
        )
    return FrontMatter(source, text[closing.end() :])


def load(source: str, *, extra: Literal["files", "export"] = "files") -> dict[Any, Any]:
    """
    The mapping a front matter's YAML *source* holds (``{}`` when empty).

    Raises:
        FrontMatterError: not valid YAML, expands past the alias cap, or not a mapping.
        MissingDependencyError: PyYAML is not installed (the error names *extra*).
    """
    if not source.strip():
        return {}
    try:
        import yaml

        from .yamlsafe import load_yaml
    except ImportError as exc:
        if extra == "export":
            raise MissingDependencyError("pyyaml", "export") from exc
        raise MissingDependencyError("pyyaml", "files") from exc
    try:
        data = load_yaml(source)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FrontMatterError(f"malformed front matter: {first}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"malformed front matter: a YAML mapping is expected, not {type(data).__name__}"
        )
    return data


def mentions_label(source: str) -> bool:
    """Whether a front matter that cannot be loaded has a line starting with an ``AIGC`` key."""
    return any(_AIGC_KEY.match(line) for line in source.splitlines())


def _without_label(source: str) -> str:
    kept: list[str] = []
    skipping = False
    for line in source.splitlines(keepends=True):
        if _AIGC_KEY.match(line):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    return "".join(kept)


def prepend(body: str, fields: Mapping[str, Any], other: Mapping[Any, Any] | None = None) -> str:
    """
    A new front matter, *other* keys (any ``AIGC`` key dropped) then the label *fields*,
    followed by *body* (which is not examined: it may start with a ``---`` rule).
    """
    head = ""
    kept = {k: v for k, v in (other or {}).items() if not (isinstance(k, str) and k.casefold() == "aigc")}
    if kept:
        try:
            import yaml
        except ImportError as exc:
            raise MissingDependencyError("pyyaml", "export") from exc
        head = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False, width=1 << 16)
    block = carrier_value(fields, "markdown").removeprefix("---\n")
    sep = "" if body.startswith("\n") else "\n"  # a line of its own, as most renderers expect
    return f"---\n{head}{block}{sep}{body}"


def merge_label(text: str, fields: Mapping[str, Any]) -> str:
    """
    *text* with exactly one ``AIGC`` mapping, *fields*, in its front matter.

    An existing front matter keeps every other line as it was (its label block — a top-level
    key whose name contains ``AIGC``, in any letter case — is replaced); a text without one
    gets a new front matter.

    Raises:
        FrontMatterError: the existing front matter is malformed (nothing is guessed).
    """
    found = split(text)
    if found is None:
        return prepend(text, fields)
    load(found.source)  # refuse to rewrite what cannot be read
    rest = _without_label(found.source)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    merged = rest + carrier_value(fields, "markdown").removeprefix("---\n").removesuffix("---\n")
    data = load(merged)
    if sum(1 for k in data if str(k).upper() == "AIGC") != 1:
        raise FrontMatterError("cannot merge the AIGC mapping into the front matter")
    return f"---\n{merged}---\n{found.body}"
