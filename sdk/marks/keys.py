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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..exceptions import KeyMaterialError

MIN_SECRET_BYTES = 16
PACKET_DOMAIN = b"AIGC/mark/1"
SEAL_DOMAIN = b"AIGC/seal/1"

__all__ = [
    "MIN_SECRET_BYTES",
    "SigningKeys",
    "VerifyingKeys",
    "load_private_key",
    "load_public_key",
    "secret_bytes",
]


def secret_bytes(secret: str | bytes, *, field: str = "key") -> bytes:
    """
    Return an HMAC secret as bytes (UTF-8 for text), at least 16 bytes long.

    Raises:
        KeyMaterialError: the secret is shorter than 16 bytes.
    """
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if len(raw) < MIN_SECRET_BYTES:
        raise KeyMaterialError(
            f"{field}: an HMAC secret needs at least {MIN_SECRET_BYTES} bytes, got {len(raw)}; "
            "use a random value, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return raw


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


class SigningKeys:
    """
    The producer's keys: an HMAC secret, an Ed25519 private key, or both.

    Packets are authenticated with the HMAC secret. With only an Ed25519 key, packets
    carry a *binding* check keyed by the public key (anyone holding the public key
    can check it, so it detects damage and wrong keys but not deliberate forgery);
    the seal then carries a full Ed25519 signature.
    """

    __slots__ = ("_packet_key", "_private", "public_raw", "slot")

    def __init__(self, *, secret: bytes | None, private: Ed25519PrivateKey | None, slot: int) -> None:
        if secret is None and private is None:
            raise KeyMaterialError(
                "a labeler needs a key: set `key` (HMAC secret) and/or `signing_key` (Ed25519)"
            )
        self.slot = slot
        self._private = private
        self.public_raw = _raw_public(private.public_key()) if private is not None else None
        self._packet_key = secret if secret is not None else hashlib.sha256(self.public_raw or b"").digest()

    def __repr__(self) -> str:
        return f"SigningKeys(slot={self.slot}, signed={self._private is not None})"

    @property
    def signs(self) -> bool:
        """
        Whether seals carry an Ed25519 signature (else a truncated HMAC).
        """
        return self._private is not None

    def verifying_keys(self) -> VerifyingKeys:
        """
        The keys that check this producer's packets (the HMAC secret, or the public key).
        """
        if (
            self._private is not None
            and self.public_raw is not None
            and self._packet_key == hashlib.sha256(self.public_raw).digest()
        ):
            return VerifyingKeys([], [self._private.public_key()])
        return VerifyingKeys([self._packet_key], [self._private.public_key()] if self._private else [])

    def packet_mac(self, message: bytes, length: int) -> bytes:
        return hmac.digest(self._packet_key, PACKET_DOMAIN + message, "sha256")[:length]

    def seal_auth(self, message: bytes, mac_length: int) -> bytes:
        """
        Return the seal's authenticator: a 64-byte signature or a truncated HMAC.
        """
        if self._private is not None:
            return self._private.sign(SEAL_DOMAIN + message)
        return hmac.digest(self._packet_key, SEAL_DOMAIN + message, "sha256")[:mac_length]

    def full_auth(self, message: bytes) -> bytes:
        """
        Return the full-strength authenticator stored in ``ReservedCode1``.
        """
        if self._private is not None:
            return self._private.sign(SEAL_DOMAIN + message)
        return hmac.digest(self._packet_key, SEAL_DOMAIN + message, "sha256")


class VerifyingKeys:
    """
    What a verifier knows: zero or more HMAC secrets and Ed25519 public keys.
    """

    __slots__ = ("_packet_keys", "_public")

    def __init__(self, secrets: Iterable[bytes] = (), public_keys: Iterable[Ed25519PublicKey] = ()) -> None:
        self._public = list(public_keys)
        self._packet_keys = list(secrets) + [hashlib.sha256(_raw_public(k)).digest() for k in self._public]

    def __repr__(self) -> str:
        return (
            f"VerifyingKeys(hmac={len(self._packet_keys) - len(self._public)}, ed25519={len(self._public)})"
        )

    @property
    def has_hmac(self) -> bool:
        return len(self._packet_keys) > len(self._public)

    @property
    def has_packet_keys(self) -> bool:
        return bool(self._packet_keys)

    @property
    def has_public(self) -> bool:
        return bool(self._public)

    def check_packet(self, message: bytes, mac: bytes) -> bool | None:
        """
        ``True`` if some key made *mac*; ``False`` if none did; ``None`` with no keys.
        """
        if not self._packet_keys:
            return None
        n = len(mac)
        return any(
            hmac.compare_digest(hmac.digest(k, PACKET_DOMAIN + message, "sha256")[:n], mac)
            for k in self._packet_keys
        )

    def check_seal_hmac(self, message: bytes, mac: bytes) -> bool | None:
        secrets = self._packet_keys[: len(self._packet_keys) - len(self._public)]
        if not secrets:
            return None
        n = len(mac)
        return any(
            hmac.compare_digest(hmac.digest(k, SEAL_DOMAIN + message, "sha256")[:n], mac) for k in secrets
        )

    def full_hmac(self, message: bytes, truncated: bytes) -> bytes | None:
        """
        Return the full HMAC for ``ReservedCode1`` from the secret that made *truncated*.
        """
        n = len(truncated)
        for k in self._packet_keys[: len(self._packet_keys) - len(self._public)]:
            full = hmac.digest(k, SEAL_DOMAIN + message, "sha256")
            if hmac.compare_digest(full[:n], truncated):
                return full
        return None

    def check_signature(self, message: bytes, signature: bytes) -> bool | None:
        if not self._public:
            return None
        for key in self._public:
            try:
                key.verify(signature, SEAL_DOMAIN + message)
            except InvalidSignature:
                continue
            return True
        return False
