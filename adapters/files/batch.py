"""
verify_batch(): the pure batch verifier (flat records for any engine); verify_tree(): every
supported file under a directory, on one machine.

Both give one flat :func:`record` per file (:data:`RECORD_SCHEMA`; ``verify_tree`` writes them
as JSON lines) and ``verify_tree`` a summary with counts by tier, errors and throughput. A
file that cannot be read (broken, hostile, over a cap) is reported with ``error`` and the
batch goes on. ``workers > 1`` verifies in a process pool; the lines are written in the same
(sorted path) order either way.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aigclabel.exceptions import MissingDependencyError
from aigclabel.verification import KeyInput, KeysArg, PublicKeysArg

from ..formats import SUFFIXES

if TYPE_CHECKING:
    from aigclabel.keyring import Keyring
    from aigclabel.watermark import WatermarkDetector
from .verify_file import FileVerdict, verify_bytes, verify_file

__all__ = ["RECORD_SCHEMA", "BatchSummary", "iter_files", "record", "verify_batch", "verify_tree"]


@dataclass(slots=True)
class BatchSummary:
    """
    Totals of one batch: files, bytes, counts by tier, errors, conflicts and throughput.
    """

    files: int = 0
    bytes: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    conflicts: int = 0
    damaged: int = 0
    seconds: float = 0.0
    error_files: list[str] = field(default_factory=list)

    @property
    def files_per_s(self) -> float:
        """Files verified per second."""
        return self.files / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        """Megabytes (2**20) read per second."""
        return self.bytes / 2**20 / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the totals and rates."""
        return {
            "files": self.files,
            "bytes": self.bytes,
            "by_tier": dict(self.by_tier),
            "errors": self.errors,
            "conflicts": self.conflicts,
            "damaged": self.damaged,
            "seconds": round(self.seconds, 4),
            "files_per_s": round(self.files_per_s, 1),
            "mb_per_s": round(self.mb_per_s, 2),
            "error_files": list(self.error_files),
        }

    def table(self) -> str:
        """A short human-readable summary table."""
        rows = [("files", str(self.files)), ("MB", f"{self.bytes / 2**20:.2f}")]
        rows += [
            (f"tier {t}", str(self.by_tier.get(t, 0))) for t in ("confirmed", "possible", "suspected", "none")
        ]
        rows += [("conflicts", str(self.conflicts)), ("damaged marks", str(self.damaged))]
        rows += [("errors", str(self.errors))]
        rows += [("files/s", f"{self.files_per_s:.1f}"), ("MB/s", f"{self.mb_per_s:.2f}")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v:>10}" for k, v in rows)


def iter_files(root: Path, *, recursive: bool = True) -> list[Path]:
    """
    The files a batch verifies, sorted: a single file, or the entries under *root* with a
    known suffix (hidden files and directories skipped, symbolic links not followed).

    The walk is iterative (a tree thousands of levels deep is walked, not a RecursionError),
    and entries that are not regular files (a FIFO named ``upload.txt``) are listed too:
    verifying them gives a per-file error instead of blocking.
    """
    if not root.is_dir():
        return [root]
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except OSError:
            out.append(folder)  # reported as an unreadable entry by the verifier
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(Path(entry.path))
                    continue
            except OSError:
                pass
            if Path(entry.name).suffix.lower() in SUFFIXES:
                out.append(Path(entry.path))
    return sorted(out)


def record(fv: FileVerdict, size: int) -> dict[str, Any]:
    """
    The flat record of one verdict (:data:`RECORD_SCHEMA`): scalars and lists of strings
    only, so that a batch becomes an Arrow table, a pandas frame or a Spark row as is.
    """
    meta = fv.metadata
    tv = fv.text_verdict
    key = tv.evidence.key if tv is not None else None
    return {
        "path": fv.path,
        "format": fv.format,
        "size": size,
        "tier": fv.tier,
        "label": fv.label,
        "status": fv.status,
        "exit_code": fv.exit_code,
        "text_status": tv.status if tv is not None else None,
        "producer": meta.content_producer if meta is not None else None,
        "produce_id": meta.produce_id if meta is not None else None,
        "propagator": meta.content_propagator if meta is not None else None,
        "propagate_id": meta.propagate_id if meta is not None else None,
        "metadata_where": fv.metadata_where,
        "key_id": getattr(key, "key_id", None) if key is not None else None,
        "explicit": [m.phrase for m in tv.evidence.explicit] if tv is not None else [],
        "conflicts": list(fv.conflicts),
        "findings": list(fv.findings),
        "error": fv.error,
    }


#: The columns of :func:`record` with their Arrow types (``size`` is the input's length in bytes).
RECORD_SCHEMA: tuple[tuple[str, str], ...] = (
    ("path", "string"),
    ("format", "string"),
    ("size", "int64"),
    ("tier", "string"),
    ("label", "string"),
    ("status", "string"),
    ("exit_code", "int8"),
    ("text_status", "string"),
    ("producer", "string"),
    ("produce_id", "string"),
    ("propagator", "string"),
    ("propagate_id", "string"),
    ("metadata_where", "string"),
    ("key_id", "string"),
    ("explicit", "list<string>"),
    ("conflicts", "list<string>"),
    ("findings", "list<string>"),
    ("error", "string"),
)


def verify_batch(
    items: Iterable[tuple[str | None, bytes] | bytes],
    *,
    key: KeysArg = None,
    public_key: PublicKeysArg = None,
    keyring: Keyring | None = None,
    declared: bool = False,
    watermark: WatermarkDetector | None = None,
) -> Iterator[dict[str, Any]]:
    """
    One flat :func:`record` per item, in order: pure (no file system, no process pool), so
    that any engine can map it over its partitions.

    An item is ``(filename or None, data)`` or bare ``data``. A bad item (hostile, broken,
    not bytes) yields a record with ``error`` set; the batch always completes. *watermark*:
    a statistical watermark detector for each item's text (see :func:`~aigclabel.verify`).
    """
    for item in items:
        name: str | None = None
        size = 0
        try:
            if isinstance(item, bytes | bytearray | memoryview):
                data = item
            elif isinstance(item, tuple) and len(item) == 2:
                name, data = item
            else:
                raise TypeError(f"an item is (filename, bytes) or bytes, not {type(item).__name__}")
            if isinstance(data, bytes | bytearray | memoryview):
                size = memoryview(data).nbytes
            fv = verify_bytes(
                data,
                name,
                key=key,
                public_key=public_key,
                keyring=keyring,
                declared=declared,
                watermark=watermark,
            )
        except Exception as exc:  # the batch must finish whatever one item does
            fv = FileVerdict(
                name if isinstance(name, str) else None, "unknown", error=f"{type(exc).__name__}: {exc}"
            )
        yield record(fv, size)


# A worker process's watermark detector, set once by the pool's initializer (it holds a whole
# tokenizer: sending it with every task would copy megabytes per file).
_worker_watermark: WatermarkDetector | None = None


def _set_worker_watermark(detector: WatermarkDetector | None) -> None:
    global _worker_watermark
    _worker_watermark = detector


def _one(
    args: tuple[str, Any, str | None, bool], watermark: WatermarkDetector | None = None
) -> dict[str, Any]:
    path, key, keyring_toml, declared = args
    try:
        size = os.lstat(path).st_size
    except OSError:
        size = 0
    try:
        keyring = _keyring(keyring_toml)
        detector = watermark if watermark is not None else _worker_watermark
        fv = verify_file(path, key=key, keyring=keyring, declared=declared, watermark=detector)
    except Exception as exc:  # the batch must finish whatever one file does
        fv = FileVerdict(path, "unknown", error=f"{type(exc).__name__}: {exc}")
    return record(fv, size)


@functools.lru_cache(maxsize=4)
def _keyring(toml: str | None) -> Keyring | None:
    """A keyring sent to a worker process as TOML (its keys are not picklable), parsed once."""
    if toml is None:
        return None
    from aigclabel.keyring import Keyring

    return Keyring.loads(toml)


def _rows(
    jobs: list[tuple[str, Any, str | None, bool]], workers: int, watermark: WatermarkDetector | None
) -> Iterator[dict[str, Any]]:
    if workers <= 1 or len(jobs) < 2:
        yield from (_one(job, watermark) for job in jobs)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_set_worker_watermark, initargs=(watermark,)
    ) as pool:
        yield from pool.map(_one, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 4))))


def _progress(rows: Iterator[dict[str, Any]], total: int, enabled: bool | None) -> Iterable[dict[str, Any]]:
    # None (the default) shows a bar on a terminal when tqdm is installed; True requires it.
    if enabled is None:
        enabled = sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None
    if not enabled:
        return rows
    try:
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError("tqdm", "files") from exc

    bar: Iterable[dict[str, Any]] = tqdm(rows, total=total, unit="file", file=sys.stderr, leave=False)
    return bar


def verify_tree(
    root: str | Path,
    *,
    recursive: bool = True,
    key: KeyInput | Sequence[KeyInput] | None = None,
    keyring: Keyring | None = None,
    declared: bool = False,
    jsonl: str | Path | IO[str] | None = None,
    progress: bool | None = None,
    workers: int = 1,
    watermark: WatermarkDetector | None = None,
) -> BatchSummary:
    """
    Verify every supported file under *root*; write one JSON line per file to *jsonl*.

    Args:
        jsonl: a path or a text file object; ``None`` writes no lines.
        progress: show a progress bar on stderr; ``None`` shows it only on a terminal and
            only when tqdm is installed.
        workers: verify in a process pool of this size when > 1.
        watermark: a statistical watermark detector for each file's text (see
            :func:`~aigclabel.verify`); a pool sends it to each worker once.

    Returns:
        A :class:`BatchSummary`. Unreadable files are counted in ``errors``; nothing raises
        for a bad file.

    Raises:
        MissingDependencyError: ``progress=True`` and tqdm is not installed (extra ``files``).
    """
    files = iter_files(Path(root), recursive=recursive)
    toml = keyring.to_toml(include_secrets=True) if keyring is not None else None
    jobs = [(str(p), key, toml, declared) for p in files]
    summary = BatchSummary()
    tiers: Counter[str] = Counter()
    start = time.perf_counter()
    with ExitStack() as stack:
        out: IO[str] | None
        if jsonl is None:
            out = None
        elif isinstance(jsonl, str | Path):
            out = stack.enter_context(Path(jsonl).open("w", encoding="utf-8"))
        else:
            out = jsonl
        for row in _progress(_rows(jobs, workers, watermark), len(jobs), progress):
            summary.files += 1
            summary.bytes += int(row["size"])
            tiers[row["tier"]] += 1
            if row["error"] is not None:
                summary.errors += 1
                summary.error_files.append(row["path"])
            if row["conflicts"]:
                summary.conflicts += 1
            elif row["status"] in ("tampered", "forged", "corrupt"):
                summary.damaged += 1
            if out is not None:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary.seconds = time.perf_counter() - start
    summary.by_tier = {t: tiers.get(t, 0) for t in ("confirmed", "possible", "suspected", "none")}
    return summary
