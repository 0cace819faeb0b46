"""
``aigclabel audit``: verify, query, export and purge the Art. 9 audit record store.

The store URL comes from ``--store`` or ``AIGCLABEL_AUDIT_STORE``; the key of an HMAC chain from
``--chain-key-file`` or ``AIGCLABEL_AUDIT_CHAIN_KEY`` (never printed; normalised like every key:
trailing line breaks dropped, surrounding whitespace refused).

``verify --anchor FILE`` also compares the chain with the signed anchors in FILE (a JSON-lines
mirror day file, or the mirror directory): records cut off the end, with the head row
rewritten to match, are found. ``verify --file EXPORT`` checks an exported JSON-lines file (or
the mirror directory) instead of a store, with no database.

Exit codes:

====  ==========================================================
0     done; for ``verify``: the chain is intact
2     ``verify``: the chain is broken (the first broken record is named)
3     bad input (malformed time, since after until; a chain key file that is missing, unreadable,
      not UTF-8 or empty; an unknown ``AIGCLABEL_*`` variable) or the store cannot be used
====  ==========================================================
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

from aigclabel.adapters.audit import (
    MIN_RETENTION_DAYS,
    Anchor,
    AuditStore,
    ChainReport,
    iter_jsonl,
    verify_chain,
)
from aigclabel.audit.records import RECORD_FIELDS, AuditRecord, parse_time
from aigclabel.exceptions import AIGCLabelError

from ._cli_io import read_key

__all__ = ["EXIT_BAD_INPUT", "EXIT_BROKEN", "EXIT_OK", "add_audit_commands", "run_audit"]

EXIT_OK = 0
EXIT_BROKEN = 2
EXIT_BAD_INPUT = 3

STORE_ENV = "AIGCLABEL_AUDIT_STORE"
CHAIN_KEY_ENV = "AIGCLABEL_AUDIT_CHAIN_KEY"


class _BadInput(Exception):
    pass


def add_audit_commands(subparsers: Any) -> None:
    """
    Add ``audit`` with its ``verify``, ``query``, ``export`` and ``purge`` subcommands to *subparsers*
    (the action returned by ``ArgumentParser.add_subparsers``).
    """
    audit = subparsers.add_parser("audit", help="verify, query, export or purge the audit record store")
    sub = audit.add_subparsers(dest="audit_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", help=f"SQLAlchemy URL of the store (default: ${STORE_ENV})")
        p.add_argument(
            "--chain-key-file", help=f"file holding the chain's HMAC key (default: ${CHAIN_KEY_ENV})"
        )

    ver = sub.add_parser("verify", help="prove the hash chain intact or name the first broken record")
    common(ver)
    ver.add_argument(
        "--anchor",
        metavar="FILE",
        action="append",
        help="JSON-lines file or mirror directory with signed anchors to compare with (repeatable)",
    )
    ver.add_argument(
        "--file",
        metavar="EXPORT",
        help="verify an exported JSON-lines file (or mirror directory) instead of a store",
    )

    qry = sub.add_parser("query", help="print the records of a user, a ProduceID or a time range")
    common(qry)
    qry.add_argument("--user", help="recipient user id")
    qry.add_argument("--produce-id", help="ProduceID of the content")
    qry.add_argument("--since", help="ISO 8601 time, inclusive (UTC when no offset is given)")
    qry.add_argument("--until", help="ISO 8601 time, exclusive (UTC when no offset is given)")
    qry.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", dest="out_format")
    qry.add_argument("-o", "--output", help="write to FILE instead of standard output")

    exp = sub.add_parser("export", help="write every record (for a regulator's request)")
    common(exp)
    exp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", dest="out_format")
    exp.add_argument("-o", "--output", help="write to FILE instead of standard output")

    pur = sub.add_parser("purge", help="delete records past retention; the chain stays verifiable")
    common(pur)
    pur.add_argument(
        "--retention-days",
        type=int,
        default=MIN_RETENTION_DAYS,
        help=f"keep records this many days (at least {MIN_RETENTION_DAYS}, the default)",
    )


def run_audit(args: argparse.Namespace, stdout: TextIO) -> int:
    """
    Run the parsed ``audit`` subcommand; return the exit code (see the module docstring).
    Errors go to standard error as ``aigclabel audit: error: …``.
    """
    try:
        return _run(args, stdout)
    except (_BadInput, AIGCLabelError, ValueError) as exc:
        sys.stderr.write(f"aigclabel audit: error: {exc}\n")
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace, stdout: TextIO) -> int:
    command = args.audit_command
    since = _time("--since", getattr(args, "since", None))
    until = _time("--until", getattr(args, "until", None))
    if since is not None and until is not None and since > until:
        raise _BadInput(f"--since ({since.isoformat()}) is after --until ({until.isoformat()})")
    anchors = _anchors(getattr(args, "anchor", None) or [])
    if command == "verify" and args.file:
        return _report(_verify_file(args.file, _chain_key(args.chain_key_file), anchors), stdout)
    url = args.store or os.environ.get(STORE_ENV)
    if not url:
        raise _BadInput(f"no audit store: pass --store URL or set {STORE_ENV}")
    key = _chain_key(args.chain_key_file)
    retention = args.retention_days if command == "purge" else MIN_RETENTION_DAYS
    with AuditStore.open(url, chain_key=key, retention_days=retention, create=False) as store:
        if command == "verify":
            return _report(store.verify(anchor=anchors), stdout)
        if command == "purge":
            purged = store.purge()
            if purged.deleted:
                stdout.write(
                    f"purged {purged.deleted} records through seq {purged.purged_through_seq} "
                    f"(older than {purged.cutoff.isoformat()}); checkpoint record {purged.checkpoint_seq}\n"
                )
            else:
                stdout.write(f"nothing to purge (no record older than {purged.cutoff.isoformat()})\n")
            return EXIT_OK
        if command == "query":
            records = store.query(user=args.user, produce_id=args.produce_id, since=since, until=until)
        else:
            records = store.query()
        with _output(args.output, stdout) as out:
            _write(records, args.out_format, out)
        return EXIT_OK


def _report(report: ChainReport, stdout: TextIO) -> int:
    if report.ok:
        stdout.write(f"audit chain intact: {report.records} records\n")
        return EXIT_OK
    stdout.write(
        f"audit chain BROKEN at record {report.first_broken_seq}: {report.reason} "
        f"({report.records} records verified before it)\n"
    )
    return EXIT_BROKEN


def _anchors(paths: list[str]) -> list[Anchor]:
    out: list[Anchor] = []
    for path in paths:
        try:
            out.extend(item for item in iter_jsonl(path) if isinstance(item, Anchor))
        except OSError as exc:
            raise _BadInput(f"cannot read --anchor {path!r}: {exc.strerror}") from exc
    if paths and not out:
        raise _BadInput(f"no anchors in {', '.join(paths)} (expected the JSON-lines audit mirror)")
    return out


def _verify_file(path: str, key: bytes | None, anchors: list[Anchor]) -> ChainReport:
    try:
        records = sorted(
            (item for item in iter_jsonl(path) if isinstance(item, AuditRecord)),
            key=lambda r: r.seq or 0,
        )
    except OSError as exc:
        raise _BadInput(f"cannot read --file {path!r}: {exc.strerror}") from exc
    # An export taken after a purge starts later: where it resumes must be confirmed by a
    # checkpoint record inside it.
    first = records[0] if records else None
    start = None
    if first is not None and first.seq is not None and first.seq > 1 and first.prev_hash is not None:
        start = (first.seq - 1, first.prev_hash)
    return verify_chain(records, key, anchors, start=start)


def _time(flag: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise _BadInput(
            f"{flag} {value!r} is not an ISO 8601 time (e.g. 2025-09-01 or 2025-09-01T08:00:00+08:00)"
        ) from None


def _chain_key(path: str | None) -> bytes | None:
    # The same normalisation as the policy's audit_chain_key, so that a file, the variable
    # and a TOML policy give the same key bytes.
    key = read_key(path, env=CHAIN_KEY_ENV, field="audit_chain_key")
    return None if key is None else key.encode("utf-8")


@contextmanager
def _output(path: str | None, stdout: TextIO) -> Iterator[TextIO]:
    if path is None:
        yield stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise _BadInput(f"cannot write {path!r}: {exc.strerror}") from exc
    with handle:
        yield handle


def _write(records: Iterable[AuditRecord], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for rec in records:
            out.write(json.dumps(rec.to_dict(), ensure_ascii=False, sort_keys=False) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RECORD_FIELDS)
    for rec in records:
        row = rec.to_dict()
        writer.writerow([_cell(row[name]) for name in RECORD_FIELDS])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
