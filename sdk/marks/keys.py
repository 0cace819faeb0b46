"""
Key material: HMAC-SHA256 secrets and Ed25519 key pairs.

The producer signs with a :class:`SigningKeys`; a verifier checks with a
:class:`VerifyingKeys`. Keys have a *slot* (0–3) carried in every packet header so
that rotated keys can be tried in order. Keys are never logged or repr'd.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Iterable
from typing import Literal, NamedTuple, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..exceptions import KeyMaterialError
from ..keymaterial import MIN_SECRET_BYTES, normalise_secret

#: Format 1 (read only): HMAC domains of packets and seals.
PACKET_DOMAIN = b"AIGC/mark/1"
SEAL_DOMAIN = b"AIGC/seal/1"
#: Format 2: packet MAC and seal authenticator domains (signatures use the seal domain).
DOMAINS_V2: dict[Literal["mark", "seal"], bytes] = {"mark": b"AIGC/mark/2", "seal": b"AIGC/seal/2"}
#: Format 3 (the micro seal, HMAC only): its authenticator's domain.
SEAL_DOMAIN_V3 = b"AIGC/seal/3"
#: Derives an Ed25519-only producer's packet secret from its private seed.
PACKET_KEY_DOMAIN = b"AIGC/packet-key/2"

_K = TypeVar("_K")

__all__ = [
    "DOMAINS_V2",
    "MIN_SECRET_BYTES",
    "SEAL_DOMAIN_V3",
    "KeyCheck",
    "SigningKeys",
    "VerifyingKeys",
    "load_private_key",
    "load_public_key",
    "secret_bytes",
]


def secret_bytes(secret: str | bytes, *, field: str = "key") -> bytes:
    """
    Return an HMAC secret as bytes, normalised by the one key rule (:mod:`aigclabel.keymaterial`).

    Raises:
        KeyMaterialError: the key breaks the rule (whitespace or a line break around or inside it)
            or is shorter than 16 bytes.
    """
    return normalise_secret(secret, field=field)


def load_private_key(
    value: str | bytes | Ed25519PrivateKey, *, field: str = "signing_key"
) -> Ed25519PrivateKey:
    """
    Load an Ed25519 private key from a 32-byte seed (raw bytes or 64 hex characters) or a PEM document.
    """
    if isinstance(value, Ed25519PrivateKey):
        return value
    try:
        if isinstance(value, str) and "BEGIN" in value:
            key = serialization.load_pem_private_key(value.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyMaterialError(f"{field}: the PEM document holds a {type(key).__name__}, not Ed25519")
            return key
        seed = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
        return Ed25519PrivateKey.from_private_bytes(seed)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise KeyMaterialError(
            f"{field}: expected an Ed25519 private key as a 32-byte seed (64 hex characters) or a PEM "
            f"document ({exc})"
        ) from exc


def load_public_key(value: str | bytes | Ed25519PublicKey, *, field: str = "public_key") -> Ed25519PublicKey:
    """
    Load an Ed25519 public key from 32 raw bytes, 64 hex characters or a PEM document.
    """
    if isinstance(value, Ed25519PublicKey):
        return value
    try:
        if isinstance(value, str) and "BEGIN" in value:
            key = serialization.load_pem_public_key(value.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise KeyMaterialError(f"{field}: the PEM document holds a {type(key).__name__}, not Ed25519")
            return key
        raw = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise KeyMaterialError(
            f"{field}: expected an Ed25519 public key as 32 raw bytes, 64 hex characters "
            f"or a PEM document ({exc})"
        ) from exc


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _domain(kind: Literal["mark", "seal"], version: int) -> bytes:
    if version == 1:
        return PACKET_DOMAIN if kind == "mark" else SEAL_DOMAIN
    if version == 3 and kind == "seal":
        return SEAL_DOMAIN_V3
    return DOMAINS_V2[kind]


def _version(message: bytes) -> int:
    return message[0] >> 6 if message else 0


Outcome = Literal["ok", "fail", "no_key", "no_slot", "public_only"]


class KeyCheck(NamedTuple):
    """
    The result of checking one mark's authenticator.

    ``outcome`` is ``ok`` (a given key made it; ``key_index`` says which, counting HMAC
    secrets and public keys separately in the order given), ``fail`` (every key that could
    have made it fails: forged or made with another key), ``no_key`` (no key of the needed
    kind was given), ``no_slot`` (keys were given for other key slots only) or
    ``public_only`` (a format-1 packet of an Ed25519-only producer: its check is keyed
    by the public key, so it passing proves integrity, not authorship).

    ``full`` is the untruncated HMAC-SHA256 when an HMAC secret passed (what ``ReservedCode1``
    stores), so that a verifier never computes it twice.
    """

    outcome: Outcome
    key_index: int | None = None
    full: bytes | None = None


_NO_KEY = KeyCheck("no_key")
_NO_SLOT = KeyCheck("no_slot")
_FAIL = KeyCheck("fail")


class SigningKeys:
    """
    The producer's keys: an HMAC secret, an Ed25519 private key, or both.

    Packets are authenticated with the HMAC secret. With only an Ed25519 key, format-2
    packets are MACed with a secret derived from the private key (only its holder can
    make them; a verifier holding the public key reads them as unverified unless an
    authentic seal in the same text repeats them); the seal carries a full Ed25519
    signature.
    """

    __slots__ = ("_packet_key", "_private", "_secret", "public_raw", "slot")

    def __init__(self, *, secret: bytes | None, private: Ed25519PrivateKey | None, slot: int) -> None:
        if secret is None and private is None:
            raise KeyMaterialError(
                "a labeler needs a key: set `key` (HMAC secret) and/or `signing_key` (Ed25519)"
            )
        self.slot = slot
        self._secret = secret
        self._private = private
        self.public_raw = _raw_public(private.public_key()) if private is not None else None
        if secret is not None:
            self._packet_key = secret
        else:
            assert private is not None
            seed = private.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            self._packet_key = hmac.digest(seed, PACKET_KEY_DOMAIN, "sha256")

    def __repr__(self) -> str:
        return f"SigningKeys(slot={self.slot}, signed={self._private is not None})"

    @property
    def watermark_secret(self) -> bytes:
        """
        The HMAC secret this producer's packets are keyed with (the ``key``, or one derived from
        the Ed25519 seed); statistical watermark profiles derive their subkeys from it.
        """
        return self._packet_key

    @property
    def signs(self) -> bool:
        """
        Whether seals carry an Ed25519 signature (else a truncated HMAC).
        """
        return self._private is not None

    def verifying_keys(self) -> VerifyingKeys:
        """
        The keys that check this producer's packets and seals (its own slot only).
        """
        publics = [(self.slot, self._private.public_key())] if self._private is not None else []
        if self._secret is not None:
            return VerifyingKeys([(self.slot, self._secret)], publics)
        return VerifyingKeys([], publics, packet_only=[(self.slot, self._packet_key)])

    def packet_mac(self, message: bytes, length: int) -> bytes:
        """
        The MAC of a packet's ``header | mark id`` (the domain follows the header's version).
        """
        return hmac.digest(self._packet_key, _domain("mark", _version(message)) + message, "sha256")[:length]

    def full_auth(self, message: bytes, digest: bytes) -> bytes:
        """
        Return the full-strength authenticator stored in ``ReservedCode1`` (the domain follows
        the version in *message*'s header: format 2, or 3 for the micro seal).
        """
        data = _domain("seal", _version(message)) + message + digest
        if self._private is not None:
            return self._private.sign(data)
        assert self._secret is not None
        return hmac.digest(self._secret, data, "sha256")


KeySpec = bytes | tuple[int | None, bytes]
PublicSpec = Ed25519PublicKey | tuple[int | None, Ed25519PublicKey]


class VerifyingKeys:
    """
    What a verifier knows: HMAC secrets and Ed25519 public keys, each optionally bound to a
    key slot (0–3). A key without a slot is tried for every slot; when every key of a kind
    is bound to slots, a mark of another slot is ``no_slot``, not ``fail``.
    """

    __slots__ = ("_hmac", "_packet_only", "_public")

    def __init__(
        self,
        secrets: Iterable[KeySpec] = (),
        public_keys: Iterable[PublicSpec] = (),
        *,
        packet_only: Iterable[tuple[int | None, bytes]] = (),
    ) -> None:
        self._hmac = [s if isinstance(s, tuple) else (None, s) for s in secrets]
        self._public = [p if isinstance(p, tuple) else (None, p) for p in public_keys]
        self._packet_only = list(packet_only)

    def __repr__(self) -> str:
        return f"VerifyingKeys(hmac={len(self._hmac)}, ed25519={len(self._public)})"

    @property
    def has_hmac(self) -> bool:
        return bool(self._hmac)

    @property
    def has_public(self) -> bool:
        return bool(self._public)

    @staticmethod
    def _for_slot(entries: list[tuple[int | None, _K]], slot: int) -> tuple[list[tuple[int, _K]], bool]:
        """
        The (index, key) pairs that may have made a mark of *slot*, and whether any key exists.
        """
        return [(i, k) for i, (s, k) in enumerate(entries) if s is None or s == slot], bool(entries)

    def check_mac(
        self, kind: Literal["mark", "seal"], message: bytes, mac: bytes, extra: bytes = b""
    ) -> KeyCheck:
        """
        Check an HMAC (truncated to ``len(mac)``) over ``domain | message | extra``.

        Packets (*kind* ``mark``) are also checked with the packet-only secrets and, for
        format 1, with the public-key-derived check of Ed25519-only producers.
        """
        version = _version(message)
        slot = message[0] & 3
        data = _domain(kind, version) + message + extra
        n = len(mac)
        if n == 0:
            return _FAIL  # a mark with no MAC (a micro seal read as a packet) is never authentic
        entries = self._hmac + (self._packet_only if kind == "mark" else [])
        candidates, any_key = self._for_slot(entries, slot)
        for i, k in candidates:
            full = hmac.digest(k, data, "sha256")
            if hmac.compare_digest(full[:n], mac):
                return KeyCheck("ok", i if i < len(self._hmac) else None, full)
        tried = bool(candidates)
        if kind == "mark" and version == 1:
            publics, any_public = self._for_slot(self._public, slot)
            for _, pub in publics:
                legacy = hashlib.sha256(_raw_public(pub)).digest()
                if hmac.compare_digest(hmac.digest(legacy, data, "sha256")[:n], mac):
                    return KeyCheck("public_only")
            tried, any_key = tried or bool(publics), any_key or any_public
        if tried:
            return _FAIL
        return _NO_SLOT if any_key else _NO_KEY

    def check_packet(self, message: bytes, mac: bytes) -> bool | None:
        """
        ``True`` if one of these keys made a packet's *mac*; ``False`` if none did; ``None`` with no keys.
        """
        result = self.check_mac("mark", message, mac)
        return True if result.outcome == "ok" else False if result.outcome == "fail" else None

    def check_signature(self, message: bytes, signature: bytes, extra: bytes = b"") -> KeyCheck:
        """
        Check an Ed25519 signature over ``domain | message | extra`` with every public key for the slot.
        """
        candidates, any_key = self._for_slot(self._public, message[0] & 3)
        data = _domain("seal", _version(message)) + message + extra
        for i, key in candidates:
            try:
                key.verify(signature, data)
            except InvalidSignature:
                continue
            return KeyCheck("ok", i)
        if candidates:
            return _FAIL
        return _NO_SLOT if any_key else _NO_KEY
