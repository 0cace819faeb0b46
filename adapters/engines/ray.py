"""
Ray Data: verify a dataset of files with :func:`aigclabel.adapters.files.verify_batch`.

    import ray
    from aigclabel.adapters.engines import verify_paths

    ds = verify_paths(["s3://bucket/uploads/"], key=secret)   # lazy; nothing runs yet
    ds.write_parquet("s3://bucket/verdicts/")                 # one row per file

:func:`verify_dataset` maps over any dataset with a binary ``bytes`` column and an optional
``path`` column (the shape of ``ray.data.read_binary_files(..., include_paths=True)``); the
result has the columns and Arrow types of :data:`~aigclabel.adapters.files.RECORD_SCHEMA`.
Batches are handed over in Arrow format, so the file bytes are not copied into pandas.

Secrets: *key* and *public_key* are pickled with the mapped function and stored in Ray's
object store for the tasks; a keyring is sent as its TOML text. Use ``keyring_file=`` (a
file present on every node) to send nothing secret.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aigclabel.exceptions import MissingDependencyError

from ..formats import SUFFIXES
from . import KeySource, records_table

if TYPE_CHECKING:
    from aigclabel.keyring import Keyring

__all__ = ["DEFAULT_BATCH_SIZE", "verify_dataset", "verify_paths"]

#: Files per batch: small files verify in well under a millisecond each, so batches of this
#: size keep Ray's per-task overhead low while a partition still spreads over the workers.
DEFAULT_BATCH_SIZE = 256


def _ray_data() -> Any:
    try:
        import ray.data  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError("ray[data]", "ray") from exc
    return ray.data


def _verify_arrow(batch: Any, *, source: KeySource, bytes_col: str, path_col: str | None) -> Any:
    """One Arrow batch in, one Arrow table of records out (runs on a Ray worker)."""
    names = batch.column_names
    if bytes_col not in names:
        raise KeyError(f"the dataset has no {bytes_col!r} column (columns: {', '.join(names)})")
    data = batch.column(bytes_col).to_pylist()
    paths = batch.column(path_col).to_pylist() if path_col and path_col in names else [None] * len(data)
    return records_table(source.verify(zip(paths, data, strict=True)), extra="ray")


def verify_dataset(
    ds: Any,
    *,
    key: Any = None,
    public_key: Any = None,
    keyring: Keyring | None = None,
    keyring_file: str | os.PathLike[str] | None = None,
    declared: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    bytes_col: str = "bytes",
    path_col: str | None = "path",
    **map_args: Any,
) -> Any:
    """
    The records of every file of *ds*: a lazy ``ray.data.Dataset`` in RECORD_SCHEMA.

    Args:
        ds: a ``ray.data.Dataset`` with a binary *bytes_col* and, optionally, *path_col*.
        key, public_key, keyring, declared: as for :func:`~aigclabel.adapters.files.verify_batch`.
        keyring_file: a keyring file present on every worker node (read there, once per
            worker process), instead of *keyring*.
        batch_size: files per ``map_batches`` call.
        bytes_col, path_col: the input columns (*path_col* ``None`` or absent: no names,
            formats are then detected from the bytes alone).
        map_args: passed to ``Dataset.map_batches`` (``concurrency``, ``num_cpus``…).

    Returns:
        ``ds.map_batches(...)``: one row per input row, in RECORD_SCHEMA's columns.

    Raises:
        MissingDependencyError: Ray Data is not installed (extra ``ray``).
    """
    _ray_data()
    source = KeySource.of(
        key=key, public_key=public_key, keyring=keyring, keyring_file=keyring_file, declared=declared
    )
    fn = functools.partial(_verify_arrow, source=source, bytes_col=bytes_col, path_col=path_col)
    return ds.map_batches(fn, batch_format="pyarrow", batch_size=batch_size, zero_copy_batch=True, **map_args)


def verify_paths(
    paths: str | Sequence[str],
    *,
    key: Any = None,
    public_key: Any = None,
    keyring: Keyring | None = None,
    keyring_file: str | os.PathLike[str] | None = None,
    declared: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    all_files: bool = False,
    read_args: dict[str, Any] | None = None,
    **map_args: Any,
) -> Any:
    """
    ``ray.data.read_binary_files(paths, include_paths=True)`` then :func:`verify_dataset`.

    Args:
        paths: files or directories (local or any filesystem Ray reads).
        all_files: read every file; by default only the suffixes the verifier knows
            (``.md``, ``.docx``, ``.xlsx``, ``.pptx``, ``.html``, ``.txt``, ``.pdf``…),
            as :func:`~aigclabel.adapters.files.verify_tree` does.
        read_args: more arguments of ``read_binary_files`` (``filesystem``, ``override_num_blocks``…).
        map_args: passed to ``Dataset.map_batches``.

    Raises:
        MissingDependencyError: Ray Data is not installed (extra ``ray``).
    """
    rd = _ray_data()
    args = dict(read_args or {})
    if not all_files:
        args.setdefault("file_extensions", sorted(s.lstrip(".") for s in SUFFIXES))
    ds = rd.read_binary_files(paths, include_paths=True, **args)
    return verify_dataset(
        ds,
        key=key,
        public_key=public_key,
        keyring=keyring,
        keyring_file=keyring_file,
        declared=declared,
        batch_size=batch_size,
        **map_args,
    )
