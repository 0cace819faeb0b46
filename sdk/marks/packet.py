"""
Binary layout of the repeated packet and of the final seal.

Formats 2 and 3 (the micro seal of short texts) are written; format 1 is read (texts labeled
by 0.1 keep verifying). Header byte::

    bits 7-6 version (1 or 2) | bits 5-4 kind | bits 3-2 label (1, 2, 3) | bits 1-0 key slot

Packet (kind 0), 10 bytes, both formats::

    header | mark_id (4) | MAC (4) | CRC-8 (1)

Format-2 seal, kind 1 (HMAC) or 2 (Ed25519)::

    header | mark_id (4) | packet MAC (4) | unix_ms (48 bits) rand_a (12 bits) flags (4 bits)
           | producer (12 or 18) | hint (2) | MAC (8) or signature (64) | CRC-8 (1)

Format-2 compact seal, kind 3 (HMAC only; identity from a resolver)::

    header | mark_id (4) | packet MAC (4) | flags (1) | hint (2) | MAC (8) | CRC-8 (1)

``flags``: bits 3-2 the producer's packed form (full seal; 0 in the compact seal), bits
1-0 the canonical-text profile (0 ``plain``, 1 ``markup``). ``hint`` is the first two
bytes of SHA-256 over the canonical text: a keyless hint that the text changed, never
what makes a seal ``intact``. The seal's MAC or signature covers every byte before it
**and the full 32-byte SHA-256 of the canonical text**, so it vouches for the text
itself.

Format-3 micro seal (HMAC only; identity from a resolver), 14 bytes::

    header | mark_id (4) | MAC (8) | CRC-8 (1)

Format 3 has no other mark, so its header holds the canonical-text profile where formats 1
and 2 hold the kind (bits 5-4: 0 ``plain``, 1 ``markup``). The MAC covers the header, the mark
id and the full SHA-256 of the canonical text, like a format-2 seal's; there is no hint and no
packet MAC, so a verifier cannot tell a changed text from a forged micro seal (both read as a
failed MAC), and a verifier without the key cannot tell whether the text changed.

Format-1 seal (read only)::

    header | mark_id (4) | packet MAC (4) | unix_ms (48) rand_a (12) form (4)
           | producer (12 or 18) | text digest (4) | MAC (6) or signature (64) | CRC-8 (1)

Its 32-bit text digest is too short to vouch for a text (a search of 2^32 invisible
nonces matches it), so the verifier never calls a format-1 text ``intact``.

Every seal repeats the packet's MAC so that its first nine bytes, with the kind bits
cleared, are a packet's: an excerpt that ends inside the seal can complete the packet
whose tail it starts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import producer as _producer
from ..canonical import Profile
from ..ids import ProduceIdParts, produce_id_from_parts
from .crc import crc8
from .keys import SigningKeys

VERSION = 2
VERSIONS = (1, 2)
#: The micro seal's format (a version of its own: its header holds the profile, not a kind).
MICRO_VERSION = 3
KIND_PACKET = 0
KIND_SEAL_HMAC = 1
KIND_SEAL_ED25519 = 2
KIND_SEAL_COMPACT = 3
#: The micro seal's kind in :class:`Decoded` (not a header value: see :data:`MICRO_VERSION`).
KIND_SEAL_MICRO = 4
PACKET_MAC_LEN = 4
SEAL_MAC_LEN = 8
SIGNATURE_LEN = 64
HINT_LEN = 2
PACKET_LEN = 1 + 4 + PACKET_MAC_LEN + 1
COMPACT_SEAL_LEN = 1 + 4 + PACKET_MAC_LEN + 1 + HINT_LEN + SEAL_MAC_LEN + 1
MICRO_SEAL_LEN = 1 + 4 + SEAL_MAC_LEN + 1
V1_SEAL_MAC_LEN = 6
V1_DIGEST_LEN = 4

PROFILES: tuple[Profile, ...] = ("plain", "markup")
_LABELS: dict[str, int] = {"1": 1, "2": 2, "3": 3}
_LABEL_NAMES = {1: "1", 2: "2", 3: "3"}

ParseError = Literal["crc", "version", "kind", "length", "label", "producer", "flags"]


def header(kind: int, label: str, slot: int, version: int = VERSION) -> int:
    return (version << 6) | (kind << 4) | (_LABELS[label] << 2) | (slot & 3)


def seal_length(kind: int, form: int, version: int = VERSION) -> int:
    """
    The byte length of a seal of *kind* whose producer is packed in *form* (ValueError if unknown).
    """
    if kind == KIND_SEAL_COMPACT and version == 2:
        return COMPACT_SEAL_LEN
    mac = SEAL_MAC_LEN if version == 2 else V1_SEAL_MAC_LEN
    auth = SIGNATURE_LEN if kind == KIND_SEAL_ED25519 else mac
    hint = HINT_LEN if version == 2 else V1_DIGEST_LEN
    return 1 + 4 + PACKET_MAC_LEN + 8 + _producer.packed_length(form) + hint + auth + 1


#: Every byte length a mark of any readable version can have; runs of other lengths are windowed.
VALID_LENGTHS = tuple(
    sorted(
        {PACKET_LEN, COMPACT_SEAL_LEN, MICRO_SEAL_LEN}
        | {
            seal_length(k, f, v)
            for k in (KIND_SEAL_HMAC, KIND_SEAL_ED25519)
            for f in (_producer.FORM_ORG, _producer.FORM_RAW)
            for v in VERSIONS
        }
    )
)


def build_packet(label: str, mark_id: int, keys: SigningKeys) -> bytes:
    body = bytes([header(KIND_PACKET, label, keys.slot)]) + mark_id.to_bytes(4, "big")
    body += keys.packet_mac(body, PACKET_MAC_LEN)
    return body + bytes([crc8(body)])


def seal_message(
    label: str,
    kind: int,
    parts: ProduceIdParts,
    producer: str,
    digest: bytes,
    packet: bytes,
    profile: Profile = "plain",
) -> bytes:
    """
    The bytes of a format-2 seal before its authenticator (which also covers the full *digest*).

    *packet* is the text's packet (from :func:`build_packet`), whose header slot and MAC the
    seal repeats; *digest* is the full SHA-256 of the canonical text, of which the seal
    carries the first :data:`HINT_LEN` bytes.
    """
    head = (
        bytes([packet[0] | (kind << 4)]) + parts.mark_id.to_bytes(4, "big") + packet[5 : 5 + PACKET_MAC_LEN]
    )
    hint = digest[:HINT_LEN]
    profile_bits = PROFILES.index(profile)
    if kind == KIND_SEAL_COMPACT:
        return head + bytes([profile_bits]) + hint
    form, packed = _producer.pack_producer(producer)
    pidx = (parts.unix_ms << 16) | (parts.rand_a << 4) | (form << 2) | profile_bits
    return head + pidx.to_bytes(8, "big") + packed + hint


def micro_message(label: str, slot: int, mark_id: int, profile: Profile = "plain") -> bytes:
    """
    The bytes of a micro seal before its MAC: ``header | mark id`` (format 3).
    """
    head = (MICRO_VERSION << 6) | (PROFILES.index(profile) << 4) | (_LABELS[label] << 2) | (slot & 3)
    return bytes([head]) + mark_id.to_bytes(4, "big")


def build_seal(message: bytes, digest: bytes, keys: SigningKeys, *, auth: bytes | None = None) -> bytes:
    """
    The seal's bytes: *message*, its authenticator (a signature, or the HMAC truncated to
    :data:`SEAL_MAC_LEN` bytes) and the CRC. *auth* is ``keys.full_auth(message, digest)``
    when the caller already has it (``ReservedCode1`` stores it): it is not computed twice.
    """
    full = keys.full_auth(message, digest) if auth is None else auth
    body = message + (full if keys.signs else full[:SEAL_MAC_LEN])
    return body + bytes([crc8(body)])


@dataclass(slots=True)
class Decoded:
    """
    One structurally valid mark (CRC passed); authenticity is checked by the verifier.
    Treat it as read-only (it is not frozen: a verifier makes several per text, and a frozen
    dataclass takes several times as long to build).

    ``hint`` is the seal's short text digest (format 2: a 2-byte keyless hint; format 1:
    the 4-byte digest its MAC covers; ``None`` for the micro seal); ``parts`` and ``producer``
    are ``None`` for packets, compact and micro seals.
    """

    version: int
    kind: int
    label: str
    slot: int
    mark_id: int
    message: bytes  # the authenticated bytes
    auth: bytes
    parts: ProduceIdParts | None = None
    producer: str | None = None
    hint: bytes | None = None
    profile: Profile = "plain"

    @property
    def is_seal(self) -> bool:
        return self.kind != KIND_PACKET

    @property
    def packet_key(self) -> tuple[int, int, bytes]:
        """
        ``(header without kind bits, mark id, packet MAC)``: equal for a text's packets and seal.
        """
        head = self.message[0] & 0xCF
        mac = self.message[5:9] if self.is_seal else self.auth
        return head, self.mark_id, mac

    @property
    def produce_id(self) -> str | None:
        """
        The ProduceID a full seal carries (computed on each access), else ``None``.
        """
        return produce_id_from_parts(self.parts) if self.parts is not None else None


def parse(data: bytes) -> Decoded | ParseError:
    """
    Parse one candidate mark of format 1, 2 or 3; return the reason string when it is not one.
    """
    if len(data) < PACKET_LEN:
        return "length"
    if crc8(data[:-1]) != data[-1]:
        return "crc"
    head = data[0]
    version = head >> 6
    if version not in VERSIONS and version != MICRO_VERSION:
        return "version"
    kind, label_bits, slot = (head >> 4) & 3, (head >> 2) & 3, head & 3
    if label_bits == 0:
        return "label"
    label = _LABEL_NAMES[label_bits]
    mark_id = int.from_bytes(data[1:5], "big")
    if version == MICRO_VERSION:
        if len(data) != MICRO_SEAL_LEN:
            return "length"
        if kind >= len(PROFILES):
            return "flags"
        return Decoded(
            version, KIND_SEAL_MICRO, label, slot, mark_id, data[:5], data[5:-1], profile=PROFILES[kind]
        )
    if kind == KIND_PACKET:
        if len(data) != PACKET_LEN:
            return "length"
        return Decoded(version, kind, label, slot, mark_id, data[:5], data[5:-1])
    if kind == KIND_SEAL_COMPACT:
        if version != 2:
            return "kind"
        if len(data) != COMPACT_SEAL_LEN:
            return "length"
        if data[9] > 1:
            return "flags"
        end = 10 + HINT_LEN
        return Decoded(
            version, kind, label, slot, mark_id, data[:end], data[end:-1], hint=data[10:end],
            profile=PROFILES[data[9]],
        )  # fmt: skip
    if len(data) < 17:
        return "length"
    pidx = int.from_bytes(data[9:17], "big")
    if version == 2:
        form, profile_bits = (pidx >> 2) & 3, pidx & 3
        if profile_bits > 1:
            return "flags"
    else:
        form, profile_bits = pidx & 0xF, 0
    try:
        expected = seal_length(kind, form, version)
    except ValueError:
        return "producer"
    if len(data) != expected:
        return "length"
    plen = _producer.packed_length(form)
    try:
        producer = _producer.unpack_producer(form, data[17 : 17 + plen])
    except ValueError:
        return "producer"
    end = 17 + plen + (HINT_LEN if version == 2 else V1_DIGEST_LEN)
    parts = ProduceIdParts(pidx >> 16, (pidx >> 4) & 0xFFF, mark_id)
    return Decoded(
        version, kind, label, slot, mark_id, data[:end], data[end:-1], parts, producer,
        data[17 + plen : end], PROFILES[profile_bits],
    )  # fmt: skip
