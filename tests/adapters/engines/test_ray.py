"""
Ray Data in local mode (2 CPUs): verify_dataset / verify_paths give exactly the records of
verify_batch over the same files (nothing added, nothing lost), in RECORD_SCHEMA.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aigclabel.adapters.engines import arrow_schema, verify_dataset, verify_paths
from aigclabel.adapters.files import verify_batch
from aigclabel.exceptions import MissingDependencyError
from aigclabel.keyring import Keyring

from tests.adapters.engines import INSTALL, KEYRING_TOML, N_FILES, by_path, samples, write_corpus
from tests.helpers import KEY

# Ray's own modules warn about their dependencies (pydantic, pkg_resources…) on import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module", name="ray")
def _ray() -> Iterator[Any]:
    """A local Ray on 2 CPUs for the module; the test fails (never skips) without Ray Data."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        pytest.fail(f"Ray Data is not installed ({exc}): {INSTALL}")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=256 * 2**20,
    )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module", name="corpus")
def _corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, bytes]]]:
    root = tmp_path_factory.mktemp("ray-corpus")
    return root, [(str(p), data) for p, data in write_corpus(root, N_FILES)]


def _rows(ds: Any) -> list[dict[str, Any]]:
    table = ds.to_arrow_refs()
    import pyarrow as pa
    import ray

    out = pa.concat_tables(ray.get(table)) if table else arrow_schema().empty_table()
    assert out.schema.equals(arrow_schema())
    rows: list[dict[str, Any]] = out.to_pylist()
    return rows


def test_ray_records_equal_verify_batch(ray: Any, corpus: tuple[Path, list[tuple[str, bytes]]]) -> None:
    """
    Every file of a directory read by Ray gives the record verify_batch gives for it: same
    count, same paths, same tier, status, exit code, error and every other column.
    """
    root, files = corpus

    got = by_path(_rows(verify_paths([str(root)], key=KEY, batch_size=128)))
    want = by_path(verify_batch(files, key=KEY))

    tiers = Counter(r["tier"] for r in got.values())
    errors = sum(r["error"] is not None for r in got.values())
    assert (N_FILES, sorted(want), True) == (len(got), sorted(got), got == want)
    assert (True, True, True, True) == (
        tiers["confirmed"] > 0,
        tiers["suspected"] > 0,
        tiers["none"] > 0,
        errors >= N_FILES // 10,
    )
    assert {"intact", "tampered", "not_found", "error", "conflict"} <= {r["status"] for r in got.values()}


def test_ray_dataset_without_paths_detects_formats_from_bytes(ray: Any) -> None:
    """
    A dataset with only a ``bytes`` column (no names) gives the records of bare bytes, in order.
    """
    import pyarrow as pa

    blobs = list(samples().values())
    ds = ray.data.from_arrow(pa.table({"bytes": pa.array(blobs, pa.binary())}))

    got = _rows(verify_dataset(ds, key=KEY, batch_size=7))

    assert list(verify_batch(blobs, key=KEY)) == got


def test_ray_keys_reach_the_workers(ray: Any, tmp_path: Path) -> None:
    """
    The key, a keyring (sent as TOML) and a keyring file all verify on the workers: a
    labeled text is intact with them, unverified without.
    """
    data = samples()["labeled.txt"]
    keyring_file = tmp_path / "keyring.toml"
    keyring_file.write_text(KEYRING_TOML, "utf-8")
    ds = ray.data.from_items([{"path": f"x{i}.txt", "bytes": data} for i in range(4)])

    statuses = [
        {r["status"] for r in _rows(verify_dataset(ds, **kw))}
        for kw in (
            {},
            {"key": KEY},
            {"keyring": Keyring.loads(KEYRING_TOML)},
            {"keyring_file": keyring_file},
        )
    ]

    assert [{"unverified"}, {"intact"}, {"intact"}, {"intact"}] == statuses


def test_ray_dataset_without_bytes_column_fails_clearly(ray: Any) -> None:
    """A dataset without the bytes column is a task error naming the column."""
    ds = ray.data.from_items([{"blob": b"x"}])

    with pytest.raises(Exception, match="no 'bytes' column"):
        _rows(verify_dataset(ds))


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Ray Data the functions raise MissingDependencyError naming the ``ray`` extra."""
    monkeypatch.setitem(sys.modules, "ray.data", None)

    with pytest.raises(MissingDependencyError) as info:
        verify_paths(["/nonexistent"])

    assert ("ray[data]", "ray") == (info.value.package, info.value.extra)
