"""
PySpark: verify a DataFrame of files with :func:`aigclabel.adapters.files.verify_batch`.

    from aigclabel.adapters.engines import verify_frame

    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(root)
    verify_frame(files, key=secret).write.parquet(out)          # one row per file

:func:`verify_frame` runs ``mapInPandas`` over the content (and path) columns; the result
has :func:`spark_schema`, the Spark form of :data:`~aigclabel.adapters.files.RECORD_SCHEMA`
(``string`` → ``StringType``, ``int64`` → ``LongType``, ``int8`` → ``ByteType``,
``list<string>`` → ``ArrayType(StringType)``). Enable Arrow
(``spark.sql.execution.arrow.pyspark.enabled=true``) for the pandas exchange.

Secrets: *key* and *public_key* are pickled into the task closure sent to every executor; a
keyring is sent as its TOML text. To keep them out of the closure pass a broadcast
(``key=spark.sparkContext.broadcast(secret)``, read on the executor), or ``keyring_file=``,
a keyring file present on every executor (nothing secret is sent).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aigclabel.adapters.files import RECORD_SCHEMA
from aigclabel.exceptions import MissingDependencyError

from . import COLUMNS, KeySource

if TYPE_CHECKING:
    from aigclabel.keyring import Keyring

__all__ = ["spark_schema", "verify_frame"]


def _types() -> Any:
    try:
        from pyspark.sql import types  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError("pyspark", "spark") from exc
    return types


def _spark_type(t: Any, name: str) -> Any:
    if name.startswith("list<") and name.endswith(">"):
        return t.ArrayType(_spark_type(t, name[5:-1]), containsNull=True)
    simple = {
        "string": t.StringType,
        "large_string": t.StringType,
        "int64": t.LongType,
        "int32": t.IntegerType,
        "int8": t.ByteType,
        "bool": t.BooleanType,
        "float64": t.DoubleType,
    }
    if name not in simple:
        raise TypeError(f"RECORD_SCHEMA type {name!r} has no Spark mapping here")
    return simple[name]()


def spark_schema() -> Any:
    """
    :data:`RECORD_SCHEMA` as a ``pyspark.sql.types.StructType`` (every field nullable).

    Raises:
        MissingDependencyError: PySpark is not installed (extra ``spark``).
        TypeError: a RECORD_SCHEMA type this module does not know (the schema grew).
    """
    t = _types()
    return t.StructType([t.StructField(name, _spark_type(t, kind), True) for name, kind in RECORD_SCHEMA])


def _verify_pandas(
    frames: Iterator[Any], *, source: KeySource, content_col: str, path_col: str | None
) -> Iterator[Any]:
    """``mapInPandas`` body: frames of (content[, path]) in, frames of records out (executor)."""
    import pandas as pd  # type: ignore[import-not-found,import-untyped,unused-ignore]

    for frame in frames:
        data = frame[content_col].tolist()
        paths = frame[path_col].tolist() if path_col is not None else [None] * len(data)
        records = list(source.verify(zip(paths, data, strict=True)))
        out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
        # Typed columns even for an empty frame; None stays None in the text columns.
        yield out.astype({"size": "int64", "exit_code": "int8"})


def verify_frame(
    df: Any,
    *,
    content_col: str = "content",
    path_col: str | None = "path",
    key: Any = None,
    public_key: Any = None,
    keyring: Keyring | None = None,
    keyring_file: str | os.PathLike[str] | None = None,
    declared: bool = False,
) -> Any:
    """
    The records of every row of *df*: a lazy ``pyspark.sql.DataFrame`` of :func:`spark_schema`.

    Args:
        df: a DataFrame with a binary *content_col* and, optionally, a string *path_col*
            (``spark.read.format("binaryFile").load(...)`` has both, as ``content`` and
            ``path``; its paths are URIs such as ``file:/data/a.docx``, kept as they are).
        content_col, path_col: the input columns (*path_col* ``None`` or absent: no names,
            formats are then detected from the bytes alone).
        key, public_key: as for :func:`~aigclabel.adapters.files.verify_batch`, or a Spark
            ``Broadcast`` of one (read on the executor).
        keyring: sent to the executors as TOML with its secrets.
        keyring_file: a keyring file present on every executor, instead of *keyring*.
        declared: the uploader declared the content AI-generated.

    Raises:
        MissingDependencyError: PySpark is not installed (extra ``spark``).
        ValueError: *content_col* is not a column of *df*.
    """
    schema = spark_schema()
    if content_col not in df.columns:
        raise ValueError(f"the DataFrame has no {content_col!r} column (columns: {', '.join(df.columns)})")
    if path_col is not None and path_col not in df.columns:
        path_col = None
    source = KeySource.of(
        key=key, public_key=public_key, keyring=keyring, keyring_file=keyring_file, declared=declared
    )
    cols = [content_col] if path_col is None else [content_col, path_col]
    fn = functools.partial(_verify_pandas, source=source, content_col=content_col, path_col=path_col)
    return df.select(*cols).mapInPandas(fn, schema=schema)
