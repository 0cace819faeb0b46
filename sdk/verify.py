"""
verify(): classify received text per Art. 6 and report the evidence of every channel.

Damaged input is an answer, never an exception: ``not_found``, ``corrupt`` (marks
present but unreadable), ``forged`` (a readable mark whose MAC or signature fails
under the given key), ``tampered`` (an authentic seal whose text binding no longer
matches), ``valid`` (authentic packets, no seal — an excerpt), ``unverified`` (readable
marks, no key to check them) and ``intact``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import text_digest
from .explicit import LabelMatch, find_label_phrases
from .ids import parse_produce_id
from .labeler import LabeledText, reserved_code1
from .marks import alphabet
from .marks.crc import crc8
from .marks.keys import VerifyingKeys, load_public_key, secret_bytes
from .marks.packet import KIND_SEAL_ED25519, PACKET_LEN, VALID_LENGTHS, Decoded, parse
from .metadata import AIGCMetadata

__all__ = [
    "ChannelEvidence",
    "Evidence",
    "MappingResolver",
    "Resolver",
    "SealEvidence",
    "Status",
    "Tier",
    "Verdict",
    "verify",
]

Tier = Literal["confirmed", "possible", "suspected", "none"]
Status = Literal["intact", "valid", "unverified", "tampered", "forged", "corrupt", "not_found"]
_TIER_OF_LABEL: dict[str, Tier] = {"1": "confirmed", "2": "possible", "3": "suspected"}
_MAX_RUNS = 100_000  # beyond this many candidate runs the rest are counted, not decoded


@runtime_checkable
class Resolver(Protocol):
    """
    Maps a packet's mark id (8 hex digits) to the full implicit label, or ``None``.

    :class:`~aigclabel.LabeledText`, :class:`MappingResolver` and record stores implement it.
    """

    def resolve(self, mark_id: str) -> AIGCMetadata | None:
        """
        Return the implicit label of the content whose packets carry *mark_id*, or ``None``.
        """
        ...


class MappingResolver:
    """
    An in-memory resolver filled from labeled results or metadata.

    .. versionadded:: 0.1.0
    """

    def __init__(self, items: Iterable[LabeledText | AIGCMetadata] = ()) -> None:
        self._by_id: dict[str, AIGCMetadata] = {}
        for item in items:
            self.add(item)

    def add(self, item: LabeledText | AIGCMetadata) -> None:
        """
        Remember one result's metadata under its mark id.
        """
        metadata = item.metadata if isinstance(item, LabeledText) else item
        parts = parse_produce_id(metadata.produce_id)
        if parts is None:
            raise ValueError(
                f"ProduceID {metadata.produce_id!r} was not made by aigc-label; it has no mark id"
            )
        self._by_id[f"{parts.mark_id:08x}"] = metadata

    def resolve(self, mark_id: str) -> AIGCMetadata | None:
        """
        Return the remembered metadata for *mark_id*, or ``None``.
        """
        return self._by_id.get(mark_id)


@dataclass(frozen=True, slots=True)
class ChannelEvidence:
    """
    What one invisible channel (``cf`` zero-width, ``mn`` variation selectors) held.

    ``runs`` counts candidate runs; ``corrupt`` those that decode to no valid mark;
    packets are ``valid`` (MAC verified), ``forged`` (MAC fails under every given key)
    or ``unverified`` (no key given).
    """

    channel: Literal["cf", "mn"]
    runs: int = 0
    corrupt: int = 0
    packets: int = 0
    valid: int = 0
    forged: int = 0
    unverified: int = 0
    seals: int = 0


@dataclass(frozen=True, slots=True)
class SealEvidence:
    """
    The seal that decided the verdict (the last authentic one in the text).

    ``authentic`` is ``True``/``False`` when a key could check it, ``None`` without one;
    ``binding`` is ``intact`` when the canonical visible text still matches.
    """

    channel: Literal["cf", "mn"]
    algorithm: Literal["HS256", "Ed25519"]
    authentic: bool | None
    binding: Literal["intact", "tampered"]
    mark_id: str
    produce_id: str
    producer: str
    label: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """
    Everything verify() saw, channel by channel.
    """

    cf: ChannelEvidence
    mn: ChannelEvidence
    seal: SealEvidence | None
    seals_found: int
    mark_ids: tuple[str, ...]
    explicit: tuple[LabelMatch, ...]
    resolved_by: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """
    The outcome of :func:`verify`.

    Attributes:
        tier: Art. 6 tier — ``confirmed`` (Label 1), ``possible`` (2), ``suspected`` (3) or ``none``.
        label: the Annex E ``Label`` value matching *tier*, ``None`` for ``none``.
        status: the state of the marks (see module docstring).
        metadata: the implicit label recovered from the seal or a resolver.
        mark_id: the identifier the packets carry, if any were read.
        produce_id: the ProduceID, when the seal or a resolver supplied it.
        evidence: per-channel detail.

    .. versionadded:: 0.1.0
    """

    tier: Tier
    label: Literal["1", "2", "3"] | None
    status: Status
    metadata: AIGCMetadata | None
    mark_id: str | None
    produce_id: str | None
    evidence: Evidence = field(repr=False)

    @property
    def labeled(self) -> bool:
        """
        Whether any label (mark or explicit phrase) was found.
        """
        return self.tier != "none"

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-ready dict: tier, label, status, metadata (Annex E keys), ids and evidence.
        """
        return {
            "tier": self.tier,
            "label": self.label,
            "status": self.status,
            "metadata": self.metadata.to_dict("bare") if self.metadata is not None else None,
            "mark_id": self.mark_id,
            "produce_id": self.produce_id,
            "evidence": asdict(self.evidence),
        }


KeyInput = str | bytes
PublicKeyInput = str | bytes | Ed25519PublicKey


def _keys(
    key: KeyInput | Sequence[KeyInput] | None, public_key: PublicKeyInput | Sequence[PublicKeyInput] | None
) -> VerifyingKeys:
    secrets = [] if key is None else [key] if isinstance(key, str | bytes) else list(key)
    publics = (
        []
        if public_key is None
        else [public_key]
        if isinstance(public_key, str | bytes | Ed25519PublicKey)
        else list(public_key)
    )
    return VerifyingKeys(
        [secret_bytes(k, field="key") for k in secrets], [load_public_key(k) for k in publics]
    )


def _candidates(body: str, decode: Callable[[str], bytes | None], per_byte: int) -> list[bytes]:
    """
    The byte strings a run may hold: the whole run, else windows of every valid length
    aligned to its end and to its start (a mark may touch foreign invisible characters).
    """
    if len(body) // per_byte in VALID_LENGTHS and len(body) % per_byte == 0:
        whole = decode(body)
        return [whole] if whole is not None else []
    out = []
    for n in VALID_LENGTHS:
        width = n * per_byte
        if width < len(body):
            for piece in (body[-width:], body[:width]):
                data = decode(piece)
                if data is not None:
                    out.append(data)
    return out


def verify(
    text: str,
    *,
    key: KeyInput | Sequence[KeyInput] | None = None,
    public_key: PublicKeyInput | Sequence[PublicKeyInput] | None = None,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
) -> Verdict:
    """
    Read every label channel of *text* and classify it.

    Args:
        text: the received text (any length; work is linear in it).
        key: the producer's HMAC secret, or several (rotation); authenticates packets and seals.
        public_key: Ed25519 public key(s) (raw 32 bytes, hex or PEM) for signed seals.
        resolver: maps a mark id to full metadata when no seal is present (excerpts).

    Returns:
        A :class:`Verdict`; never raises for damaged or hostile text.

    Raises:
        TypeError: *text* is not a ``str``.
        KeyMaterialError: a given key is unusable (too short, not Ed25519).

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise TypeError(f"verify() takes str, not {type(text).__name__}; decode bytes as UTF-8 first")
    keys = _keys(key, public_key)
    # Counts per channel, named like the fields of ChannelEvidence.
    channels: dict[Literal["cf", "mn"], Counter[str]] = {"cf": Counter(), "mn": Counter()}
    decoded: list[tuple[int, Literal["cf", "mn"], Decoded, bool | None]] = []
    notes: list[str] = []
    runs_seen = 0
    spans: list[tuple[int, int]] = []
    fragments: list[tuple[int, Literal["cf", "mn"], str]] = []
    seen: dict[str, list[tuple[Decoded, bool | None]]] = {}
    for m in alphabet.MARK_RUN.finditer(text):
        spans.append(m.span())
        for part in alphabet.CHANNEL_PART.finditer(m.group()):
            name: Literal["cf", "mn"] = "cf" if part.lastgroup == "cf" else "mn"
            ch = channels[name]
            if name == "cf":
                if len(part.group()) < 8:
                    continue
                pieces = [part.group()]
                decode, per_byte = alphabet.decode_cf, 4
            else:
                pieces = [p for p in part.group().split(alphabet.CGJ) if len(p) >= 4]
                decode, per_byte = alphabet.decode_mn, 2
            for run in pieces:
                ch["runs"] += 1
                runs_seen += 1
                if runs_seen > _MAX_RUNS:
                    ch["corrupt"] += 1
                    continue
                # Every packet of a text is the same run: decode and authenticate it once.
                marks = seen.get(run)
                if marks is None:
                    marks = seen[run] = [
                        (mark, _authenticate(mark, keys))
                        for mark in map(parse, _candidates(run, decode, per_byte))
                        if not isinstance(mark, str)
                    ]
                at = m.start() + part.start()
                decoded.extend((at, name, mark, ok) for mark, ok in marks)
                if not marks:
                    ch["corrupt"] += 1
                    fragments.append((m.start() + part.start(), name, run))
    if runs_seen > _MAX_RUNS:
        notes.append(f"{runs_seen - _MAX_RUNS} further candidate runs were counted but not decoded")
    spliced = _splice(fragments)
    if spliced is not None:
        at, name, mark = spliced
        channels[name]["corrupt"] -= 1
        decoded.append((at, name, mark, _authenticate(mark, keys)))
        notes.append("a packet was rebuilt from the truncated mark runs at the ends of the text (an excerpt)")

    digest: bytes | None = None
    seals: list[tuple[int, Literal["cf", "mn"], Decoded, bool | None]] = []
    for item in decoded:
        _, name, mark, ok = item
        ch = channels[name]
        if mark.is_seal:
            ch["seals"] += 1
            seals.append(item)
            continue
        ch["packets"] += 1
        if ok is True:
            ch["valid"] += 1
        elif ok is False:
            ch["forged"] += 1
        else:
            ch["unverified"] += 1

    explicit = tuple(find_label_phrases(text))
    seal_ev: SealEvidence | None = None
    metadata: AIGCMetadata | None = None
    mark_id: str | None = None
    produce_id: str | None = None
    label: str | None = None
    status: Status
    resolved_by: str | None = None

    rank = {True: 2, None: 1, False: 0}
    if seals:
        _, chan, seal, ok = max(seals, key=lambda s: (rank[s[3]], s[0]))
        if digest is None:
            digest = text_digest(_without_spans(text, spans))
        intact = seal.digest == digest[: len(seal.digest or b"")]
        assert seal.produce_id is not None
        assert seal.producer is not None
        signed = seal.kind == KIND_SEAL_ED25519
        seal_ev = SealEvidence(
            chan,
            "Ed25519" if signed else "HS256",
            ok,
            "intact" if intact else "tampered",
            f"{seal.mark_id:08x}",
            seal.produce_id,
            seal.producer,
            seal.label,
        )
        mark_id, produce_id, label = seal_ev.mark_id, seal.produce_id, seal.label
        rc1 = ""
        if intact and ok is not False:
            auth = seal.auth if signed else keys.full_hmac(seal.message, seal.auth)
            if auth is not None:
                rc1 = reserved_code1(seal_ev.algorithm, seal.slot, digest, auth)
        metadata = AIGCMetadata.first_write(
            producer=seal.producer,
            produce_id=seal.produce_id,
            label=seal.label,  # type: ignore[arg-type]
            reserved_code1=rc1,
        )
        if ok is False:
            status, metadata = "forged", None  # unauthenticated claims are evidence, not metadata
        elif not intact:
            status = "tampered"
        else:
            status = "intact" if ok else "unverified"
    else:
        packets = [(m, ok) for _, _, m, ok in decoded]
        best = max((rank[ok] for _, ok in packets), default=None)
        if best is None:
            status = "corrupt" if channels["cf"]["runs"] + channels["mn"]["runs"] else "not_found"
        else:
            chosen = Counter(m.mark_id for m, ok in packets if rank[ok] == best).most_common(1)[0][0]
            first = next(m for m, ok in packets if m.mark_id == chosen)
            mark_id, label = f"{chosen:08x}", first.label
            status = "valid" if best == 2 else "unverified" if best == 1 else "forged"
            if resolver is not None and status != "forged":
                metadata = _resolve(resolver, mark_id)
                if metadata is not None:
                    produce_id = metadata.produce_id
                    resolved_by = type(resolver).__name__
                else:
                    notes.append(f"the resolver has no record for mark id {mark_id}")

    tier: Tier
    if status in ("intact", "valid", "unverified", "tampered") and label is not None:
        tier = _TIER_OF_LABEL[label]
    elif status in ("forged", "corrupt") or explicit:
        tier, label = "suspected", "3"
    else:
        tier, label = "none", None
    if status == "forged":
        notes.append("a mark was read but its MAC or signature fails under every given key")
    evidence = Evidence(
        cf=ChannelEvidence("cf", **channels["cf"]),
        mn=ChannelEvidence("mn", **channels["mn"]),
        seal=seal_ev,
        seals_found=len(seals),
        mark_ids=tuple(dict.fromkeys(f"{m.mark_id:08x}" for _, _, m, _ in decoded)),
        explicit=explicit,
        resolved_by=resolved_by,
        notes=tuple(notes),
    )
    return Verdict(tier, label, status, metadata, mark_id, produce_id, evidence)  # type: ignore[arg-type]


def _whole_bytes(run: str, name: str, *, tail: bool) -> bytes:
    """
    The whole bytes a truncated run holds: its last ones if it lost its head, else its first.
    """
    per = 4 if name == "cf" else 2
    n = len(run) // per * per
    piece = run[len(run) - n :] if tail else run[:n]
    data = (alphabet.decode_cf if name == "cf" else alphabet.decode_mn)(piece) if n else b""
    return data or b""


def _splice(
    fragments: list[tuple[int, Literal["cf", "mn"], str]],
) -> tuple[int, Literal["cf", "mn"], Decoded] | None:
    """
    Rebuild a packet from the truncated runs at the ends of an excerpt.

    All packets of a text hold the same bytes, whichever channel carries them, so the
    tail of the first run (a packet that lost its head) and the head of the last (one
    that lost its tail) complete each other; and a seal's first nine bytes, kind bits
    cleared, are a packet without its CRC. The CRC and MAC check the result. This
    halves the excerpt needed in the worst case.
    """
    if not fragments:
        return None
    last = max(fragments)
    head = _whole_bytes(last[2], last[1], tail=False)
    if head and (head[0] >> 4) & 3:
        head = bytes([head[0] & 0xCF]) + head[1 : PACKET_LEN - 1]
        if len(head) == PACKET_LEN - 1:
            head += bytes([crc8(head)])
    candidates = [head] if len(head) == PACKET_LEN else []
    if len(fragments) >= 2:
        first = min(fragments)
        tail = _whole_bytes(first[2], first[1], tail=True)
        need = PACKET_LEN - len(tail)
        if 0 < need <= len(head):
            candidates.append(head[:need] + tail)
    for data in candidates:
        mark = parse(data)
        if not isinstance(mark, str) and not mark.is_seal:
            return last[0], last[1], mark
    return None


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """
    *text* without the candidate runs: the canonical form is unchanged (runs hold no
    letters or digits) but an all-ASCII remainder takes the fast path.
    """
    if not spans:
        return text
    out, pos = [], 0
    for a, b in sorted(spans):
        if a >= pos:
            out.append(text[pos:a])
            pos = b
    out.append(text[pos:])
    return "".join(out)


def _authenticate(mark: Decoded, keys: VerifyingKeys) -> bool | None:
    if not mark.is_seal:
        return keys.check_packet(mark.message, mark.auth)
    if mark.kind == KIND_SEAL_ED25519:
        return keys.check_signature(mark.message, mark.auth)
    return keys.check_seal_hmac(mark.message, mark.auth)


def _resolve(resolver: Resolver | Mapping[str, AIGCMetadata], mark_id: str) -> AIGCMetadata | None:
    metadata = resolver.get(mark_id) if isinstance(resolver, Mapping) else resolver.resolve(mark_id)
    if metadata is None:
        return None
    parts = parse_produce_id(metadata.produce_id)
    if parts is not None and f"{parts.mark_id:08x}" != mark_id:
        return None  # the record does not belong to this mark
    return metadata
