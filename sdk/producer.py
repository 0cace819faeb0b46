"""
TC260 provider codes (服务提供者编码): validation and compact binary packing.

A code is 27 characters of digits and upper-case letters::

    00  <20-character subject code>           <5-character service extension>
    fmt 1 1 <18-character USCC>  (organisation)  00000 | 1xxxx (generation) | 2xxxx (propagation)

For an organisation bound to a USCC (subject ``11``) the embedded 统一社会信用代码 carries a
GB 32100-2015 check character, and its characters 9-17, the GB 11714 organisation code
(主体标识码), carry one of their own. Both are validated, and both are dropped when the code is
packed for the in-text seal: they are derivable, and every byte in the text costs about four
LLM tokens.

The coding rule also covers individual providers, whose layout is not known here: a code whose
subject is not ``11`` + USCC is accepted on its format, length, charset and extension alone, and
:func:`check_producer_code` says what was not checked.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from .exceptions import ProducerCodeError

__all__ = [
    "ProducerCodeCheck",
    "check_producer_code",
    "pack_producer",
    "unpack_producer",
    "validate_producer_code",
]

#: What a code is configured for: a generation service's code (``ContentProducer``) or a
#: propagation service's (``ContentPropagator``).
Role = Literal["producer", "propagator"]
Subject = Literal["organisation", "individual", "unknown"]
Service = Literal["generation", "propagation", "none"]

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CODE_RE = re.compile(r"[0-9A-Z]{27}")
_EXT_RE = re.compile(r"00000|[12][0-9A-Z]{4}")
_EXAMPLE = "001191110102MAD55U9H0F10002"
_HINT = (
    f"a valid code looks like {_EXAMPLE!r}: '00' + 20-character subject code ('11' + the 18-character "
    "USCC for an organisation) + 5-character service extension"
)
_SOURCE = "Copy it from the operator's registration: the SDK never invents one."
_SERVICES: dict[str, Service] = {"0": "none", "1": "generation", "2": "propagation"}
# role: (its service, the other service, what the other's code identifies, its extension digit)
_ROLE_WANTS = {
    "producer": ("generation", "propagation", "a platform in ContentPropagator", "1"),
    "propagator": ("propagation", "generation", "a generation service in ContentProducer", "2"),
}

# Packed forms. Form 1: the TC260 organisation layout, 12 bytes. Form 2: any
# other 27-character code, base 36, 18 bytes (individual and other non-USCC
# subjects, and USCC codes whose region part is not six digits).
FORM_ORG = 1
FORM_RAW = 2
_ORG_LEN = 12
_RAW_LEN = 18
_EXT_RADIX = 1 + 2 * 36**4


@dataclass(frozen=True, slots=True)
class ProducerCodeCheck:
    """
    What :func:`check_producer_code` verified about a valid provider code, and what it could not.

    Attributes:
        code: the code, unchanged.
        subject: ``"organisation"`` (subject type ``1``), or ``"unknown"`` for any other subject
            type: the layout of individual providers' codes is not known to the SDK, so it does not
            guess which types they use. ``"individual"`` is reserved for when that layout is known.
        service: from the extension: ``"generation"`` (``1xxxx``), ``"propagation"`` (``2xxxx``)
            or ``"none"`` (``00000``).
        checked: the checks that ran and passed, in order: ``"length"``, ``"charset"``,
            ``"format"``, then for a ``11`` + USCC subject ``"uscc-charset"``, ``"uscc-check"``
            (GB 32100) and ``"org-check"`` (GB 11714), then ``"extension"``, and ``"role"`` when
            a role was given.
        unchecked: human-readable reasons for what was not (or could not be) verified.

    .. versionadded:: 0.2.0
    """

    code: str
    subject: Subject
    service: Service
    checked: tuple[str, ...]
    unchecked: tuple[str, ...]


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


def check_producer_code(code: str, *, field: str = "producer", role: Role | None = None) -> ProducerCodeCheck:
    """
    Validate a TC260 provider code and report which checks ran.

    Args:
        code: the 27-character provider code.
        field: the setting being validated, named in errors (``"producer"``, ``"propagator"``…).
        role: ``"producer"`` refuses a propagation-service code (``2xxxx``), ``"propagator"`` a
            generation-service code (``1xxxx``); ``00000`` suits both. ``None`` (the default)
            checks no role: it is never inferred from *field*.

    Returns:
        A :class:`ProducerCodeCheck`: the subject and service read from the code, the checks
        that passed and the reasons why others did not run.

    Raises:
        ProducerCodeError: naming *field*, what is wrong and what a valid code looks like.
        ValueError: *role* is not ``"producer"``, ``"propagator"`` or ``None``.

    .. versionadded:: 0.2.0
    """
    return _inspect(code, field=field, role=role, org_check=True)


def validate_producer_code(code: str, *, field: str = "producer", role: Role | None = None) -> str:
    """
    Validate a TC260 provider code and return it unchanged.

    Args:
        code: the 27-character provider code.
        field: the setting being validated, named in errors.
        role: ``"producer"`` or ``"propagator"`` to refuse a code registered for the other kind
            of service (see :func:`check_producer_code`); ``None`` checks no role.

    Raises:
        ProducerCodeError: naming *field*, what is wrong and what a valid code looks like.
        ValueError: *role* is not ``"producer"``, ``"propagator"`` or ``None``.

    .. versionchanged:: 0.2.0
       Codes whose subject is not ``11`` + USCC (individual providers) are accepted; the
       GB 11714 organisation check runs; the *role* keyword.
    """
    return _inspect(code, field=field, role=role, org_check=True).code


def _inspect(code: str, *, field: str, role: Role | None, org_check: bool) -> ProducerCodeCheck:
    if role is not None and role not in _ROLE_WANTS:
        raise ValueError(f"role must be 'producer', 'propagator' or None, not {role!r}")
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise ProducerCodeError(
            f"{field}: {code!r} is not 27 digits and upper-case letters; {_HINT}", code=str(code), field=field
        )
    checked = ["length", "charset"]
    unchecked: list[str] = []
    if not code.startswith("00"):
        raise ProducerCodeError(
            f"{field}: {code!r} must start with the format prefix '00'; {_HINT}", code=code, field=field
        )
    checked.append("format")
    subject: Subject
    if code[2:4] == "11":
        subject = "organisation"
        checked += _check_uscc(code, field, unchecked, org_check=org_check)
    elif code[2] == "1":
        subject = "organisation"
        unchecked.append(
            f"subject type {code[2:4]!r} is an organisation not bound to a USCC ('11'): that layout is not "
            "known, so characters 5-22 were checked for their charset only"
        )
    else:
        subject = "unknown"
        unchecked.append(
            f"subject type {code[2]!r} is not an organisation ('1'): it may be an individual provider, whose "
            "code layout is not known, so characters 3-22 were checked for their charset only"
        )
    ext = code[22:]
    if not _EXT_RE.fullmatch(ext):
        raise ProducerCodeError(
            f"{field}: service extension {ext!r} of {code!r} must be '00000', or '1' (generation) or "
            f"'2' (propagation) followed by a 4-character model/app code; {_HINT}",
            code=code,
            field=field,
        )
    checked.append("extension")
    service = _SERVICES[ext[0]]
    if service != "none":
        unchecked.append(f"the model/app code {ext[1:]!r} (extension characters 2-5): set at registration")
    if role is not None:
        _check_role(code, field, role, service)
        checked.append("role")
    unchecked.append("whether the code was issued to this operator: no registry is consulted")
    return ProducerCodeCheck(code, subject, service, tuple(checked), tuple(unchecked))


def _check_uscc(code: str, field: str, unchecked: list[str], *, org_check: bool) -> list[str]:
    uscc = code[4:22]
    if any(c not in _USCC_ALPHABET for c in uscc):
        raise ProducerCodeError(
            f"{field}: the USCC {uscc!r} inside {code!r} uses a letter outside GB 32100 "
            f"(no I, O, S, V or Z); {_HINT}",
            code=code,
            field=field,
        )
    expected = uscc_check_char(uscc[:17])
    if uscc[17] != expected:
        raise ProducerCodeError(
            f"{field}: the USCC {uscc!r} inside {code!r} fails its GB 32100 check character "
            f"(expected {expected!r}, found {uscc[17]!r}); the code is probably mistyped. {_SOURCE}",
            code=code,
            field=field,
        )
    checked = ["uscc-charset", "uscc-check"]
    # GB 32100-2015 makes characters 9-17 the organisation code, coded per GB 11714, so a real
    # USCC always carries a valid one (old numeric codes, MA… codes and individual businesses'
    # 92… codes alike). Passing GB 32100 but failing it means a multi-character slip or a made-up code.
    org = uscc[8:17]
    expected = org_check_char(org[:8])
    if org[8] == expected:
        checked.append("org-check")
    elif org_check:
        raise ProducerCodeError(
            f"{field}: the organisation code {org!r} (USCC characters 9-17) inside {code!r} fails its "
            f"GB 11714 check character (expected {expected!r}, found {org[8]!r}); GB 32100 requires a "
            f"valid organisation code there, so the code is mistyped or not a real USCC. {_SOURCE}",
            code=code,
            field=field,
        )
    else:
        unchecked.append(f"the GB 11714 check character of the organisation code {org!r} does not match")
    unchecked.append(
        "USCC characters 1-8 (registration authority, institution type, region) were not checked "
        "against their code lists"
    )
    return checked


def _check_role(code: str, field: str, role: Role, service: Service) -> None:
    wanted, refused, identifies, digit = _ROLE_WANTS[role]
    if service == refused:
        raise ProducerCodeError(
            f"{field}: {code!r} is a {refused}-service code (extension {code[22:]!r}), which "
            f"identifies {identifies}; a {role} needs the code registered for its {wanted} service "
            f"(extension '{digit}' + 4-character model/app code, or '00000'). {_SOURCE}",
            code=code,
            field=field,
        )


def _org_packable(uscc: str) -> bool:
    return uscc[2:8].isdigit() and org_check_char(uscc[8:16]) == uscc[16]


@functools.lru_cache(maxsize=256)  # a labeler packs one code; a platform sees few producers
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


@functools.lru_cache(maxsize=256)
def unpack_producer(form: int, data: bytes) -> str:
    """
    Inverse of :func:`pack_producer`; raises ``ValueError`` if *data* is not a valid code.

    Any code :func:`validate_producer_code` accepts unpacks, individual providers' included. A raw-form
    organisation code whose GB 11714 check character does not match (one that releases before 0.2.0
    accepted and packed) still unpacks: a reader does not refuse what an earlier writer produced.
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
        return _inspect(code, field="producer", role=None, org_check=False).code
    except ProducerCodeError as exc:
        raise ValueError(str(exc)) from exc


def _to_b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))
