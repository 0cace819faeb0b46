"""
Verify received files at platform scale on an existing engine: Ray Data or Apache Spark.

Both map the pure :func:`aigclabel.adapters.files.verify_batch` over the engine's partitions
and return the flat records of :data:`~aigclabel.adapters.files.RECORD_SCHEMA`, one row per
file; an engine adds nothing and loses nothing (a broken file is a row with ``error`` set).

>>> from aigclabel.adapters.engines import verify_dataset, verify_paths   # Ray Data
>>> from aigclabel.adapters.engines import verify_frame, spark_schema     # PySpark

The engines are imported lazily: importing this package needs neither; calling a function
without its engine raises :class:`~aigclabel.exceptions.MissingDependencyError` naming the
extra (``aigc-label[ray]`` or ``aigc-label[spark]``).

Keys travel to the workers with the task: *key* and *public_key* inside the pickled closure,
a :class:`~aigclabel.keyring.Keyring` as its TOML text with secrets (a keyring itself is not
picklable) parsed once per worker process. See ``docs/engines.md`` for keeping secrets out of
the closure (a Spark broadcast, a keyring file present on every worker).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigclabel.adapters.files import RECORD_SCHEMA, verify_batch

if TYPE_CHECKING:
    from aigclabel.keyring import Keyring

__all__ = [
    "COLUMNS",
    "KeySource",
    "arrow_schema",
    "records_table",
    "spark_schema",
    "verify_dataset",
    "verify_frame",
    "verify_paths",
]

#: The record columns, in order.
COLUMNS: tuple[str, ...] = tuple(name for name, _ in RECORD_SCHEMA)


@dataclass(frozen=True, slots=True)
class KeySource:
    """
    The picklable verification settings a worker needs; resolved on the worker.

    Attributes:
        key: an HMAC secret or Ed25519 key (or a list of them), or an object with a
            ``value`` attribute holding one (a Spark ``Broadcast``), read on the worker.
        public_key: a producer's Ed25519 public key (or an object with ``value``).
        keyring_toml: a keyring as TOML with its secrets (sent in the task).
        keyring_file: the path of a keyring file present on every worker (nothing secret
            is sent).
        declared: the uploader declared the content AI-generated.
    """

    key: Any = None
    public_key: Any = None
    keyring_toml: str | None = None
    keyring_file: str | None = None
    declared: bool = False

    @classmethod
    def of(
        cls,
        *,
        key: Any = None,
        public_key: Any = None,
        keyring: Keyring | None = None,
        keyring_file: str | os.PathLike[str] | None = None,
        declared: bool = False,
    ) -> KeySource:
        """Settings from the driver's arguments (a keyring becomes TOML text)."""
        if keyring is not None and keyring_file is not None:
            raise ValueError("give keyring= or keyring_file=, not both")
        toml = keyring.to_toml(include_secrets=True) if keyring is not None else None
        path = os.fspath(keyring_file) if keyring_file is not None else None
        return cls(key, public_key, toml, path, declared)

    def verify(self, items: Iterable[tuple[str | None, bytes] | bytes]) -> Iterator[dict[str, Any]]:
        """:func:`verify_batch` of *items* with these settings (on the worker)."""
        return verify_batch(
            items,
            key=_value(self.key),
            public_key=_value(self.public_key),
            keyring=_keyring(self.keyring_toml, self.keyring_file),
            declared=self.declared,
        )


def _value(obj: Any) -> Any:
    # A Spark Broadcast (or anything shaped like one) is read on the worker; lists of keys pass.
    if obj is None or isinstance(obj, str | bytes | list | tuple):
        return obj
    return obj.value if hasattr(obj, "value") and hasattr(obj, "unpersist") else obj


@functools.lru_cache(maxsize=4)
def _keyring(toml: str | None, path: str | None) -> Keyring | None:
    """A keyring parsed once per worker process (from the task's TOML or a local file)."""
    from aigclabel.keyring import Keyring

    if toml is not None:
        return Keyring.loads(toml)
    if path is not None:
        return Keyring.load(path)
    return None


def _arrow_type(pa: Any, name: str) -> Any:
    if name.startswith("list<") and name.endswith(">"):
        return pa.list_(_arrow_type(pa, name[5:-1]))
    simple: dict[str, Callable[[], Any]] = {
        "string": pa.string,
        "large_string": pa.large_string,
        "int64": pa.int64,
        "int32": pa.int32,
        "int8": pa.int8,
        "bool": pa.bool_,
        "float64": pa.float64,
    }
    if name not in simple:
        raise TypeError(f"RECORD_SCHEMA type {name!r} has no Arrow mapping here")
    return simple[name]()


def arrow_schema(*, extra: str = "ray") -> Any:
    """
    :data:`RECORD_SCHEMA` as a ``pyarrow.Schema`` (every column nullable).

    Raises:
        MissingDependencyError: pyarrow is not installed (the message names *extra*).
        TypeError: a RECORD_SCHEMA type this module does not know (the schema grew).
    """
    pa = _pyarrow(extra)
    return pa.schema([pa.field(name, _arrow_type(pa, kind)) for name, kind in RECORD_SCHEMA])


def records_table(records: Iterable[dict[str, Any]], *, extra: str = "ray") -> Any:
    """Records as a ``pyarrow.Table`` of :func:`arrow_schema`."""
    pa = _pyarrow(extra)
    return pa.Table.from_pylist(list(records), schema=arrow_schema(extra=extra))


def _pyarrow(extra: str) -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        from aigclabel.exceptions import MissingDependencyError

        if extra == "spark":
            raise MissingDependencyError("pyarrow", "spark") from exc
        raise MissingDependencyError("pyarrow", "ray") from exc
    return pa


from .ray import verify_dataset, verify_paths  # noqa: E402  (the submodules import the helpers above)
from .spark import spark_schema, verify_frame  # noqa: E402
