"""
Bytes to text for the text formats (txt, md, html): one decoding rule, lenient on read.
"""

from __future__ import annotations

import codecs

from . import limits
from .limits import CarrierError

__all__ = ["decode"]

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode(data: bytes, *, strict: bool = False) -> tuple[str, list[str]]:
    """
    The text of *data* and the findings of decoding it.

    UTF-8 (a byte-order mark dropped), or UTF-16 after its byte-order mark. Invalid bytes
    are replaced by U+FFFD with a finding, so that labeled text with one bad byte is still
    examined (a seal over it then reads ``tampered``, never "no label"); with *strict*
    (writers) they raise.

    Raises:
        CarrierError: over the text cap, or invalid bytes with *strict*.
    """
    if len(data) > limits.MAX_TEXT_BYTES:
        raise CarrierError(
            f"text of {len(data)} bytes exceeds the {limits.MAX_TEXT_BYTES // 2**20} MB text cap"
        )
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], name
            break
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError as exc:
        problem = f"not valid {encoding.upper()} ({exc.reason} at byte {exc.start})"
        if strict:
            raise CarrierError(problem) from exc
        text = data.decode(encoding, "replace")
        return text, [f"{problem}: invalid bytes read as U+FFFD replacement characters"]
