"""
The file commands of ``aigclabel``: ``propagate FILE`` and ``verify`` of files and directories.

``verify`` calls :func:`verify_path` first: a directory (``--recursive --jsonl OUT``) or a
docx, pdf, html or md file is handled here; plain text and stdin return ``None`` so the
text path runs. Exit codes are those of ``aigclabel verify``: 0 labeled and intact or
valid, 1 no label, 2 tampered, forged or a conflict between channels, 3 bad input (including
a missing, unreadable, non-UTF-8 or empty key file or a bad ``AIGCLABEL_KEY``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from aigclabel.exceptions import AIGCLabelError

from ._cli_io import BadInput, read_key
from .files import FileVerdict, PropagationError, propagate_file, verify_file, verify_tree

__all__ = ["add_files_commands", "run_files", "verify_path"]

_FILE_SUFFIXES = frozenset({".docx", ".pdf", ".html", ".htm", ".xhtml", ".md", ".markdown"})


def add_files_commands(subparsers: Any) -> None:
    """
    Add ``propagate`` to the ``aigclabel`` sub-command parsers.
    """
    prop = subparsers.add_parser("propagate", help="add a platform's propagation elements to a file (Art. 6)")
    prop.add_argument("file", help="docx, md, html, txt or pdf file")
    prop.add_argument("--propagator", required=True, help="the platform's TC260 code (27 characters)")
    prop.add_argument("--propagate-id", help="the platform's content ID (default: a new UUID)")
    prop.add_argument(
        "--declared", action="store_true", help="the uploader declared the content AI-generated"
    )
    prop.add_argument(
        "--key-file", help="file holding the platform secret for ReservedCode2 (default: $AIGCLABEL_KEY)"
    )
    prop.add_argument("-o", "--output", required=True, help="where to write the propagated file")
    prop.add_argument("--json", action="store_true", help="print the verdict of the written file as JSON")


def exit_code(fv: FileVerdict) -> int:
    """
    The ``verify`` exit code of one file verdict.
    """
    if fv.error is not None:
        return 3
    tv = fv.text_verdict
    if fv.conflicts or (tv is not None and tv.status in ("tampered", "forged", "corrupt")):
        return 2
    return 1 if fv.tier == "none" else 0


def _summary(fv: FileVerdict) -> str:
    lines = [f"file: {fv.path} ({fv.format})", f"tier: {fv.tier} (Label {fv.label or '-'})"]
    if fv.error is not None:
        return "\n".join([*lines, f"error: {fv.error}"])
    if fv.metadata is not None:
        m = fv.metadata
        lines.append(f"metadata ({fv.metadata_where}): producer {m.content_producer or '-'}, "
                     f"propagator {m.content_propagator or '-'}, Label {m.label}")  # fmt: skip
    if fv.text_verdict is not None:
        lines.append(f"in-text status: {fv.text_verdict.status}")
        lines.extend(f"explicit label: {e.phrase!r}" for e in fv.text_verdict.evidence.explicit[:3])
    lines.extend(f"conflict: {c}" for c in fv.conflicts)
    lines.extend(f"note: {n}" for n in fv.notes)
    return "\n".join(lines)


def verify_path(args: argparse.Namespace, stdout: TextIO) -> int | None:
    """
    Handle ``verify`` for a directory or a docx/pdf/html/md file; ``None`` for text, stdin
    and a path that does not exist (the text reader reports it).

    Raises:
        BadInput: the ``--jsonl`` file cannot be written.
        PolicyKeyError: the key file or ``AIGCLABEL_KEY`` is unusable.
    """
    source = getattr(args, "file", "-")
    path = Path(source)
    if source == "-" or not path.exists():  # stdin, or a missing path the text reader reports
        return None
    key = read_key(getattr(args, "key_file", None))
    declared = bool(getattr(args, "declared", False))
    if path.is_dir():
        jsonl = getattr(args, "jsonl", None)
        try:
            summary = verify_tree(
                path,
                recursive=bool(getattr(args, "recursive", False)),
                key=key,
                declared=declared,
                jsonl=jsonl or (stdout if getattr(args, "json", False) else None),
            )
        except OSError as exc:  # the --jsonl file cannot be written (files are reported per row)
            raise BadInput(f"cannot write {jsonl!r}: {exc.strerror or type(exc).__name__}") from exc
        stream = sys.stderr if getattr(args, "json", False) and not getattr(args, "jsonl", None) else stdout
        stream.write(summary.table() + "\n")
        if summary.errors:
            return 3
        if summary.conflicts:
            return 2
        return 1 if summary.by_tier.get("none", 0) == summary.files else 0
    if path.suffix.lower() not in _FILE_SUFFIXES:
        return None
    fv = verify_file(path, key=key, public_key=getattr(args, "public_key", None), declared=declared)
    if getattr(args, "json", False):
        stdout.write(json.dumps(fv.to_dict(), ensure_ascii=False) + "\n")
    else:
        stdout.write(_summary(fv) + "\n")
    return exit_code(fv)


def run_files(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    """
    Run ``propagate``; return the exit code (0 written, 3 bad input or unreadable file).
    """
    del stdin
    try:
        fv = propagate_file(
            args.file,
            args.output,
            propagator=args.propagator,
            propagate_id=args.propagate_id,
            declared=args.declared,
            key=read_key(args.key_file),
        )
    except (PropagationError, AIGCLabelError, OSError) as exc:
        sys.stderr.write(f"aigclabel: error: {exc}\n")
        return 3
    if args.json:
        stdout.write(json.dumps(fv.to_dict(), ensure_ascii=False) + "\n")
    else:
        stdout.write(_summary(fv) + "\n")
    return 0
