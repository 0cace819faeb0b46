"""
PySpark in local mode (local[2], Arrow on): verify_frame over ``binaryFile`` gives exactly the
records of verify_batch over the same files, in the Spark form of RECORD_SCHEMA.

One session for the module (Spark starts slowly). Spark's file sources skip zero-length files
(SPARK-26161), so an empty upload never reaches verify_frame: the tests assert that this is the
only difference.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel.adapters.engines import spark_schema, verify_frame
from aigclabel.adapters.files import verify_batch
from aigclabel.exceptions import MissingDependencyError
from aigclabel.keyring import Keyring

from tests.adapters.engines import INSTALL, KEYRING_TOML, N_FILES, by_path, samples, write_corpus
from tests.helpers import KEY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module", name="spark")
def _spark() -> Iterator[Any]:
    """A local[2] session for the module; the test fails (never skips) without PySpark or Java."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        pytest.fail(f"PySpark is not installed ({exc}): {INSTALL}")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail(f"Spark local mode needs Java 17+ (no java on PATH, no JAVA_HOME): {INSTALL}")
    # The Python workers must be this interpreter (the one with aigc-label installed).
    saved = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("aigclabel-engine-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "256")
        .config("spark.driver.extraJavaOptions", "-Dlog4j.rootLogger=ERROR")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module", name="corpus")
def _corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, bytes]]]:
    root = tmp_path_factory.mktemp("spark-corpus")
    # binaryFile reports paths as URIs (file:/...): the names verify_batch is given here too.
    return root, [(p.as_uri().replace("file:///", "file:/"), data) for p, data in write_corpus(root, N_FILES)]


def _rows(df: Any) -> list[dict[str, Any]]:
    assert df.schema == spark_schema()
    return [row.asDict(recursive=True) for row in df.collect()]


def test_spark_records_equal_verify_batch(spark: Any, corpus: tuple[Path, list[tuple[str, bytes]]]) -> None:
    """
    Every non-empty file read by ``binaryFile`` gives the record verify_batch gives for it:
    same paths, tier, status, exit code, error and every other column; the empty files
    (skipped by Spark itself) are the only ones missing.
    """
    root, files = corpus
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(root))

    got = by_path(_rows(verify_frame(df, key=KEY)))
    want = by_path(verify_batch(files, key=KEY))

    skipped = {path for path, data in files if not data}
    assert (len(skipped) > 0, sorted(set(want) - skipped), True) == (
        len(skipped) < N_FILES // 10,
        sorted(got),
        all(got[p] == want[p] for p in got),
    )
    assert {"intact", "tampered", "not_found", "error", "conflict"} <= {r["status"] for r in got.values()}
    assert {"confirmed", "suspected", "none"} <= {r["tier"] for r in got.values()}


def test_spark_frame_without_paths_detects_formats_from_bytes(spark: Any) -> None:
    """A frame with only a binary ``content`` column gives the records of bare bytes."""
    blobs = [b for b in samples().values() if b]
    df = spark.createDataFrame([(b,) for b in blobs], "content binary")

    got = _rows(verify_frame(df, key=KEY))

    key = repr
    assert sorted(map(key, verify_batch(blobs, key=KEY))) == sorted(map(key, got))


def test_spark_keys_reach_the_executors(spark: Any, tmp_path: Path) -> None:
    """
    A key, a broadcast key, a keyring (sent as TOML) and a keyring file all verify on the
    executors: a labeled text is intact with them, unverified without.
    """
    data = samples()["labeled.txt"]
    keyring_file = tmp_path / "keyring.toml"
    keyring_file.write_text(KEYRING_TOML, "utf-8")
    df = spark.createDataFrame([(f"x{i}.txt", data) for i in range(4)], "path string, content binary")
    broadcast = spark.sparkContext.broadcast(KEY)

    statuses = [
        {r["status"] for r in _rows(verify_frame(df, **kw))}
        for kw in (
            {},
            {"key": KEY},
            {"key": broadcast},
            {"keyring": Keyring.loads(KEYRING_TOML)},
            {"keyring_file": keyring_file},
        )
    ]

    assert [{"unverified"}, {"intact"}, {"intact"}, {"intact"}, {"intact"}] == statuses


def test_spark_frame_without_content_column_is_refused(spark: Any) -> None:
    """A frame without the content column is refused before any job runs."""
    df = spark.createDataFrame([("a.txt",)], "path string")

    with pytest.raises(ValueError, match="no 'content' column"):
        verify_frame(df)


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PySpark, verify_frame raises MissingDependencyError naming the ``spark`` extra."""
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)

    with pytest.raises(MissingDependencyError) as info:
        verify_frame(object())

    assert ("pyspark", "spark") == (info.value.package, info.value.extra)
