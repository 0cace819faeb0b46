"""
``aigclabel export INPUT --to docx|md|html|txt|pdf -o OUT``: label a Markdown or text file and
write it as a labeled file (a ``.txt`` also gets its label sidecar, ``OUT.aigc.json``).

The input is labeled with a policy built like ``aigclabel label`` (``--policy`` file, then
``AIGCLABEL_*`` variables, then flags); a leading YAML front matter is kept out of the labeled
body and merged into a Markdown output. Exit 0 on success, 3 on bad input (unreadable or
non-UTF-8 input, bad policy or key, a front matter that is not a YAML mapping, no CJK font
for a pdf, an unwritable output).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from aigclabel.exceptions import AIGCLabelError
from aigclabel.labeler import Labeler
from aigclabel.policy import LabelPolicy

from ._cli_io import BadInput, read_key, read_text
from .export import FORMATS, build_document, render
from .formats import txt

__all__ = ["add_export_command", "run_export"]

EXIT_OK = 0
EXIT_BAD_INPUT = 3


def add_export_command(subparsers: Any) -> None:
    """
    Add the ``export`` sub-command to an ``argparse`` sub-parsers object.
    """
    exp = subparsers.add_parser(
        "export", help="label a Markdown/text file and export it as md, docx, html, txt or pdf"
    )
    exp.add_argument("input", help="Markdown or text file (UTF-8), or - for stdin")
    exp.add_argument("--to", dest="to", required=True, choices=list(FORMATS), help="output format")
    exp.add_argument("-o", "--output", required=True, help="output file, or - for stdout")
    exp.add_argument("--policy", help="TOML policy file (AIGCLABEL_* variables and flags override it)")
    exp.add_argument("--producer", help="TC260 provider code (27 characters)")
    exp.add_argument("--key-file", help="file holding the HMAC secret (default: $AIGCLABEL_KEY)")
    exp.add_argument("--placement", choices=["start", "end", "middle", "start+end", "none"])
    exp.add_argument("--title", help="document title")


def _write(target: str, data: bytes, stdout: TextIO) -> None:
    if target == "-":
        if hasattr(stdout, "buffer"):
            stdout.flush()
            stdout.buffer.write(data)
            stdout.buffer.flush()
        else:
            stdout.write(data.decode("utf-8", "replace"))
        return
    try:
        Path(target).write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {target!r}: {exc.strerror}") from exc


def run_export(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    """
    Run ``aigclabel export``; return the exit code (0 written, 3 bad input).

    Errors are reported on standard error as ``aigclabel: error: …``.
    """
    import sys

    try:
        text = read_text(args.input, stdin)
        policy = LabelPolicy.load(
            args.policy, producer=args.producer, key=read_key(args.key_file), placement=args.placement
        )
        doc = build_document(text, args.to, labeler=Labeler(policy), title=args.title)
        _write(args.output, render(doc, args.to), stdout)
        if args.to == "txt" and args.output != "-":  # plain text carries its metadata label beside it
            _write(f"{args.output}{txt.SIDECAR_SUFFIX}", txt.sidecar(doc.metadata.to_dict("bare")), stdout)
    except (BadInput, AIGCLabelError) as exc:
        sys.stderr.write(f"aigclabel: error: {exc}\n")
        return EXIT_BAD_INPUT
    return EXIT_OK
