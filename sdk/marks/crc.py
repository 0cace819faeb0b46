"""
CRC-8 (polynomial 0x07, CRC-8/SMBUS) over packet bytes: tells corruption from forgery.
"""

from __future__ import annotations

from .. import canonical


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        out.append(crc)
    return tuple(out)


_TABLE = _table()


def crc8(data: bytes) -> int:
    """
    Return the CRC-8/SMBUS of *data* (0 for empty input); in C where
    :data:`~aigclabel.canonical.SPEEDUPS` is available.
    """
    fast = canonical.SPEEDUPS
    if fast is not None:
        return fast.crc8(data)
    return crc8_python(data)


def crc8_python(data: bytes) -> int:
    """
    The pure-Python :func:`crc8` (the reference the C loop is tested against).
    """
    crc = 0
    for b in data:
        crc = _TABLE[crc ^ b]
    return crc
