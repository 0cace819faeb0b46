"""
Binary layout of the repeated packet and of the final seal (format version 1).

Header byte (both)::

    bits 7-6 version (1) | bits 5-4 kind | bits 3-2 label (1, 2, 3) | bits 1-0 key slot

Packet (kind 0), 10 bytes::

    header | mark_id (4) | MAC (4) | CRC-8 (1)

Seal (kind 1 = HMAC, kind 2 = Ed25519)::

    header | mark_id (4) | packet MAC (4) | unix_ms (48 bits) rand_a (12 bits) producer form (4 bits)
           | producer (12 or 18) | text digest (4) | MAC (6) or signature (64) | CRC-8 (1)

The MAC of a packet covers ``header | mark_id``; the seal's authenticator covers every
byte before it. The seal repeats the packet's MAC so that its first nine bytes, with the
kind bits cleared, are a packet's: an excerpt that ends inside the seal can complete the
packet whose tail it starts with. The text digest is the first four bytes of SHA-256 over the canonical
visible text (see :mod:`aigclabel.canonical`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from .. import producer as _producer
from ..ids import ProduceIdParts, produce_id_from_parts
from .crc import crc8
from .keys import SigningKeys

VERSION = 1
KIND_PACKET = 0
KIND_SEAL_HMAC = 1
KIND_SEAL_ED25519 = 2
PACKET_MAC_LEN = 4
SEAL_MAC_LEN = 6
SIGNATURE_LEN = 64
DIGEST_LEN = 4
PACKET_LEN = 1 + 4 + PACKET_MAC_LEN + 1

_LABELS: dict[str, int] = {"1": 1, "2": 2, "3": 3}
_LABEL_NAMES = {1: "1", 2: "2", 3: "3"}

ParseError = Literal["crc", "version", "kind", "length", "label", "producer"]


def header(kind: int, label: str, slot: int) -> int:
    return (VERSION << 6) | (kind << 4) | (_LABELS[label] << 2) | (slot & 3)


def seal_length(kind: int, form: int) -> int:
    auth = SIGNATURE_LEN if kind == KIND_SEAL_ED25519 else SEAL_MAC_LEN
    return 1 + 4 + PACKET_MAC_LEN + 8 + _producer.packed_length(form) + DIGEST_LEN + auth + 1


#: Every byte length a version-1 mark can have; runs of other lengths are windowed.
VALID_LENGTHS = tuple(
    sorted(
        {PACKET_LEN} | {seal_length(k, f) for k in (1, 2) for f in (_producer.FORM_ORG, _producer.FORM_RAW)}
    )
)


def build_packet(label: str, mark_id: int, keys: SigningKeys) -> bytes:
    body = bytes([header(KIND_PACKET, label, keys.slot)]) + mark_id.to_bytes(4, "big")
    body += keys.packet_mac(body, PACKET_MAC_LEN)
    return body + bytes([crc8(body)])


def seal_message(
    label: str, kind: int, parts: ProduceIdParts, producer: str, digest: bytes, packet: bytes
) -> bytes:
    """
    The bytes a seal's authenticator covers (also signed in full for ``ReservedCode1``).

    *packet* is the text's packet (from :func:`build_packet`), whose header slot and MAC the seal repeats.
    """
    form, packed = _producer.pack_producer(producer)
    pidx = (parts.unix_ms << 16) | (parts.rand_a << 4) | form
    return (
        bytes([packet[0] | (kind << 4)])
        + parts.mark_id.to_bytes(4, "big")
        + packet[5 : 5 + PACKET_MAC_LEN]
        + pidx.to_bytes(8, "big")
        + packed
        + digest[:DIGEST_LEN]
    )


def build_seal(message: bytes, keys: SigningKeys) -> bytes:
    body = message + keys.seal_auth(message, SEAL_MAC_LEN)
    return body + bytes([crc8(body)])


@dataclass(frozen=True)
class Decoded:
    """
    One structurally valid mark (CRC passed); authenticity is checked by the verifier.
    """

    kind: int
    label: str
    slot: int
    mark_id: int
    message: bytes  # the authenticated bytes
    auth: bytes
    parts: ProduceIdParts | None = None
    producer: str | None = None
    digest: bytes | None = None

    @property
    def is_seal(self) -> bool:
        return self.kind != KIND_PACKET

    @functools.cached_property
    def produce_id(self) -> str | None:
        return produce_id_from_parts(self.parts) if self.parts is not None else None


def parse(data: bytes) -> Decoded | ParseError:
    """
    Parse one candidate mark; return the reason string when it is not a valid mark.
    """
    if len(data) < PACKET_LEN:
        return "length"
    if crc8(data[:-1]) != data[-1]:
        return "crc"
    head = data[0]
    if head >> 6 != VERSION:
        return "version"
    kind, label_bits, slot = (head >> 4) & 3, (head >> 2) & 3, head & 3
    if label_bits == 0:
        return "label"
    label = _LABEL_NAMES[label_bits]
    mark_id = int.from_bytes(data[1:5], "big")
    if kind == KIND_PACKET:
        if len(data) != PACKET_LEN:
            return "length"
        return Decoded(kind, label, slot, mark_id, data[:5], data[5:-1])
    if kind not in (KIND_SEAL_HMAC, KIND_SEAL_ED25519):
        return "kind"
    if len(data) < 17:
        return "length"
    pidx = int.from_bytes(data[9:17], "big")
    form = pidx & 0xF
    try:
        expected = seal_length(kind, form)
    except ValueError:
        return "producer"
    if len(data) != expected:
        return "length"
    plen = _producer.packed_length(form)
    try:
        producer = _producer.unpack_producer(form, data[17 : 17 + plen])
    except ValueError:
        return "producer"
    end = 17 + plen + DIGEST_LEN
    parts = ProduceIdParts(pidx >> 16, (pidx >> 4) & 0xFFF, mark_id)
    return Decoded(
        kind, label, slot, mark_id, data[:end], data[end:-1], parts, producer, data[17 + plen : end]
    )
