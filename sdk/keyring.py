"""
A platform's keyring: for each provider (TC260 producer code), the keys that verify its marks.

A platform receives text from many producers. It holds their Ed25519 public keys, and sometimes a
shared HMAC secret by agreement, each bound to the key slot (0–3) the producer's marks carry. A
:class:`Keyring` lists them; ``verify(text, keyring=...)`` picks the keys of the producer a full
seal names and reports which key matched (``evidence.key.key_id``)::

    [[producer]]
    code = "001191110102MAD55U9H0F10002"
    name = "Example AI Co."

    [[producer.key]]
    id = "2026-q4"
    slot = 1
    public_key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"

    [[producer.key]]
    id = "2026-q3"
    slot = 0
    hmac_secret_env = "VENDOR_X_SECRET"
    retired = true

The schema, the rotation procedure and the security notes are in ``docs/keyring.md``.
Secrets never appear in a repr or an error message.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .exceptions import AIGCLabelError, KeyMaterialError, ProducerCodeError
from .keymaterial import producer_secret
from .marks.keys import load_public_key
from .producer import validate_producer_code

__all__ = ["Keyring", "KeyringEntry", "KeyringError"]

Algorithm = Literal["HS256", "Ed25519"]

#: The settings of one ``[[producer]]`` table and of one ``[[producer.key]]`` table.
PRODUCER_FIELDS = ("code", "name", "key")
KEY_FIELDS = (
    "id",
    "slot",
    "hmac_secret",
    "hmac_secret_file",
    "hmac_secret_env",
    "public_key",
    "public_key_file",
    "retired",
    "not_after",
)
#: Exactly one of these gives a key's material.
MATERIAL_FIELDS = ("hmac_secret", "hmac_secret_file", "hmac_secret_env", "public_key", "public_key_file")
_MAX_KEY_FILE = 64 * 1024  # a key file is a line or a PEM document, never more


class KeyringError(AIGCLabelError, ValueError):
    """
    A keyring file, table or entry cannot be used.

    The message names the file, the producer and the key (``keyring 'platform.toml': producer
    '0011…', key '2026-q3': …``) and what to change; it never contains a secret.

    Attributes:
        path: the keyring file, or ``None`` for a document given as text or entries built in code.
        producer: the producer code of the offending entry, when known.
        key_id: the ``id`` of the offending key, when known.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        producer: str | None = None,
        key_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.producer = producer
        self.key_id = key_id


@dataclass(frozen=True, slots=True)
class KeyringEntry:
    """
    One key of one producer.

    Attributes:
        producer: the producer's TC260 provider code (27 characters).
        key_id: a name for the key, unique within the producer (``"2026-q4"``); the verdict
            reports it in ``evidence.key.key_id``.
        slot: the key slot (0–3) the producer's marks made with this key carry; ``None`` tries
            the key for every slot.
        algorithm: ``"HS256"`` (a shared HMAC secret) or ``"Ed25519"`` (a public key).
        material: the HMAC secret or the Ed25519 public key, given as text (a secret; hex or PEM
            for a public key), bytes or an ``Ed25519PublicKey``; checked on construction and
            stored as normalised ``bytes`` (HS256) or an ``Ed25519PublicKey``. Never shown in a repr.
        not_after: the last day the producer signs with this key; after it the key is reported
            as retired (it still verifies).
        retired: the producer no longer signs with this key; it still verifies, and a verdict
            that it decided carries the note ``matched retired key <id>``.

    Raises:
        KeyringError: a bad producer code, key id, slot or key material (a weak or example HMAC
            secret included: a keyring vouches for its keys).

    .. versionadded:: 0.2.0
    """

    producer: str
    key_id: str
    slot: int | None
    algorithm: Algorithm
    material: str | bytes | Ed25519PublicKey = field(repr=False)
    not_after: _dt.date | None = None
    retired: bool = False

    def __post_init__(self) -> None:
        where = f"producer {self.producer!r}, key {self.key_id!r}"
        try:
            validate_producer_code(self.producer, field="producer")
        except ProducerCodeError as exc:
            raise KeyringError(f"key {self.key_id!r}: {exc}", producer=str(self.producer)) from None
        if not isinstance(self.key_id, str) or not self.key_id.strip():
            raise KeyringError(
                f"producer {self.producer!r}: key id must be a non-empty string, got {self.key_id!r}",
                producer=self.producer,
            )
        if self.slot is not None and (
            isinstance(self.slot, bool) or not isinstance(self.slot, int) or not 0 <= self.slot <= 3
        ):
            raise KeyringError(
                f"{where}: slot is a key slot 0-3 (or omitted to try the key for every slot), "
                f"got {self.slot!r}",
                producer=self.producer,
                key_id=self.key_id,
            )
        if self.not_after is not None and (
            not isinstance(self.not_after, _dt.date) or isinstance(self.not_after, _dt.datetime)
        ):
            raise KeyringError(
                f"{where}: not_after is a date (not_after = 2026-12-31), got {self.not_after!r}",
                producer=self.producer,
                key_id=self.key_id,
            )
        if not isinstance(self.retired, bool):
            raise KeyringError(
                f"{where}: retired is true or false, got {self.retired!r}",
                producer=self.producer,
                key_id=self.key_id,
            )
        material: bytes | Ed25519PublicKey
        try:
            if self.algorithm == "HS256":
                if not isinstance(self.material, str | bytes):
                    raise KeyMaterialError(
                        f"{where}: an HS256 key is an HMAC secret (str or bytes), "
                        f"not {type(self.material).__name__}"
                    )
                material = producer_secret(self.material, field=f"{where}: hmac_secret")
            elif self.algorithm == "Ed25519":
                if not isinstance(self.material, str | bytes | Ed25519PublicKey):
                    raise KeyMaterialError(
                        f"{where}: an Ed25519 key is a public key (hex, PEM, raw bytes or "
                        f"Ed25519PublicKey), not {type(self.material).__name__}"
                    )
                material = load_public_key(self.material, field=f"{where}: public_key")
            else:
                raise KeyMaterialError(f"{where}: algorithm is 'HS256' or 'Ed25519', got {self.algorithm!r}")
        except KeyMaterialError as exc:
            raise KeyringError(str(exc), producer=self.producer, key_id=self.key_id) from None
        object.__setattr__(self, "material", material)

    def is_retired(self, today: _dt.date | None = None) -> bool:
        """
        Whether the producer no longer signs with this key: ``retired``, or *today* (UTC by
        default) is after ``not_after``.
        """
        if self.retired:
            return True
        if self.not_after is None:
            return False
        return (today or _dt.datetime.now(_dt.UTC).date()) > self.not_after

    @property
    def public_key_hex(self) -> str | None:
        """
        The raw Ed25519 public key as 64 hex characters (``None`` for an HMAC secret).
        """
        if isinstance(self.material, Ed25519PublicKey):
            raw = self.material.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return raw.hex()
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyringEntry):
            return NotImplemented
        return (
            self.producer,
            self.key_id,
            self.slot,
            self.algorithm,
            self._material_bytes(),
            self.not_after,
            self.retired,
        ) == (
            other.producer,
            other.key_id,
            other.slot,
            other.algorithm,
            other._material_bytes(),
            other.not_after,
            other.retired,
        )

    def __hash__(self) -> int:
        return hash((self.producer, self.key_id, self.slot, self.algorithm))

    def _material_bytes(self) -> bytes:
        if isinstance(self.material, Ed25519PublicKey):
            return self.material.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return self.material.encode() if isinstance(self.material, str) else self.material


class Keyring:
    """
    An immutable set of producers' verifying keys (see :class:`KeyringEntry`).

    Build one with :meth:`load` (a TOML file), :meth:`loads` (TOML text) or :meth:`from_entries`;
    pass it to ``verify(text, keyring=...)``. Entries keep their order: within a producer the
    keys are tried in the order listed.

    .. versionadded:: 0.2.0
    """

    __slots__ = ("_by_producer", "_entries", "_names")

    def __init__(
        self, entries: Iterable[KeyringEntry] = (), *, names: Mapping[str, str] | None = None
    ) -> None:
        self._entries: tuple[KeyringEntry, ...] = tuple(entries)
        by_producer: dict[str, list[KeyringEntry]] = {}
        for entry in self._entries:
            if not isinstance(entry, KeyringEntry):
                raise KeyringError(f"a keyring holds KeyringEntry objects, not {type(entry).__name__}")
            same = by_producer.setdefault(entry.producer, [])
            if any(e.key_id == entry.key_id for e in same):
                raise KeyringError(
                    f"producer {entry.producer!r}: key id {entry.key_id!r} appears twice; "
                    "give every key of a producer its own id",
                    producer=entry.producer,
                    key_id=entry.key_id,
                )
            same.append(entry)
        self._by_producer = {code: tuple(keys) for code, keys in by_producer.items()}
        # Names of producers without keys would not survive a round trip: only keyed ones are kept.
        self._names = {code: str(name) for code, name in (names or {}).items() if code in self._by_producer}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_entries(
        cls, entries: Iterable[KeyringEntry], *, names: Mapping[str, str] | None = None
    ) -> Keyring:
        """
        A keyring of *entries*; *names* maps producer codes to display names for reports.

        Raises:
            KeyringError: two entries of one producer share a key id.
        """
        return cls(entries, names=names)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Keyring:
        """
        Read a keyring TOML file (schema: ``docs/keyring.md``).

        Relative ``hmac_secret_file`` and ``public_key_file`` paths are relative to the file's
        folder; ``hmac_secret_env`` names are looked up in *environ* (default ``os.environ``).

        Raises:
            KeyringError: the file cannot be read, is not TOML, or an entry is invalid; the
                message names the file and the entry.
        """
        where = os.fspath(path)
        problem: str
        try:
            with Path(path).open("rb") as fh:
                data = fh.read()
        except OSError as exc:
            problem = f"cannot be read: {exc.strerror or exc}"
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                problem = f"is not UTF-8 (TOML files are UTF-8): {exc.reason} at byte {exc.start}"
            else:
                return cls._parse(text, where, Path(path).resolve().parent, environ)
        raise KeyringError(f"keyring {where!r} {problem}", path=where)

    @classmethod
    def loads(
        cls,
        text: str,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Keyring:
        """
        Read a keyring from TOML text (schema: ``docs/keyring.md``).

        Relative key file paths are relative to *base_dir* (default: the working directory).

        Raises:
            KeyringError: the text is not TOML or an entry is invalid.
        """
        return cls._parse(text, None, Path(base_dir) if base_dir is not None else Path.cwd(), environ)

    @classmethod
    def _parse(cls, text: str, path: str | None, base: Path, environ: Mapping[str, str] | None) -> Keyring:
        import tomllib  # only loaders pay for it

        where = f"keyring {path!r}" if path is not None else "keyring"
        problem = ""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # Raised outside the handler: the exception may keep the document (secrets included).
            problem = f"{where} is not valid TOML: {exc}"
        if problem:
            raise KeyringError(problem, path=path)
        env = os.environ if environ is None else environ
        _unknown(doc, ("producer",), where, path, what="top-level setting")
        producers = doc.get("producer", [])
        if not isinstance(producers, list) or not all(isinstance(p, dict) for p in producers):
            raise KeyringError(
                f"{where}: `producer` is an array of tables: write each producer as [[producer]]", path=path
            )
        entries: list[KeyringEntry] = []
        names: dict[str, str] = {}
        seen: dict[str, int] = {}
        for n, table in enumerate(producers, 1):
            entries.extend(_producer_entries(table, n, where, path, base, env, seen, names))
        if not entries:
            raise KeyringError(
                f"{where} lists no keys: add a [[producer]] table with a code and [[producer.key]] tables",
                path=path,
            )
        try:
            return cls(entries, names=names)
        except KeyringError as exc:
            raise KeyringError(
                f"{where}: {exc}", path=path, producer=exc.producer, key_id=exc.key_id
            ) from None

    # -- reading ------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[KeyringEntry, ...]:
        """
        Every entry, in order.
        """
        return self._entries

    @property
    def producers(self) -> tuple[str, ...]:
        """
        The producer codes that have keys, in order of first appearance.
        """
        return tuple(self._by_producer)

    def for_producer(self, producer: str) -> tuple[KeyringEntry, ...]:
        """
        The keys of *producer*, in order (empty when the keyring has none).
        """
        return self._by_producer.get(producer, ())

    def name_of(self, producer: str) -> str | None:
        """
        The display name given for *producer* (``name = ...``), or ``None``.
        """
        return self._names.get(producer)

    def __contains__(self, producer: object) -> bool:
        return producer in self._by_producer

    def __iter__(self) -> Iterator[KeyringEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Keyring):
            return NotImplemented
        return (self._entries, self._names) == (other._entries, other._names)

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        hs = sum(1 for e in self._entries if e.algorithm == "HS256")
        return f"Keyring(producers={len(self._by_producer)}, hmac={hs}, ed25519={len(self._entries) - hs})"

    # -- writing ------------------------------------------------------------------------------

    def to_toml(self, *, include_secrets: bool = False) -> str:
        """
        The keyring as a TOML document that :meth:`loads` reads back to an equal keyring.

        Public keys are written as hex. HMAC secrets are written inline only with
        *include_secrets* (the document then is a secret: keep it like a key file).

        Raises:
            KeyringError: the keyring holds HMAC secrets and *include_secrets* is false.
        """
        if not include_secrets and any(e.algorithm == "HS256" for e in self._entries):
            raise KeyringError(
                "this keyring holds HMAC secrets: pass include_secrets=True to write them into the "
                "document (then store it like a key file), or keep them in hmac_secret_env / "
                "hmac_secret_file references"
            )
        out: list[str] = []
        for code, keys in self._by_producer.items():
            out.append("[[producer]]")
            out.append(f"code = {_toml_str(code)}")
            if code in self._names:
                out.append(f"name = {_toml_str(self._names[code])}")
            for e in keys:
                out.append("")
                out.append("[[producer.key]]")
                out.append(f"id = {_toml_str(e.key_id)}")
                if e.slot is not None:
                    out.append(f"slot = {e.slot}")
                if isinstance(e.material, Ed25519PublicKey):
                    out.append(f"public_key = {_toml_str(e.public_key_hex or '')}")
                else:
                    out.append(f"hmac_secret = {_toml_bytes(e._material_bytes())}")
                if e.retired:
                    out.append("retired = true")
                if e.not_after is not None:
                    out.append(f"not_after = {e.not_after.isoformat()}")
            out.append("")
        return "\n".join(out)


# -- TOML helpers ---------------------------------------------------------------------------------


def _toml_str(value: str) -> str:
    """
    A TOML basic string (JSON escapes are valid TOML escapes for the BMP and beyond).
    """
    out = ['"']
    for c in value:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _toml_bytes(raw: bytes) -> str:
    try:
        return _toml_str(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KeyringError(
            "an HMAC secret of raw (non-UTF-8) bytes cannot be written into TOML; keep it in a "
            "hmac_secret_file"
        ) from None


def _unknown(
    table: Mapping[str, Any], known: tuple[str, ...], where: str, path: str | None, *, what: str
) -> None:
    for name in table:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise KeyringError(
                f"{where}: {name!r}: unknown {what}{hint}; the settings are {', '.join(known)}", path=path
            )


def _producer_entries(
    table: dict[str, Any],
    n: int,
    where: str,
    path: str | None,
    base: Path,
    env: Mapping[str, str],
    seen: dict[str, int],
    names: dict[str, str],
) -> list[KeyringEntry]:
    here = f"{where}: [[producer]] #{n}"
    _unknown(table, PRODUCER_FIELDS, here, path, what="producer setting")
    code = table.get("code")
    if code is None:
        raise KeyringError(
            f"{here}: code: required, the producer's 27-character TC260 code, "
            "e.g. code = '001191110102MAD55U9H0F10002'",
            path=path,
        )
    try:
        validate_producer_code(code, field="code")
    except ProducerCodeError as exc:
        raise KeyringError(f"{here}: {exc}", path=path, producer=str(code)) from None
    here = f"{where}: producer {code!r}"
    if code in seen:
        raise KeyringError(
            f"{here} appears twice ([[producer]] #{seen[code]} and #{n}); list all its keys under one "
            "[[producer]]",
            path=path,
            producer=code,
        )
    seen[code] = n
    name = table.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise KeyringError(f"{here}: name is a string, got {name!r}", path=path, producer=code)
        names[code] = name
    keys = table.get("key")
    if not keys:
        raise KeyringError(
            f"{here} has no keys: add [[producer.key]] tables with an id and a public_key or hmac_secret_*",
            path=path,
            producer=code,
        )
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise KeyringError(
            f"{here}: `key` is an array of tables: write each key as [[producer.key]]",
            path=path,
            producer=code,
        )
    out: list[KeyringEntry] = []
    ids: set[str] = set()
    for m, key in enumerate(keys, 1):
        entry = _key_entry(key, m, code, here, path, base, env)
        if entry.key_id in ids:
            raise KeyringError(
                f"{here}: key id {entry.key_id!r} appears twice; give every key of a producer its own id",
                path=path,
                producer=code,
                key_id=entry.key_id,
            )
        ids.add(entry.key_id)
        out.append(entry)
    return out


def _key_entry(
    key: dict[str, Any],
    m: int,
    code: str,
    here: str,
    path: str | None,
    base: Path,
    env: Mapping[str, str],
) -> KeyringEntry:
    key_id = key.get("id")
    at = f"{here}, key {key_id!r}" if isinstance(key_id, str) and key_id else f"{here}, [[producer.key]] #{m}"

    def fail(message: str) -> KeyringError:
        return KeyringError(
            f"{at}: {message}", path=path, producer=code, key_id=key_id if isinstance(key_id, str) else None
        )

    _unknown(key, KEY_FIELDS, at, path, what="key setting")
    if not isinstance(key_id, str) or not key_id.strip():
        raise fail("id: required, a name unique within the producer, e.g. id = '2026-q4'")
    given = [f for f in MATERIAL_FIELDS if f in key]
    if len(given) != 1:
        raise fail(
            f"give exactly one of {', '.join(MATERIAL_FIELDS)}; found {' and '.join(given)}"
            if given
            else f"no key material: give one of {', '.join(MATERIAL_FIELDS)}"
        )
    source = given[0]
    value = key[source]
    if not isinstance(value, str) or not value:
        raise fail(f"{source} is a non-empty string")
    material: str | bytes
    if source == "hmac_secret_env":
        if value not in env:
            raise fail(
                f"hmac_secret_env: the environment variable {value!r} is not set; export it before "
                "loading the keyring"
            )
        material = env[value]
    elif source in ("hmac_secret_file", "public_key_file"):
        file = Path(value).expanduser()
        file = file if file.is_absolute() else base / file
        try:
            with file.open("rb") as fh:
                data = fh.read(_MAX_KEY_FILE + 1)
        except OSError as exc:
            raise fail(f"{source}: cannot read key file {os.fspath(file)!r}: {exc.strerror or exc}") from None
        if len(data) > _MAX_KEY_FILE:
            raise fail(f"{source}: key file {os.fspath(file)!r} is larger than {_MAX_KEY_FILE} bytes")
        if source == "public_key_file" and len(data) != 32:
            try:
                material = data.decode("utf-8-sig").strip()  # PEM or hex
            except UnicodeDecodeError:
                material = data  # let the loader say what is wrong
        else:
            material = data
    else:
        material = value
    algorithm: Algorithm = "Ed25519" if source.startswith("public_key") else "HS256"
    slot = key.get("slot")
    retired = key.get("retired", False)
    not_after = key.get("not_after")
    try:
        return KeyringEntry(code, key_id, slot, algorithm, material, not_after=not_after, retired=retired)
    except KeyringError as exc:
        message = str(exc)
        prefix = f"producer {code!r}, key {key_id!r}: "
        message = message.removeprefix(prefix)
        if source != "hmac_secret" and message.startswith("hmac_secret: "):
            message = source + message.removeprefix("hmac_secret")
        if source == "public_key_file" and message.startswith("public_key: "):
            message = source + message.removeprefix("public_key")
        raise fail(message) from None
