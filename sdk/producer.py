"""
TC260 provider codes (服务提供者编码): validation and compact binary packing.

A code is 27 characters of digits and upper-case letters::

    00  1 1  <18-character USCC>  <5-character service extension>
    fmt org  统一社会信用代码          00000 | 1xxxx (generation) | 2xxxx (propagation)

The embedded USCC carries a GB 32100-2015 check character, and its
organisation-code part (characters 9-17) a GB 11714 check character. Both are
validated, and both are dropped when the code is packed for the in-text seal:
they are derivable, and every byte in the text costs about four LLM tokens.
"""

from __future__ import annotations

import re

from .exceptions import ProducerCodeError

__all__ = ["pack_producer", "unpack_producer", "validate_producer_code"]

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CODE_RE = re.compile(r"[0-9A-Z]{27}")
_EXT_RE = re.compile(r"00000|[12][0-9A-Z]{4}")
_EXAMPLE = "001191110102MAD55U9H0F10002"

# Packed forms. Form 1: the TC260 organisation layout, 12 bytes. Form 2: any
# other 27-character code, base 36, 18 bytes (only reachable for codes that
# pass validation but whose USCC organisation part has no GB 11714 check).
FORM_ORG = 1
FORM_RAW = 2
_ORG_LEN = 12
_RAW_LEN = 18
_EXT_RADIX = 1 + 2 * 36**4


def uscc_check_char(first17: str) -> str:
    """
    Return the GB 32100-2015 check character for the first 17 USCC characters.
    """
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """
    Return the GB 11714 check character for an 8-character organisation code body.
    """
    total = sum(_B36.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def validate_producer_code(code: str, *, field: str = "producer") -> str:
    """
    Validate a TC260 provider code and return it unchanged.

    Raises:
        ProducerCodeError: naming *field*, what is wrong and what a valid code looks like.
    """
    hint = f"a valid code looks like {_EXAMPLE!r}: '00' + '11' + 18-character USCC + 5-character extension"
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise ProducerCodeError(
            f"{field}: {code!r} is not 27 digits and upper-case letters; {hint}", code=str(code), field=field
        )
    if not code.startswith("00"):
        raise ProducerCodeError(
            f"{field}: {code!r} must start with the format prefix '00'; {hint}", code=code, field=field
        )
    if code[2:4] != "11":
        raise ProducerCodeError(
            f"{field}: {code!r} has subject type {code[2:4]!r}; only organisation codes bound to a "
            f"USCC ('11') are defined by the TC260 coding rule; {hint}",
            code=code,
            field=field,
        )
    uscc, ext = code[4:22], code[22:]
    if any(c not in _USCC_ALPHABET for c in uscc):
        raise ProducerCodeError(
            f"{field}: the USCC {uscc!r} inside {code!r} uses a letter outside GB 32100 "
            f"(no I, O, S, V or Z); {hint}",
            code=code,
            field=field,
        )
    expected = uscc_check_char(uscc[:17])
    if uscc[17] != expected:
        raise ProducerCodeError(
            f"{field}: the USCC {uscc!r} inside {code!r} fails its GB 32100 check character "
            f"(expected {expected!r}, found {uscc[17]!r}); the code is probably mistyped. "
            "Copy it from the operator's registration: the SDK never invents one.",
            code=code,
            field=field,
        )
    if not _EXT_RE.fullmatch(ext):
        raise ProducerCodeError(
            f"{field}: service extension {ext!r} of {code!r} must be '00000', or '1' (generation) or "
            f"'2' (propagation) followed by a 4-character model/app code; {hint}",
            code=code,
            field=field,
        )
    return code


def _org_packable(uscc: str) -> bool:
    return uscc[2:8].isdigit() and org_check_char(uscc[8:16]) == uscc[16]


def pack_producer(code: str) -> tuple[int, bytes]:
    """
    Pack a validated provider code into ``(form, bytes)`` for the in-text seal.

    Form :data:`FORM_ORG` drops the fixed prefix and both derivable check characters
    (12 bytes); other valid codes use :data:`FORM_RAW` (base 36, 18 bytes).
    """
    uscc, ext = code[4:22], code[22:]
    if code.startswith("0011") and _org_packable(uscc):
        n = _USCC_ALPHABET.index(uscc[0]) * 31 + _USCC_ALPHABET.index(uscc[1])
        n = n * 10**6 + int(uscc[2:8])
        for c in uscc[8:16]:
            n = n * 36 + _B36.index(c)
        e = 0 if ext == "00000" else 1 + (int(ext[0]) - 1) * 36**4 + int(ext[1:], 36)
        n = n * _EXT_RADIX + e
        return FORM_ORG, n.to_bytes(_ORG_LEN, "big")
    return FORM_RAW, int(code, 36).to_bytes(_RAW_LEN, "big")


def packed_length(form: int) -> int:
    """
    Return the byte length of a packed code of *form*, or raise ``ValueError``.
    """
    if form == FORM_ORG:
        return _ORG_LEN
    if form == FORM_RAW:
        return _RAW_LEN
    raise ValueError(f"unknown producer form {form}")


def unpack_producer(form: int, data: bytes) -> str:
    """
    Inverse of :func:`pack_producer`; raises ``ValueError`` if *data* is not a valid code.
    """
    n = int.from_bytes(data, "big")
    if form == FORM_RAW:
        digits = []
        for _ in range(27):
            n, r = divmod(n, 36)
            digits.append(_B36[r])
        if n:
            raise ValueError("packed producer code out of range")
        code = "".join(reversed(digits))
    elif form == FORM_ORG:
        n, e = divmod(n, _EXT_RADIX)
        if e == 0:
            ext = "00000"
        else:
            kind, app = divmod(e - 1, 36**4)
            ext = str(kind + 1) + _to_b36(app, 4)
        n, org_num = divmod(n, 36**8)
        n, region = divmod(n, 10**6)
        a, b = divmod(n, 31)
        if a >= 31:
            raise ValueError("packed producer code out of range")
        org = _to_b36(org_num, 8)
        first16 = _USCC_ALPHABET[a] + _USCC_ALPHABET[b] + f"{region:06d}" + org
        if any(c not in _USCC_ALPHABET for c in org):
            raise ValueError("packed producer code has letters outside GB 32100")
        first17 = first16 + org_check_char(org)
        return "0011" + first17 + uscc_check_char(first17) + ext  # valid by construction
    else:
        raise ValueError(f"unknown producer form {form}")
    try:
        return validate_producer_code(code)
    except ProducerCodeError as exc:
        raise ValueError(str(exc)) from exc


def _to_b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))
