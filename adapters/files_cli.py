"""
The file commands of ``aigclabel``: ``verify`` of standard input, files and directories,
and ``propagate FILE``.

Every input, whatever its format or whether it came on standard input, is classified by the
one verdict table (:mod:`aigclabel.tiers`); the exit codes are its: 0 labeled, 1 no label,
2 tampered, forged or a conflict between channels, 3 bad input or configuration (a missing,
unreadable, non-UTF-8 or empty key file, a bad ``AIGCLABEL_KEY``, a bad keyring).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aigclabel.exceptions import AIGCLabelError, MissingDependencyError

from ._cli_io import BadInput, read_key, read_stdin
from .files import FileVerdict, PropagationError, propagate_file, verify_bytes, verify_file, verify_tree

if TYPE_CHECKING:
    from aigclabel.keyring import Keyring
    from aigclabel.watermark import Tokenizer, WatermarkDetector

__all__ = ["add_files_commands", "load_keyring", "run_files", "summary", "verify_path"]


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
    prop.add_argument("--keyring", help="TOML keyring of producers' keys, to check in-text marks")
    prop.add_argument("-o", "--output", required=True, help="where to write the propagated file")
    prop.add_argument("--json", action="store_true", help="print the verdict of the written file as JSON")


def load_keyring(path: str | None) -> Keyring | None:
    """
    The keyring at *path* (``--keyring``), or ``None``.

    Raises:
        KeyringError: the file is missing or holds a bad entry (a configuration error, exit 3).
    """
    if path is None:
        return None
    from aigclabel.keyring import Keyring

    return Keyring.load(path)


def summary(fv: FileVerdict) -> str:
    """The human-readable verdict of one input: tier, status, labels, channels, conflicts."""
    lines = [f"file: {fv.path or '-'} ({fv.format})", f"tier: {fv.tier} (Label {fv.label or '-'})"]
    if fv.error is not None:
        return "\n".join([*lines, f"error: {fv.error}"])
    lines.append(f"status: {fv.status}")
    if fv.metadata is not None:
        m = fv.metadata
        lines.append(f"implicit label ({fv.metadata_where}): producer {m.content_producer or '-'}, "
                     f"produce id {m.produce_id or '-'}, propagator {m.content_propagator or '-'}, "
                     f"Label {m.label}")  # fmt: skip
    tv = fv.text_verdict
    if tv is not None:
        ev = tv.evidence
        lines.append(f"in-text status: {tv.status}")
        for ch in (ev.cf, ev.mn):
            if ch.runs:
                lines.append(
                    f"channel {ch.channel}: {ch.packets} packets ({ch.valid} valid, {ch.forged} forged, "
                    f"{ch.unverified} unverified), {ch.seals} seals, {ch.corrupt} corrupt runs"
                )
        if ev.seal is not None:
            auth = {True: "authentic", False: "NOT authentic", None: "not checked (no key)"}[
                ev.seal.authentic
            ]
            lines.append(f"seal: {ev.seal.algorithm}, {auth}, text {ev.seal.binding}")
        if ev.key is not None:
            named = getattr(ev.key, "key_id", None)
            lines.append(
                f"key: {ev.key.algorithm} slot {ev.key.slot}"
                + (f", keyring entry {named!r}" if named else "")
            )
        lines.extend(f"explicit label: {e.phrase!r} at the {e.position}" for e in ev.explicit[:3])
        lines.extend(f"note: {n}" for n in ev.notes)
    lines.extend(f"message {m.index} ({m.role}): {m.verdict.status}" for m in fv.messages)
    lines.extend(f"conflict: {c}" for c in fv.conflicts)
    lines.extend(f"finding: {f}" for f in fv.findings)
    lines.extend(f"note: {n}" for n in fv.notes)
    return "\n".join(lines)


def watermark_detector(args: argparse.Namespace, key: str | None) -> WatermarkDetector | None:
    """
    The statistical watermark detector ``--watermark`` asks for, or ``None``.

    Raises:
        BadInput: no key, a bad slot, or a tokenizer that cannot be loaded.
        MissingDependencyError: numpy (extra ``[watermark]``) or, for a tokenizer.json, ``tokenizers``
            (extra ``[transformers]``) is missing.
    """
    scheme = getattr(args, "watermark", None)
    if scheme is None:
        return None
    if key is None:
        raise BadInput("--watermark needs the producer's key: --key-file or $AIGCLABEL_KEY")
    slot = getattr(args, "watermark_slot", 0)
    if not 0 <= slot <= 3:
        raise BadInput(f"--watermark-slot must be 0-3, not {slot}")
    from aigclabel.watermark import WatermarkDetector, derive_profile

    tokenizer = _tokenizer(getattr(args, "tokenizer", "o200k_base"))
    profile = derive_profile(key, scheme=scheme, vocab_size=tokenizer.vocab_size, slot=slot)
    return WatermarkDetector([profile], tokenizer)


def _tokenizer(name: str) -> Tokenizer:
    from aigclabel.watermark import hf_tokenizer, tiktoken_tokenizer

    if name in ("o200k_base", "cl100k_base"):
        return tiktoken_tokenizer(name)
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError as exc:
        raise MissingDependencyError("tokenizers", "transformers") from exc
    try:
        return hf_tokenizer(HFTokenizer.from_file(name))
    except Exception as exc:  # the tokenizers library raises its own exception types
        raise BadInput(f"cannot load the tokenizer {name!r}: {exc}") from None


def verify_path(args: argparse.Namespace, stdin: TextIO | None, stdout: TextIO) -> int:
    """
    Run ``verify`` on a directory (``--recursive --jsonl OUT``), a file or standard input:
    every input goes through the one verdict table (``aigclabel.tiers``).

    Raises:
        BadInput: the input or the ``--jsonl`` file cannot be read or written.
        PolicyKeyError, KeyringError: the key file, ``AIGCLABEL_KEY`` or the keyring is unusable.
    """
    source = getattr(args, "file", "-")
    key = read_key(getattr(args, "key_file", None))
    keyring = load_keyring(getattr(args, "keyring", None))
    public_key = getattr(args, "public_key", None)
    declared = bool(getattr(args, "declared", False))
    as_json = bool(getattr(args, "json", False))
    path = Path(source)
    watermark = watermark_detector(args, key)
    if source != "-" and path.is_dir():
        jsonl = getattr(args, "jsonl", None)
        try:
            totals = verify_tree(
                path,
                recursive=bool(getattr(args, "recursive", False)),
                key=key,
                keyring=keyring,
                declared=declared,
                jsonl=jsonl or (stdout if as_json else None),
                watermark=watermark,
            )
        except OSError as exc:  # the --jsonl file cannot be written (files are reported per row)
            raise BadInput(f"cannot write {jsonl!r}: {exc.strerror or type(exc).__name__}") from exc
        stream = sys.stderr if as_json and not jsonl else stdout
        stream.write(totals.table() + "\n")
        if totals.errors:
            return 3
        if totals.conflicts or totals.damaged:
            return 2
        return 1 if totals.by_tier.get("none", 0) == totals.files else 0
    if source == "-":
        data = read_stdin(stdin)
        fv = verify_bytes(
            data,
            None,
            key=key,
            public_key=public_key,
            keyring=keyring,
            declared=declared,
            watermark=watermark,
        )
    else:
        if not path.exists():
            raise BadInput(f"cannot read {source!r}: No such file or directory")
        fv = verify_file(
            path, key=key, public_key=public_key, keyring=keyring, declared=declared, watermark=watermark
        )
    if as_json:
        stdout.write(json.dumps(fv.to_dict(), ensure_ascii=False) + "\n")
    else:
        stdout.write(summary(fv) + "\n")
    if fv.error is not None:
        sys.stderr.write(f"aigclabel: error: {fv.error}\n")
    return fv.exit_code


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
            keyring=load_keyring(args.keyring),
        )
    except (PropagationError, AIGCLabelError, OSError) as exc:
        sys.stderr.write(f"aigclabel: error: {exc}\n")
        return 3
    if args.json:
        stdout.write(json.dumps(fv.to_dict(), ensure_ascii=False) + "\n")
    else:
        stdout.write(summary(fv) + "\n")
    return 0
