"""
verify(): classify received text per Art. 6 and report the evidence of every channel.

Damaged input is an answer, never an exception: ``not_found``, ``corrupt`` (marks
present but unreadable), ``forged`` (a readable mark whose MAC or signature fails
under the given key), ``tampered`` (an authentic seal whose text binding no longer
matches), ``valid`` (authentic packets, no seal — an excerpt), ``unverified`` (readable
marks, no key to check them) and ``intact``.

Keys come as ``key=``/``public_key=`` (the caller names the producer's keys) or as a
:class:`~aigclabel.Keyring` (a platform's keys of many producers): a full seal names its
producer, so only that producer's keys are tried; marks that name none (packets, compact
seals) are tried with every key of the keyring. The text is decoded once, before any key is
chosen.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import contains_any, text_digest
from .exceptions import KeyMaterialError
from .explicit import LabelMatch, find_label_phrases
from .ids import parse_produce_id
from .keyring import Keyring, KeyringEntry
from .labeler import LabeledText, reserved_code1
from .marks import alphabet
from .marks.crc import crc8
from .marks.keys import KeyCheck, VerifyingKeys, load_public_key, secret_bytes
from .marks.packet import (
    HINT_LEN,
    KIND_SEAL_COMPACT,
    KIND_SEAL_ED25519,
    KIND_SEAL_MICRO,
    MICRO_VERSION,
    PACKET_LEN,
    VALID_LENGTHS,
    Decoded,
    parse,
)
from .metadata import AIGCMetadata
from .tiers import LABEL_OF_TIER, Tier, decide_tier

if TYPE_CHECKING:  # numpy-only extra: never imported by verify() itself
    from .watermark import WatermarkDetector, WatermarkEvidence

__all__ = [
    "ChannelEvidence",
    "Evidence",
    "KeyMatch",
    "MappingResolver",
    "Resolver",
    "SealEvidence",
    "Status",
    "Tier",
    "Verdict",
    "verify",
]

Status = Literal["intact", "valid", "unverified", "tampered", "forged", "corrupt", "not_found"]
Binding = Literal["intact", "tampered", "unchecked", "unmatched", "weak"]
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
    packets are ``valid`` (MAC verified, or repeated by an authentic seal), ``forged``
    (MAC fails under every given key) or ``unverified`` (no key that can check them);
    ``unbound`` counts readable packets whose mark id differs from the seal's (marks
    copied in from another text).
    """

    channel: Literal["cf", "mn"]
    runs: int = 0
    corrupt: int = 0
    packets: int = 0
    valid: int = 0
    forged: int = 0
    unverified: int = 0
    seals: int = 0
    unbound: int = 0


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """
    Which given key authenticated the deciding mark.

    ``index`` counts the HMAC secrets (``HS256``) or public keys (``Ed25519``) in the order
    they were given with ``key=``/``public_key=`` (``None`` for a labeler's own derived packet
    key and for a keyring's key); ``slot`` is the key slot the mark carries. A key of a
    :class:`~aigclabel.Keyring` is named by ``key_id`` and ``producer`` (``None`` otherwise).

    .. versionchanged:: 0.2.0
       ``key_id`` and ``producer``.
    """

    algorithm: Literal["HS256", "Ed25519"]
    index: int | None
    slot: int
    key_id: str | None = None
    producer: str | None = None


@dataclass(frozen=True, slots=True)
class SealEvidence:
    """
    The seal that decided the verdict (the last authentic one in the text).

    ``authentic`` is ``True``/``False`` when a key could check it, ``None`` without one.
    ``binding``: ``intact`` — the authenticator, checked with a given key, covers the full
    SHA-256 of this canonical text; ``tampered`` — the text (or the seal) changed;
    ``unchecked`` — no key could check it, the seal's 16-bit hint matches (a micro seal has
    no hint); ``unmatched`` — a seal that names no producer (compact, micro) and that no key of
    a keyring verifies over this text: edited, forged, or another producer's; ``weak`` — a
    format-1 seal whose 32-bit digest matches (too short to vouch for a text).

    .. versionchanged:: 0.3.0
       ``form`` ``"micro"`` (format 3) and binding ``unmatched``.
    """

    channel: Literal["cf", "mn"]
    algorithm: Literal["HS256", "Ed25519"]
    authentic: bool | None
    binding: Binding
    mark_id: str
    produce_id: str
    producer: str
    label: str
    version: int = 2
    form: Literal["full", "compact", "micro"] = "full"


@dataclass(frozen=True, slots=True)
class Evidence:
    """
    Everything verify() saw, channel by channel.

    ``watermark`` is the statistical watermark channel (:mod:`aigclabel.watermark`): the best
    score of the detector given to ``verify(watermark=...)``, ``None`` when none was given.

    .. versionchanged:: 0.3.0
       ``watermark``.
    """

    cf: ChannelEvidence
    mn: ChannelEvidence
    seal: SealEvidence | None
    seals_found: int
    mark_ids: tuple[str, ...]
    explicit: tuple[LabelMatch, ...]
    resolved_by: str | None = None
    notes: tuple[str, ...] = ()
    key: KeyMatch | None = None
    watermark: WatermarkEvidence | None = None


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
KeysArg = KeyInput | Sequence[KeyInput] | Mapping[int, KeyInput | Sequence[KeyInput]] | None
PublicKeysArg = (
    PublicKeyInput | Sequence[PublicKeyInput] | Mapping[int, PublicKeyInput | Sequence[PublicKeyInput]] | None
)
_T = TypeVar("_T")


def _slotted(
    value: object, single: tuple[type, ...], load: Callable[[Any], _T]
) -> list[tuple[int | None, _T]]:
    """
    Keys given as one key, a sequence (tried for every slot) or a mapping slot -> key(s).
    """
    if value is None:
        return []
    if isinstance(value, single):
        return [(None, load(value))]
    if isinstance(value, Mapping):
        out: list[tuple[int | None, _T]] = []
        for slot, keys in value.items():
            if not isinstance(slot, int) or not 0 <= slot <= 3:
                raise KeyMaterialError(f"key slots are 0-3, not {slot!r}")
            out.extend((slot, k) for _, k in _slotted(keys, single, load))
        return out
    return [(None, load(k)) for k in value]  # type: ignore[attr-defined]


_Given = tuple[list[tuple[int | None, bytes]], list[tuple[int | None, Ed25519PublicKey]]]


def _given(key: KeysArg, public_key: PublicKeysArg) -> _Given:
    return (
        _slotted(key, (str, bytes), _secret),
        _slotted(public_key, (str, bytes, Ed25519PublicKey), _public),
    )


@functools.lru_cache(maxsize=64)
def _secret(key: str | bytes) -> bytes:
    # A platform verifies every upload with the same few keys: normalise each once.
    return secret_bytes(key, field="key")


def _public(key: str | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else _public_from(key)


@functools.lru_cache(maxsize=64)
def _public_from(key: str | bytes) -> Ed25519PublicKey:
    return load_public_key(key)


class _Keys(VerifyingKeys):
    """
    The keys for one set of marks: the given ones first (their indexes unchanged), then
    keyring entries, with a cache of packet checks.

    *open* (marks that name no producer, checked against a whole keyring): a mark that no key
    made may come from a producer the keyring lacks, so a failed check reads as "no key"
    (``unverified``), never ``fail`` (``forged``); ``unmatched`` records that it happened.
    """

    __slots__ = ("_checks", "_n_hmac", "_n_public", "entries_hmac", "entries_public", "open", "unmatched")

    def __init__(self, given: _Given, entries: Sequence[KeyringEntry] = (), *, open: bool = False) -> None:
        hmacs, publics = given
        self.entries_hmac = [e for e in entries if e.algorithm == "HS256"]
        self.entries_public = [e for e in entries if e.algorithm == "Ed25519"]
        super().__init__(
            [*hmacs, *((e.slot, e.material) for e in self.entries_hmac if isinstance(e.material, bytes))],
            [
                *publics,
                *(
                    (e.slot, e.material)
                    for e in self.entries_public
                    if isinstance(e.material, Ed25519PublicKey)
                ),
            ],
        )
        self._n_hmac, self._n_public = len(hmacs), len(publics)
        self.open = open
        self.unmatched = False
        self._checks: dict[tuple[int, int, bytes], KeyCheck] = {}

    def _soften(self, check: KeyCheck) -> KeyCheck:
        if self.open and check.outcome == "fail":
            self.unmatched = True
            return KeyCheck("no_key")
        return check

    def check_mac(
        self, kind: Literal["mark", "seal"], message: bytes, mac: bytes, extra: bytes = b""
    ) -> KeyCheck:
        return self._soften(super().check_mac(kind, message, mac, extra))

    def check_signature(self, message: bytes, signature: bytes, extra: bytes = b"") -> KeyCheck:
        return self._soften(super().check_signature(message, signature, extra))

    def check_seal_mac(self, message: bytes, mac: bytes, digest: bytes) -> KeyCheck:
        """
        Check a seal MAC over *digest* without softening: ``fail`` means every key tried failed
        (the caller decides what that means when the keys are a whole keyring's).
        """
        result = super().check_mac("seal", message, mac, digest)
        if self.open and result.outcome == "fail":
            self.unmatched = True
        return result

    def packet(self, mark: Decoded) -> KeyCheck:
        """
        The check of *mark*'s packet MAC (header, mark id), once per distinct packet.
        """
        pk = mark.packet_key
        result = self._checks.get(pk)
        if result is None:
            head = bytes([pk[0]]) + pk[1].to_bytes(4, "big")
            result = self._checks[pk] = self.check_mac("mark", head, pk[2])
        return result

    def match(self, algorithm: Literal["HS256", "Ed25519"], index: int | None, slot: int) -> KeyMatch:
        """
        Name the key at *index* (as :class:`VerifyingKeys` counts them): a given one or a keyring entry.
        """
        given, entries = (
            (self._n_hmac, self.entries_hmac)
            if algorithm == "HS256"
            else (self._n_public, self.entries_public)
        )
        if index is None or index < given:
            return KeyMatch(algorithm, index, slot)
        entry = entries[index - given]
        return KeyMatch(algorithm, None, slot, entry.key_id, entry.producer)


def _parse_run(whole: str) -> list[tuple[int, Literal["cf", "mn"], str, list[Decoded]]]:
    """
    The channel pieces of one run of mark characters: ``(offset in the run, channel, piece, the
    marks it decodes to)``; a Cf piece shorter than two bytes is not a candidate.
    """
    out: list[tuple[int, Literal["cf", "mn"], str, list[Decoded]]] = []
    # A run of one channel (every run our labeler writes) is its own part: no regex split.
    if not contains_any(whole, _MN_CHARS):
        parts: Iterable[tuple[int, str | None, str]] = ((0, "cf", whole),)
    elif not contains_any(whole, alphabet.CF_ALPHABET):
        parts = ((0, "mn", whole),)
    else:
        parts = ((p.start(), p.lastgroup, p.group()) for p in alphabet.CHANNEL_PART.finditer(whole))
    for start, channel, part in parts:
        if channel == "cf":
            if len(part) >= 8:
                out.append((start, "cf", part, _decoded(part, alphabet.decode_cf, 4)))
        else:
            pieces = [p for p in part.split(alphabet.CGJ) if len(p) >= 4]
            out.extend((start, "mn", p, _decoded(p, alphabet.decode_mn, 2)) for p in pieces)
    return out


_MN_CHARS = alphabet.CGJ + alphabet.VS_ALPHABET


def _decoded(run: str, decode: Callable[[str], bytes | None], per_byte: int) -> list[Decoded]:
    return [mark for mark in map(parse, _candidates(run, decode, per_byte)) if not isinstance(mark, str)]


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


# The counters of one channel, named like the fields of ChannelEvidence.
_COUNTS = {f.name: 0 for f in fields(ChannelEvidence)[1:]}
_RANK: dict[str, int] = {"ok": 2, "no_key": 1, "no_slot": 1, "public_only": 1, "fail": 0}
_Found = tuple[int, Literal["cf", "mn"], Decoded]


def verify(
    text: str,
    *,
    key: KeysArg = None,
    public_key: PublicKeysArg = None,
    resolver: Resolver | Mapping[str, AIGCMetadata] | None = None,
    keyring: Keyring | None = None,
    watermark: WatermarkDetector | None = None,
) -> Verdict:
    """
    Read every label channel of *text* and classify it.

    Args:
        text: the received text (any length; work is linear in it).
        key: the producer's HMAC secret, several (rotation: each tried for every key slot),
            or a mapping ``{slot: secret or secrets}`` (a mark of a slot with no key is
            ``unverified``, never ``forged``).
        public_key: Ed25519 public key(s) (raw 32 bytes, hex or PEM), in the same shapes.
        resolver: maps a mark id to full metadata when no seal carries it (excerpts,
            compact seals, the micro seals of short replies).
        keyring: a platform's keys of many producers. A full seal is checked with the keys of
            the producer it names (plus *key*/*public_key*); a producer the keyring lacks
            leaves it ``unverified`` ("no key in the keyring for producer …"), never
            ``forged``. Marks that name no producer (packets, compact and micro seals) are tried with
            every HMAC secret of the keyring (one HMAC per secret and distinct packet or
            compact seal; they are not signed); one that no key made is ``unverified``, since it
            may come from a producer the keyring lacks. ``evidence.key`` names the entry
            (``key_id``, ``producer``); a retired key adds a note.
        watermark: a :class:`~aigclabel.watermark.WatermarkDetector` (extra ``[watermark]``):
            the visible text is scored for the statistical watermark of its profiles, and the
            result is ``evidence.watermark``. A significant score is a trace of a label: with no
            other label it gives tier ``suspected`` (Label 3, Art. 6(3)). A text shorter than
            the detector's ``min_tokens`` is "too short to tell" (a note), never "not
            watermarked". The statistical channel never makes a text ``confirmed`` and never
            changes ``status``, which describes the character marks.

    Returns:
        A :class:`Verdict`; never raises for damaged or hostile text. ``intact`` needs a
        format-2 seal or a micro seal (format 3) whose MAC or signature, checked with a given
        key, covers the full SHA-256 of the canonical text.

    Raises:
        TypeError: *text* is not a ``str``.
        KeyMaterialError: a given key is unusable (too short, not Ed25519, a slot outside 0-3).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Format-2 seals; format-1 seals are read but never ``intact``; keys by slot; the
       matching key is reported in ``evidence.key``; ``keyring``.
    .. versionchanged:: 0.3.0
       ``watermark``: the statistical channel; micro seals (format 3).
    """
    if not isinstance(text, str):
        raise TypeError(f"verify() takes str, not {type(text).__name__}; decode bytes as UTF-8 first")
    given = _given(key, public_key)
    if keyring is not None and not isinstance(keyring, Keyring):
        raise TypeError(f"keyring must be an aigclabel.Keyring, not {type(keyring).__name__}")
    # Counts per channel, named like the fields of ChannelEvidence.
    channels: dict[Literal["cf", "mn"], dict[str, int]] = {"cf": _COUNTS.copy(), "mn": _COUNTS.copy()}
    decoded: list[_Found] = []
    notes: list[str] = []
    runs_seen = 0
    spans: list[tuple[int, int]] = []
    fragments: list[tuple[int, Literal["cf", "mn"], str]] = []
    # Every packet of a text is the same run: each distinct run is split and decoded once.
    parsed: dict[str, list[tuple[int, Literal["cf", "mn"], str, list[Decoded]]]] = {}
    for m in alphabet.mark_runs(text):
        spans.append(m.span())
        whole = m.group()
        parts = parsed.get(whole)
        if parts is None:
            parts = parsed[whole] = _parse_run(whole)
        for offset, name, run, marks in parts:
            ch = channels[name]
            ch["runs"] += 1
            runs_seen += 1
            if runs_seen > _MAX_RUNS:
                ch["corrupt"] += 1
                continue
            at = m.start() + offset
            if marks:
                decoded.extend([(at, name, mark) for mark in marks])
            else:
                ch["corrupt"] += 1
                fragments.append((at, name, run))
    if runs_seen > _MAX_RUNS:
        notes.append(f"{runs_seen - _MAX_RUNS} further candidate runs were counted but not decoded")
    spliced = _splice(fragments)
    if spliced is not None:
        channels[spliced[1]]["corrupt"] -= 1
        decoded.append(spliced)
        notes.append("a packet was rebuilt from the truncated mark runs at the ends of the text (an excerpt)")

    # Keys are chosen now that the marks are decoded: a full seal names its producer.
    keysets: dict[str | None, _Keys] = {}

    def keys_for(producer: str | None) -> _Keys:
        """
        The keys for marks of *producer* (``None``: marks that name no producer).
        """
        if keyring is None:
            producer = None
        found = keysets.get(producer)
        if found is None:
            if keyring is None:
                found = _Keys(given)
            elif producer is None:
                found = _Keys(given, keyring.entries, open=True)
            else:
                found = _Keys(given, keyring.for_producer(producer))
            keysets[producer] = found
        return found

    visible = _without_spans(text, spans)
    seals = [item for item in decoded if item[2].is_seal]
    seal_ev: SealEvidence | None = None
    key_match: KeyMatch | None = None
    metadata: AIGCMetadata | None = None
    mark_id: str | None = None
    produce_id: str | None = None
    label: str | None = None
    status: Status
    resolved_by: str | None = None
    bound: tuple[int, int, bytes] | None = None  # the packet an authentic seal vouches for

    keys: _Keys  # the keys of the deciding seal's producer, else for marks that name none
    if seals:
        judged = [
            (_judge_seal(seal, visible, keys_for(seal.producer)), at, chan, seal) for at, chan, seal in seals
        ]
        judgement, _, chan, seal = (
            judged[0] if len(judged) == 1 else max(judged, key=lambda j: (j[0].rank, j[1]))
        )
        keys = keys_for(seal.producer)
        produce_id = seal.produce_id
        seal_ev = SealEvidence(
            chan,
            "Ed25519" if seal.kind == KIND_SEAL_ED25519 else "HS256",
            judgement.authentic,
            judgement.binding,
            f"{seal.mark_id:08x}",
            produce_id or "",
            seal.producer or "",
            seal.label,
            seal.version,
            _SEAL_FORMS.get(seal.kind, "full"),
        )
        key_match = judgement.key
        mark_id, label = seal_ev.mark_id, seal.label
        if judgement.authentic is False:
            status = "forged"
        elif judgement.binding == "tampered":
            status = "tampered"
        elif judgement.binding == "intact":
            status = "intact"
        elif judgement.authentic:  # a format-1 seal: authentic, binding too weak to vouch
            status = "valid"
            notes.append(
                "a format-1 seal: its mark is authentic but its 32-bit text digest cannot vouch "
                "that the text is unedited (label again to get a format-2 seal)"
            )
        else:
            status = "unverified"
        if judgement.authentic:
            bound = seal.packet_key
        notes.extend(judgement.notes)
        if (
            keyring is not None
            and seal.producer not in (None, *keyring.producers)
            and not judgement.authentic
        ):
            notes.append(f"no key in the keyring for producer {seal.producer}")
        if status in ("intact", "valid", "unverified") and seal.producer is not None:
            assert produce_id is not None  # a seal that names its producer carries its ProduceID
            metadata = AIGCMetadata.first_write(
                producer=seal.producer,
                produce_id=produce_id,
                label=seal.label,  # type: ignore[arg-type]
                reserved_code1=judgement.reserved_code1,
            )
        elif status in ("intact", "valid", "unverified") and resolver is not None:
            metadata, resolved_by = _resolve_into(resolver, seal_ev.mark_id, notes)
            produce_id = metadata.produce_id if metadata is not None else None
    else:
        keys = keys_for(None)
    seal_mark = int(seal_ev.mark_id, 16) if seal_ev is not None else None
    counted: dict[int, tuple[str, bool]] = {}  # id(mark) -> (counter, unbound): packets repeat
    for _, name, mark in decoded:
        if mark.is_seal:
            channels[name]["seals"] += 1
            continue
        found = counted.get(id(mark))
        if found is None:
            outcome = "ok" if mark.packet_key == bound else keys.packet(mark).outcome
            found = counted[id(mark)] = (
                "valid" if outcome == "ok" else "forged" if outcome == "fail" else "unverified",
                seal_mark is not None and mark.mark_id != seal_mark and outcome != "fail",
            )
        ch = channels[name]
        ch["packets"] += 1
        ch[found[0]] += 1
        if found[1]:
            ch["unbound"] += 1
    unbound = channels["cf"]["unbound"] + channels["mn"]["unbound"]
    if unbound:
        notes.append(
            f"{unbound} packets carry a mark id the seal does not bind: marks from another text "
            "were copied or transplanted into this one"
        )

    if not seals:
        packets = [(m, keys.packet(m)) for _, _, m in decoded]
        best = max((_RANK[c.outcome] for _, c in packets), default=None)
        if best is None:
            status = "corrupt" if channels["cf"]["runs"] + channels["mn"]["runs"] else "not_found"
        else:
            chosen = Counter(m.mark_id for m, c in packets if _RANK[c.outcome] == best).most_common(1)[0][0]
            first, check = next((m, c) for m, c in packets if m.mark_id == chosen)
            mark_id, label = f"{chosen:08x}", first.label
            status = "valid" if best == 2 else "unverified" if best == 1 else "forged"
            if check.outcome == "ok":
                key_match = keys.match("HS256", check.key_index, first.slot)
            notes.extend(_slot_notes(check, first.slot))
            if resolver is not None and status != "forged":
                metadata, resolved_by = _resolve_into(resolver, mark_id, notes)
                produce_id = metadata.produce_id if metadata is not None else None

    explicit = tuple(find_label_phrases(text))
    statistical = _score_watermark(watermark, visible, notes) if watermark is not None else None
    significant = statistical is not None and statistical.significant
    tier = decide_tier(status=status, mark_label=label, traces=bool(explicit) or significant)
    label = LABEL_OF_TIER.get(tier)
    if status == "forged":
        notes.append("a mark was read but its MAC or signature fails under every given key")
    if keys.open and keys.unmatched and status == "unverified":
        notes.append(
            "no key of the keyring made these marks: they come from a producer the keyring has no "
            "key for, or are forged"
        )
    if key_match is not None and key_match.key_id is not None and keyring is not None:
        notes.extend(_rotation_notes(keyring, key_match, seal_ev, seals))
    evidence = Evidence(
        cf=ChannelEvidence("cf", **channels["cf"]),
        mn=ChannelEvidence("mn", **channels["mn"]),
        seal=seal_ev,
        seals_found=len(seals),
        mark_ids=tuple(f"{i:08x}" for i in dict.fromkeys(m.mark_id for _, _, m in decoded)),
        explicit=explicit,
        resolved_by=resolved_by,
        notes=tuple(dict.fromkeys(notes)),
        key=key_match,
        watermark=statistical,
    )
    return Verdict(tier, label, status, metadata, mark_id, produce_id, evidence)


def _score_watermark(detector: WatermarkDetector, visible: str, notes: list[str]) -> WatermarkEvidence | None:
    """
    The statistical channel's evidence for *visible*, with a note saying what it means.
    """
    if not callable(getattr(detector, "detect", None)):
        raise TypeError(
            f"watermark must be an aigclabel.watermark.WatermarkDetector, not {type(detector).__name__}"
        )
    if not visible.strip():
        notes.append("no visible text to score for a statistical watermark")
        return None
    found = detector.detect(visible)
    if found.too_short:
        notes.append(
            f"too short to tell whether the text carries a statistical watermark: {found.tokens_scored} "
            f"tokens scored, {found.min_tokens} needed"
        )
    elif found.significant:
        p = f"{found.p_value:.3g}" if found.p_value > 0 else f"10^{found.log10_p:.0f}"
        notes.append(
            f"a statistical watermark ({found.scheme}, key {found.key_id}) is present: "
            f"p = {p} over {found.tokens_scored} tokens "
            f"(threshold {found.threshold:g}, {found.profiles_tried} profiles tried)"
        )
    return found


@dataclass(slots=True)
class _SealJudgement:
    authentic: bool | None
    binding: Binding
    key: KeyMatch | None = None
    reserved_code1: str = ""
    notes: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        return 2 if self.authentic else 1 if self.authentic is None else 0


def _slot_notes(check: KeyCheck, slot: int) -> tuple[str, ...]:
    if check.outcome == "no_slot":
        return (f"no key was given for key slot {slot}: the mark is unverified, not forged",)
    if check.outcome == "public_only":
        return (
            "format-1 packets of an Ed25519-only producer: their check is keyed by the public key, "
            "so it proves integrity, not authorship",
        )
    return ()


def _rotation_notes(
    keyring: Keyring, match: KeyMatch, seal_ev: SealEvidence | None, seals: list[_Found]
) -> list[str]:
    """
    Notes on the keyring entry that decided the verdict: retired, or used after its last day.
    """
    assert match.producer is not None
    entry = next(e for e in keyring.for_producer(match.producer) if e.key_id == match.key_id)
    out = []
    if entry.is_retired():
        out.append(f"matched retired key {entry.key_id} of producer {entry.producer}")
    if entry.not_after is not None and seal_ev is not None:
        seal = next((s for _, _, s in seals if f"{s.mark_id:08x}" == seal_ev.mark_id and s.parts), None)
        if seal is not None and seal.parts is not None:
            made = _dt.datetime.fromtimestamp(seal.parts.unix_ms / 1000, _dt.UTC).date()
            if made > entry.not_after:
                out.append(
                    f"key {entry.key_id} of producer {entry.producer} made a mark on {made.isoformat()}, "
                    f"after its not_after date {entry.not_after.isoformat()}"
                )
    return out


_SEAL_FORMS: dict[int, Literal["compact", "micro"]] = {KIND_SEAL_COMPACT: "compact", KIND_SEAL_MICRO: "micro"}


def _judge_seal(seal: Decoded, visible: str, keys: _Keys) -> _SealJudgement:
    """
    Decide a seal's authenticity and what it says about the visible text.
    """
    if seal.version == MICRO_VERSION:
        return _judge_micro(seal, visible, keys)
    signed = seal.kind == KIND_SEAL_ED25519
    alg: Literal["HS256", "Ed25519"] = "Ed25519" if signed else "HS256"
    if seal.version == 1:
        digest = text_digest(visible, version=1)
        check = (
            keys.check_signature(seal.message, seal.auth)
            if signed
            else keys.check_mac("seal", seal.message, seal.auth)
        )
        matches = seal.hint == digest[: len(seal.hint or b"")]
        binding: Binding = "weak" if matches else "tampered"
        if check.outcome == "ok":
            full = seal.auth if signed else check.full
            rc1 = reserved_code1(alg, seal.slot, digest, full, version=1) if matches and full else ""
            return _SealJudgement(True, binding, keys.match(alg, check.key_index, seal.slot), rc1)
        if check.outcome == "fail":
            return _SealJudgement(False, binding)
        return _SealJudgement(None, binding, notes=_slot_notes(check, seal.slot))
    digest = text_digest(visible, profile=seal.profile)
    hint_matches = seal.hint == digest[:HINT_LEN]
    if signed:
        check = keys.check_signature(seal.message, seal.auth, digest)
    else:
        check = keys.check_mac("seal", seal.message, seal.auth, digest)
    if check.outcome == "ok":
        full = seal.auth if signed else check.full
        rc1 = reserved_code1(alg, seal.slot, digest, full) if full is not None else ""
        return _SealJudgement(True, "intact", keys.match(alg, check.key_index, seal.slot), rc1)
    # The authenticator does not cover this text. The seal's packet MAC (header, mark id)
    # tells an authentic seal over changed text from a forged one when a packet key is known.
    claims = keys.packet(seal)
    if check.outcome == "fail" or claims.outcome in ("ok", "fail"):
        if claims.outcome == "ok":
            return _SealJudgement(
                True,
                "tampered",
                keys.match("HS256", claims.key_index, seal.slot),
                notes=(
                    ("the visible text changed after labeling",)
                    if not hint_matches
                    else ("the seal's authenticator does not cover this text or the seal was altered",)
                ),
            )
        if claims.outcome == "fail" or hint_matches:
            return _SealJudgement(False, "tampered" if not hint_matches else "unchecked")
        # A signature fails, the packet MAC cannot be checked (public key only), the hint differs.
        return _SealJudgement(
            None,
            "tampered",
            notes=("the visible text no longer matches the seal; its authenticity cannot be checked",),
        )
    notes = _slot_notes(check, seal.slot)
    if hint_matches:
        return _SealJudgement(None, "unchecked", notes=notes)
    return _SealJudgement(
        None, "tampered", notes=(*notes, "the visible text no longer matches the seal's hint")
    )


def _judge_micro(seal: Decoded, visible: str, keys: _Keys) -> _SealJudgement:
    """
    A micro seal has one MAC and no packet MAC or hint: it is ``intact`` or it is not, and when
    its MAC fails nobody can say whether the text changed or the seal was forged.
    """
    digest = text_digest(visible, profile=seal.profile)
    check = keys.check_seal_mac(seal.message, seal.auth, digest)
    if check.outcome == "ok":
        full = check.full
        rc1 = reserved_code1("HS256", seal.slot, digest, full, version=MICRO_VERSION) if full else ""
        return _SealJudgement(True, "intact", keys.match("HS256", check.key_index, seal.slot), rc1)
    if check.outcome == "fail" and keys.open:
        # Only a keyring's keys were tried: the producer may simply not be in it.
        return _SealJudgement(None, "unmatched")
    if check.outcome == "fail":
        return _SealJudgement(
            None,
            "tampered",
            notes=(
                "the text does not match its micro seal: edited after labeling, or the seal is forged "
                "(a micro seal cannot tell which)",
            ),
        )
    return _SealJudgement(None, "unchecked", notes=_slot_notes(check, seal.slot))


def _resolve_into(
    resolver: Resolver | Mapping[str, AIGCMetadata], mark_id: str, notes: list[str]
) -> tuple[AIGCMetadata | None, str | None]:
    metadata = _resolve(resolver, mark_id)
    if metadata is None:
        notes.append(f"the resolver has no record for mark id {mark_id}")
        return None, None
    return metadata, type(resolver).__name__


def _whole_bytes(run: str, name: str, *, tail: bool) -> bytes:
    """
    The whole bytes a truncated run holds: its last ones if it lost its head, else its first.
    """
    per = 4 if name == "cf" else 2
    n = len(run) // per * per
    piece = run[len(run) - n :] if tail else run[:n]
    data = (alphabet.decode_cf if name == "cf" else alphabet.decode_mn)(piece) if n else b""
    return data or b""


def _splice(fragments: list[tuple[int, Literal["cf", "mn"], str]]) -> _Found | None:
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


def _resolve(resolver: Resolver | Mapping[str, AIGCMetadata], mark_id: str) -> AIGCMetadata | None:
    metadata = resolver.get(mark_id) if isinstance(resolver, Mapping) else resolver.resolve(mark_id)
    if metadata is None:
        return None
    parts = parse_produce_id(metadata.produce_id)
    if parts is not None and f"{parts.mark_id:08x}" != mark_id:
        return None  # the record does not belong to this mark
    return metadata
