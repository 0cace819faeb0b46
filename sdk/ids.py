"""
ProduceID generation: time-ordered UUIDv7 (RFC 9562) that the in-text seal can carry in 92 bits.

Layout of the 128 bits::

    unix_ts_ms (48) | ver=7 (4) | rand_a (12) | var=0b10 (2) | mark_id (32) | check (30)

``mark_id`` is the 32-bit identifier repeated in every in-text packet; ``check``
is derived (SHA-256 of the other fields), so the seal needs only
``unix_ts_ms``, ``rand_a`` and ``mark_id`` to rebuild the full ProduceID. The
entropy per millisecond is 44 bits (``rand_a`` and ``mark_id``).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from typing import NamedTuple

__all__ = ["ProduceIdParts", "new_produce_id", "parse_produce_id", "produce_id_from_parts"]


class ProduceIdParts(NamedTuple):
    """
    The carried fields of a ProduceID: milliseconds since the epoch, 12 random bits, the mark id.
    """

    unix_ms: int
    rand_a: int
    mark_id: int


def _check(unix_ms: int, rand_a: int, mark_id: int) -> int:
    digest = hashlib.sha256(
        b"AIGC/pid/1" + unix_ms.to_bytes(6, "big") + rand_a.to_bytes(2, "big") + mark_id.to_bytes(4, "big")
    ).digest()
    return int.from_bytes(digest[:4], "big") >> 2


def produce_id_from_parts(parts: ProduceIdParts) -> str:
    """
    Rebuild the canonical ProduceID string (lower-case UUID) from its carried fields.
    """
    unix_ms, rand_a, mark_id = parts
    value = (unix_ms << 80) | (7 << 76) | (rand_a << 64) | (0b10 << 62) | (mark_id << 30)
    value |= _check(unix_ms, rand_a, mark_id)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # str(uuid.UUID(int=value)), cheaper


def new_produce_id(*, now_ms: int | None = None) -> tuple[str, ProduceIdParts]:
    """
    Return a fresh ProduceID and its carried fields.

    Args:
        now_ms: milliseconds since the Unix epoch; the current time when omitted.
    """
    unix_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rnd = int.from_bytes(os.urandom(6), "big")
    parts = ProduceIdParts(unix_ms & (2**48 - 1), rnd >> 36, rnd & 0xFFFFFFFF)
    return produce_id_from_parts(parts), parts


def parse_produce_id(produce_id: str) -> ProduceIdParts | None:
    """
    Return the carried fields of a ProduceID made by this package, or ``None`` for any other string.
    """
    try:
        value = uuid.UUID(produce_id).int
    except (ValueError, AttributeError, TypeError):
        return None
    if (value >> 76) & 0xF != 7 or (value >> 62) & 0b11 != 0b10:
        return None
    parts = ProduceIdParts(value >> 80, (value >> 64) & 0xFFF, (value >> 30) & 0xFFFFFFFF)
    if value & (2**30 - 1) != _check(*parts):
        return None
    return parts
