"""
Labeler: turns generated text into labeled text, in one shot or as a stream.

``label()`` is implemented as one ``feed()`` plus ``finish()`` of the same
:class:`StreamLabeler`, and the stream's decisions depend only on the text seen so far
plus one character, so **any chunking of a text gives exactly the same output**.
"""

from __future__ import annotations

import base64
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypedDict

from . import context as _context_module
from .audit.recorder import Recorder
from .audit.records import EventKind
from .audit.sink import RecordSink
from .canonical import Profile, contains_any, text_digest
from .context import LabelContext
from .exceptions import AIGCLabelError, MissingDependencyError, OptOutError, PolicyError, StreamStateError
from .explicit import (
    ExplicitLabel,
    Language,
    LanguageGuess,
    Placement,
    TextFormat,
    detect_language,
    middle_boundary,
)
from .ids import new_produce_id, produce_id_from_parts
from .marks import alphabet
from .marks.keys import SigningKeys, VerifyingKeys, load_private_key, secret_bytes
from .marks.packet import (
    KIND_SEAL_COMPACT,
    KIND_SEAL_ED25519,
    KIND_SEAL_HMAC,
    MICRO_VERSION,
    build_packet,
    build_seal,
    micro_message,
    seal_message,
)
from .marks.placement import Inserter
from .metadata import AIGCMetadata
from .optout import OptOut
from .policy import LabelPolicy
from .ui import UIDisclosure

if TYPE_CHECKING:  # the [watermark] extra (numpy) is imported on first use only
    from .watermark import Tokenizer as WatermarkTokenizer
    from .watermark import WatermarkDetector, WatermarkProfile

__all__ = [
    "NO_OPT_OUT",
    "LabelContext",
    "LabeledText",
    "Labeler",
    "OptOutDecision",
    "StreamLabeler",
    "reserved_code1",
]


_log = logging.getLogger("aigclabel")


def _may_hold_marks(text: str) -> bool:
    return contains_any(text, "\u034f\u2060\u200b\u200c")


#: Weight units (see ``aigclabel.marks.placement``) per o200k token: the lower of the
#: values measured on English (8.44) and Chinese (9.04) prose in bench/.
UNITS_PER_TOKEN = 8.4
#: o200k tokens a 10-byte packet itself costs (measured 38-40), and the allowance for
#: reaching the next safe position after a packet falls due. An excerpt that holds no
#: whole packet holds the tail of one and the head of the next, which the verifier splices
#: (all packets carry the same bytes), so the gap is
#: ``excerpt_tokens - _PACKET_TOKENS - _SLACK_TOKENS`` tokens.
_PACKET_TOKENS = 39
_SLACK_TOKENS = 25


@dataclass(frozen=True, slots=True)
class OptOutDecision:
    """
    The Art. 9 decision for one request: an accepted opt-out, or why it was refused.

    Decide once per request (:meth:`Labeler.decide`) and pass the decision to ``label()`` /
    ``stream()``; ``NO_OPT_OUT`` (the default) means the visible label is applied.

    .. versionadded:: 0.2.0
    """

    opt_out: OptOut | None = None
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        """
        Whether the visible label is waived (a record is written before release).
        """
        return self.opt_out is not None


NO_OPT_OUT = OptOutDecision()


class _RecordArgs(TypedDict):
    """
    One record request to the recorder (keyword arguments of ``Recorder.record``).
    """

    kind: EventKind
    context: LabelContext | None
    opt_out: OptOut | None
    produce_id: str
    text: str | None


@dataclass(frozen=True, slots=True)
class LabeledText:
    """
    The result of :meth:`Labeler.label`: the labeled text and its label data.

    Attributes:
        text: the text to release (explicit label plus invisible marks).
        metadata: the Annex E implicit label for response and file metadata.
        ui: the interface tag for the front end.
        produce_id: the ProduceID (also in ``metadata``).
        mark_id: the 8-hex-digit identifier carried by every in-text packet.
        explicit: whether the visible label is in ``text``.
        packets: how many packets were inserted (the seal not counted).
        opted_out: the visible label was waived at the user's request (Art. 9) and recorded.
        notice: why a requested opt-out was not honoured (the text is then labeled as usual).
    """

    text: str
    metadata: AIGCMetadata
    ui: UIDisclosure
    produce_id: str
    mark_id: str
    explicit: bool
    packets: int = 0
    opted_out: bool = False
    notice: str | None = None

    def __str__(self) -> str:
        return self.text

    def resolve(self, mark_id: str) -> AIGCMetadata | None:
        """
        Resolver protocol: this result's metadata if *mark_id* is its identifier.
        """
        return self.metadata if mark_id == self.mark_id else None


def reserved_code1(alg: str, slot: int, digest: bytes, auth: bytes, *, version: int = 2) -> str:
    """
    Format the integrity data stored in ``ReservedCode1``.

    ``SD2.<alg>.<key slot>.<base64url SHA-256 of the canonical text>.<base64url authenticator>``
    where *alg* is ``HS256`` (full HMAC-SHA256) or ``Ed25519`` (signature); both cover the
    seal message (label, ProduceID, producer, text hint) and the full text digest. Micro seals
    give ``SD3.`` (their message is the header and mark id); format-1 seals ``SD1.`` (their
    authenticator covers the seal message only). Every character is in the Annex E value charset.
    """
    b64 = base64.urlsafe_b64encode
    tail = f"{b64(digest).rstrip(b'=').decode()}.{b64(auth).rstrip(b'=').decode()}"
    return f"SD{version}.{alg}.{slot}.{tail}"


#: The ProduceID of the tag and metadata templates a labeler copies per stream (never released).
_TEMPLATE_ID = "00000000-0000-7000-8000-000000000000"
#: Micro-sealed results a labeler keeps for :meth:`Labeler.own_label`.
_MICRO_MEMORY = 4096


class _OwnMicroSeals:
    """
    The resolver :meth:`Labeler.own_label` gives ``verify()``: mark id → this labeler's metadata.
    """

    __slots__ = ("_labeler",)

    def __init__(self, labeler: Labeler) -> None:
        self._labeler = labeler

    def resolve(self, mark_id: str) -> AIGCMetadata | None:
        labeler = self._labeler
        known = labeler._micro.get(mark_id)
        if known is not None:
            return known
        _, parts = new_produce_id()
        policy = labeler.policy
        return AIGCMetadata.first_write(
            producer=policy.producer,
            produce_id=produce_id_from_parts(parts._replace(mark_id=int(mark_id, 16))),
            label=policy.label,
        )


@dataclass(slots=True)
class _Plan:
    label: ExplicitLabel | None
    start: bool
    end: bool
    middle: bool
    rendered: str = ""  # label.render(), or "" without a label


class Labeler:
    """
    Labels generated text according to a :class:`LabelPolicy`.

    Configuration is paid for once, here; ``label()`` and ``stream()`` only read it.
    A Labeler is immutable and safe to share between threads and tasks.

    An Art. 9 opt-out is a release step around the pure labeling: decide (once per request,
    :meth:`decide`) → record → label → record the completed content (:meth:`complete`). The
    sync methods wait for the record sink, the ``a``-prefixed ones await it; every wait is
    bounded by ``audit_timeout_seconds`` and an unrecordable opt-out labels as usual.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_binding",
        "_explicit",
        "_keys",
        "_micro",
        "_recorder",
        "_spacing",
        "_tags",
        "_unsealed",
        "_unsealed_dict",
        "policy",
    )

    def __init__(self, policy: LabelPolicy, *, sink: RecordSink | None = None) -> None:
        """
        Args:
            policy: what to label and how.
            sink: where Art. 9 records go; by default the store ``policy.audit_store`` names,
                opened on first use (an :class:`~aigclabel.audit.sink.AsyncRecordSink` as well
                lets async callers await it).

        .. versionchanged:: 0.2.0
           The *sink* argument.
        """
        self.policy = policy
        secret = secret_bytes(policy.key.get_secret_value()) if policy.key is not None else None
        private = (
            load_private_key(policy.signing_key.get_secret_value())
            if policy.signing_key is not None
            else None
        )
        self._keys = SigningKeys(secret=secret, private=private, slot=policy.key_id)
        gap = max(1, policy.excerpt_tokens - _PACKET_TOKENS - _SLACK_TOKENS)
        self._spacing = int(gap * UNITS_PER_TOKEN)
        self._recorder = Recorder(policy, sink)
        #: Recent results under a micro seal, by mark id: the seal carries no ProduceID, so
        #: :meth:`own_label` finds a text this labeler just made here (bounded, see _remember).
        self._micro: dict[str, AIGCMetadata] = {}
        #: Validated once, copied per stream with its ProduceID (a stream's first event waits
        #: for both): the tag per (language, placement, opted out), the metadata before the seal.
        self._tags: dict[tuple[str, str, bool], tuple[UIDisclosure, dict[str, Any]]] = {}
        #: The visible label and its rendering per (language, placement, text format).
        self._explicit: dict[tuple[str, str, str], tuple[ExplicitLabel, str]] = {}
        self._unsealed = AIGCMetadata.first_write(
            producer=policy.producer, produce_id=_TEMPLATE_ID, label=policy.label
        )
        self._unsealed_dict = self._unsealed.to_dict("bare")
        self._binding = object()  # this labeler's key among the per-labeler context bindings

    def __repr__(self) -> str:
        return f"Labeler(producer={self.policy.producer!r}, placement={self.policy.placement!r})"

    def verifying_keys(self) -> VerifyingKeys:
        """
        The keys that check this labeler's packets and seals.
        """
        return self._keys.verifying_keys()

    @property
    def public_key(self) -> bytes | None:
        """
        The raw 32-byte Ed25519 public key third parties verify with, if signing is on.
        """
        return self._keys.public_raw

    # --- the statistical watermark -------------------------------------------------------------------

    def watermark_profile(self, vocab_size: int) -> WatermarkProfile:
        """
        The statistical watermark profile of this labeler for a model of *vocab_size* tokens.

        Derived from the labeler's key material (its ``key``, or a secret derived from the
        signing key) for the policy's key slot ``key_id`` and scheme ``watermark``: hand it to a
        model runtime adapter (:mod:`aigclabel.adapters.watermark`), and to
        :meth:`watermark_detector` / ``verify(watermark=...)`` to detect it.

        Raises:
            PolicyError: the policy's ``watermark`` is not set.
            MissingDependencyError: numpy is missing (extra ``[watermark]``).

        .. versionadded:: 0.3.0
        """
        scheme = self.policy.watermark
        if scheme is None:
            raise PolicyError(
                "watermark: the policy has no statistical watermark; set watermark = 'gumbel' or 'green_list'"
            )
        profile: WatermarkProfile = _watermark_module().derive_profile(
            self._keys.watermark_secret,
            scheme=scheme,
            vocab_size=vocab_size,
            slot=self.policy.key_id,
            delta=self.policy.watermark_delta,
        )
        return profile

    def watermark_detector(
        self, tokenizer: WatermarkTokenizer, *, vocab_size: int | None = None, **options: Any
    ) -> WatermarkDetector:
        """
        A detector of this labeler's statistical watermark, for ``verify(text, watermark=...)``.

        Args:
            tokenizer: the model's tokenizer (:func:`aigclabel.watermark.tiktoken_tokenizer`,
                :func:`aigclabel.watermark.hf_tokenizer`).
            vocab_size: the model's logits width; default the tokenizer's ``vocab_size``.
            options: passed to :class:`~aigclabel.watermark.WatermarkDetector` (``threshold``,
                ``min_tokens``).

        .. versionadded:: 0.3.0
        """
        profile = self.watermark_profile(tokenizer.vocab_size if vocab_size is None else vocab_size)
        detector: WatermarkDetector = _watermark_module().WatermarkDetector([profile], tokenizer, **options)
        return detector

    # --- context and the Art. 9 decision ---------------------------------------------------------

    @contextmanager
    def context(
        self,
        *,
        user: str | None = None,
        conversation: str | None = None,
        request_id: str | None = None,
        opt_out: OptOut | None = None,
        model: str | None = None,
        language: Language | None = None,
    ) -> Iterator[LabelContext]:
        """
        Bind per-request facts for **this labeler** inside the ``with`` block (contextvars).

        Other labelers do not see them; :func:`aigclabel.request_context` binds for all.

        .. versionchanged:: 0.2.0
           The binding is this labeler's own (it was shared by every labeler).
        .. versionchanged:: 0.3.0
           *language*: the language of this request's labels and interface tag.
        """
        ctx = LabelContext(
            user=user,
            conversation=conversation,
            request_id=request_id,
            opt_out=opt_out,
            model=model,
            language=language,
        )
        with _context_module.bind_for(self._binding, ctx):
            yield ctx

    def current_context(self) -> LabelContext | None:
        """
        The context bound for this labeler, else the request's (:func:`aigclabel.request_context`).

        .. versionadded:: 0.2.0
        """
        return _context_module.bound_for(self._binding)

    def decide(self, context: LabelContext | None) -> OptOutDecision:
        """
        Decide whether *context*'s Art. 9 opt-out is honoured; no I/O.

        Returns:
            ``NO_OPT_OUT`` without an opt-out; an accepted decision; or a refusal (logged) whose
            text becomes the result's ``notice``.

        Raises:
            OptOutError: a refusal when the policy says ``opt_out_on_error = "raise"``.

        .. versionadded:: 0.2.0
        """
        if context is None or context.opt_out is None:
            return NO_OPT_OUT
        opt_out, refusal = self._recorder.decide(context)
        if refusal is not None:
            return OptOutDecision(refusal=self._refuse(refusal))
        return OptOutDecision(opt_out=opt_out)

    def _refuse(self, notice: str, cause: BaseException | None = None) -> str:
        """
        A refused or unrecordable opt-out: raise, or log it and label as usual (the policy says which).
        """
        if self.policy.opt_out_on_error == "raise":
            raise OptOutError(notice) from cause
        _log.warning("aigc-label: opt-out not honoured: %s", notice)
        return notice

    def _unrecorded(self, exc: AIGCLabelError) -> str:
        if self.policy.opt_out_on_error == "raise":
            raise OptOutError(
                f"the opt-out record could not be written ({exc}); nothing was released"
            ) from exc
        return self._refuse(f"the opt-out record could not be written ({exc}); the text is labeled", exc)

    def _resolve(
        self, context: LabelContext | None, decision: OptOutDecision | None
    ) -> tuple[LabelContext | None, OptOutDecision]:
        ctx = context if context is not None else self.current_context()
        return ctx, decision if decision is not None else self.decide(ctx)

    # --- one-shot labeling ----------------------------------------------------------------------

    def label(
        self,
        text: str,
        *,
        context: LabelContext | None = None,
        decision: OptOutDecision | None = None,
        placement: Placement | None = None,
        text_format: TextFormat | None = None,
        language: Language | None = None,
    ) -> LabeledText:
        """
        Label *text*: visible label, invisible packets and seal, metadata and interface tag.

        Args:
            text: the generated text.
            context: per-request facts; defaults to :meth:`current_context`.
            decision: the request's opt-out decision (:meth:`decide`); decided here when omitted.
            placement: overrides the policy's placement for this call.
            text_format: overrides the policy's text format (``plain``, ``markdown``, ``html``;
                ``json`` for structured output, which is returned unchanged — its label is
                the metadata and the interface tag).
            language: ``"zh"`` or ``"en"`` for the visible label and the interface tag (the
                product's language); else the context's, the policy's, or the one the text's
                script shows (:class:`~aigclabel.explicit.LanguageGuess`).

        With an accepted Art. 9 opt-out the text carries no visible label (the implicit label
        stays) and the record, with the content's hash, is committed before this returns; a
        refused or unrecordable opt-out labels as usual and says why in ``notice``.

        Raises:
            OptOutError: an opt-out was refused or could not be recorded, and the policy
                says to raise (``opt_out_on_error = "raise"``).
            TypeError: *text* is not a ``str``.
        """
        ctx, decision, result = self._label_pure(text, context, decision, placement, text_format, language)
        if decision.opt_out is not None:
            try:
                self._recorder.record(**self._release_record(ctx, decision, result))
            except AIGCLabelError as exc:
                return self._relabel(text, ctx, placement, text_format, language, self._unrecorded(exc))
        elif self._records_all():
            self._record_quietly(ctx, result)
        return result

    async def alabel(
        self,
        text: str,
        *,
        context: LabelContext | None = None,
        decision: OptOutDecision | None = None,
        placement: Placement | None = None,
        text_format: TextFormat | None = None,
        language: Language | None = None,
    ) -> LabeledText:
        """
        :meth:`label` for async callers: the record sink is awaited, the event loop never blocks.

        .. versionadded:: 0.2.0
        """
        ctx, decision, result = self._label_pure(text, context, decision, placement, text_format, language)
        if decision.opt_out is not None:
            try:
                await self._recorder.record_async(**self._release_record(ctx, decision, result))
            except AIGCLabelError as exc:
                return self._relabel(text, ctx, placement, text_format, language, self._unrecorded(exc))
        elif self._records_all():
            await self._arecord_quietly(ctx, result)
        return result

    def _label_pure(
        self,
        text: str,
        context: LabelContext | None,
        decision: OptOutDecision | None,
        placement: Placement | None,
        text_format: TextFormat | None,
        language: Language | None,
    ) -> tuple[LabelContext | None, OptOutDecision, LabeledText]:
        if not isinstance(text, str):
            raise TypeError(f"label() takes str, not {type(text).__name__}")
        ctx, decision = self._resolve(context, decision)
        stream = self._new_stream(ctx, decision, placement, text_format, language)
        if decision.opt_out is None and self.policy.marks and _may_hold_marks(text):
            prior = self._own_label(text, explicit_needed=stream.placement != "none")
            if prior is not None:
                return ctx, decision, prior
        stream.feed(text)
        stream.finish()
        assert stream.result is not None  # set by finish()
        return ctx, decision, stream.result

    def _relabel(
        self,
        text: str,
        ctx: LabelContext | None,
        placement: Placement | None,
        text_format: TextFormat | None,
        language: Language | None,
        notice: str,
    ) -> LabeledText:
        """
        The opt-out could not be recorded: label with the visible label, say why (no record).
        """
        _, _, result = self._label_pure(text, ctx, NO_OPT_OUT, placement, text_format, language)
        return replace(result, notice=notice)

    def _release_record(
        self, ctx: LabelContext | None, decision: OptOutDecision, result: LabeledText
    ) -> _RecordArgs:
        return {
            "kind": "generated",
            "context": ctx,
            "opt_out": decision.opt_out,
            "produce_id": result.produce_id,
            "text": result.text,
        }

    def _records_all(self) -> bool:
        return self.policy.audit_record_all and self.policy.audit_store is not None

    def _record_quietly(self, context: LabelContext | None, result: LabeledText) -> None:
        try:
            self._recorder.record(**self._release_record(context, NO_OPT_OUT, result))
        except AIGCLabelError:  # a labeled release needs no record: keep going, but say so
            _log.exception("aigc-label: the record of a labeled release could not be written")

    async def _arecord_quietly(self, context: LabelContext | None, result: LabeledText) -> None:
        try:
            await self._recorder.record_async(**self._release_record(context, NO_OPT_OUT, result))
        except AIGCLabelError:
            _log.exception("aigc-label: the record of a labeled release could not be written")

    def describe(
        self,
        *,
        context: LabelContext | None = None,
        language: Language | None = None,
        decision: OptOutDecision | None = None,
    ) -> LabeledText:
        """
        The implicit label and interface tag for output that carries no text to label.

        Tool calls, function arguments and JSON-mode output are released unchanged; their label
        is this metadata (a fresh ProduceID) and the interface tag. No record is written and no
        mark is made: nothing is released without the visible label that it would apply to.

        Args:
            context: the request's context (its ``language``); defaults to :meth:`current_context`.
            language: ``zh`` or ``en`` for the interface tag (else the context's, the policy's,
                else ``zh``).
            decision: the request's opt-out decision, when one was made: an accepted opt-out
                shows in the tag's ``opted_out``.

        .. versionadded:: 0.2.0
        .. versionchanged:: 0.3.0
           *decision*; the context's language is used.
        """
        policy = self.policy
        ctx = context if context is not None else self.current_context()
        lang = (
            language
            or (ctx.language if ctx is not None else None)
            or (policy.language if policy.language != "auto" else "zh")
        )
        produce_id, parts = new_produce_id()
        ui_text = policy.ui_text or policy.label_text_for(lang)
        return LabeledText(
            text="",
            metadata=AIGCMetadata.first_write(
                producer=policy.producer, produce_id=produce_id, label=policy.label
            ),
            ui=UIDisclosure(
                text=ui_text,
                position=policy.ui_position,
                language="zh-CN" if lang == "zh" else "en",
                produce_id=produce_id,
                explicit_label_in_text=False,
                opted_out=decision is not None and decision.opt_out is not None,
                placement="none",
            ),
            produce_id=produce_id,
            mark_id=f"{parts.mark_id:08x}",
            explicit=False,
        )

    def close(self) -> None:
        """
        Close the record sink, if one was opened.
        """
        self._recorder.close()

    async def aclose(self) -> None:
        """
        Close the record sink from async code.

        .. versionadded:: 0.2.0
        """
        await self._recorder.aclose()

    def _remember(self, mark_id: str, metadata: AIGCMetadata) -> None:
        """
        Keep a micro-sealed result's metadata for :meth:`own_label` (the last 4,096 at most).
        """
        if len(self._micro) >= _MICRO_MEMORY:
            self._micro.clear()
        self._micro[mark_id] = metadata

    def own_label(self, text: str, *, explicit_needed: bool = False) -> LabeledText | None:
        """
        The label *text* already carries from this labeler — intact, this producer, this
        ``Label`` value — as a :class:`LabeledText` (metadata with ``ReservedCode1``, tag,
        ids), or ``None``.

        For layers that receive text a labeling transport already labeled (a LangChain model
        over a wrapped client) and need its label data without labeling it twice. With
        *explicit_needed*, a text without the visible label does not count.

        .. versionadded:: 0.3.0
        """
        return self._own_label(text, explicit_needed=explicit_needed)

    def _own_label(self, text: str, *, explicit_needed: bool) -> LabeledText | None:
        """
        The label *text* already carries from this labeler, intact, or ``None``.

        Labeling such a text again returns it unchanged (one implicit label per content,
        GB 45438 §6.1 c); marks of other producers are never touched. A micro or compact seal
        names no producer or ProduceID: an intact one under this labeler's key is this
        producer's, its metadata the one this labeler issued (kept for the last 4,096 micro
        seals) or, when it is not kept here (another process, a restart), a first write with a
        new ProduceID that carries the text's mark id.
        """
        from .verification import verify  # verification imports this module

        keys = self._keys
        verdict = verify(
            text,
            key=self.policy.key.get_secret_value() if self.policy.key is not None else None,
            public_key=keys.public_raw,
            resolver=_OwnMicroSeals(self),
        )
        metadata = verdict.metadata
        seal = verdict.evidence.seal
        if (
            verdict.status != "intact"
            or metadata is None
            or metadata.content_producer != self.policy.producer
            or metadata.label != self.policy.label
            or (seal is not None and seal.label != self.policy.label)
            or (explicit_needed and not verdict.evidence.explicit)
        ):
            return None
        language = detect_language(text) or "en"
        explicit = bool(verdict.evidence.explicit)
        wording = self.policy.label_text_for(language)
        ui = UIDisclosure(
            text=self.policy.ui_text or wording,
            position=self.policy.ui_position,
            language="zh-CN" if language == "zh" else "en",
            produce_id=metadata.produce_id,
            explicit_label_in_text=explicit,
            placement=self.policy.placement if explicit else "none",
            label_text=ExplicitLabel(wording).render() if explicit else "",
        )
        return LabeledText(
            text=text,
            metadata=metadata,
            ui=ui,
            produce_id=metadata.produce_id,
            mark_id=verdict.mark_id or "",
            explicit=explicit,
            packets=verdict.evidence.cf.packets + verdict.evidence.mn.packets,
        )

    # --- streams --------------------------------------------------------------------------------

    def stream(
        self,
        *,
        context: LabelContext | None = None,
        decision: OptOutDecision | None = None,
        placement: Placement | None = None,
        text_format: TextFormat | None = None,
        language: Language | None = None,
    ) -> StreamLabeler:
        """
        Start labeling one streamed response; see :class:`StreamLabeler`.

        With an accepted opt-out, the record is committed here, before any text can be
        released, and the stream carries no visible label (marks stay); after ``finish()``,
        :meth:`complete` records the content's hash.

        Raises:
            OptOutError: an opt-out was refused or could not be recorded, and the policy
                says to raise (``opt_out_on_error = "raise"``); otherwise the stream labels.
        """
        ctx, decision = self._resolve(context, decision)
        stream = self._new_stream(ctx, decision, placement, text_format, language)
        if decision.opt_out is not None:
            try:
                self._recorder.record(**self._start_record(stream))
            except AIGCLabelError as exc:
                notice = self._unrecorded(exc)
                return self._new_stream(ctx, NO_OPT_OUT, placement, text_format, language, notice=notice)
        return stream

    async def astream(
        self,
        *,
        context: LabelContext | None = None,
        decision: OptOutDecision | None = None,
        placement: Placement | None = None,
        text_format: TextFormat | None = None,
        language: Language | None = None,
    ) -> StreamLabeler:
        """
        :meth:`stream` for async callers: the opt-out record is awaited; call :meth:`acomplete`
        after ``finish()``.

        .. versionadded:: 0.2.0
        """
        ctx, decision = self._resolve(context, decision)
        stream = self._new_stream(ctx, decision, placement, text_format, language)
        if decision.opt_out is not None:
            try:
                await self._recorder.record_async(**self._start_record(stream))
            except AIGCLabelError as exc:
                notice = self._unrecorded(exc)
                return self._new_stream(ctx, NO_OPT_OUT, placement, text_format, language, notice=notice)
        return stream

    def complete(self, stream: StreamLabeler) -> None:
        """
        After ``stream.finish()``: record an opted-out stream's content hash (``completed``), or
        the labeled release under ``audit_record_all``. Failures are logged (the text is out).

        .. versionadded:: 0.2.0
        """
        record = self._end_record(stream)
        if record is not None:
            try:
                self._recorder.record(**record)
            except AIGCLabelError:
                _log.exception("aigc-label: the completion record of a stream could not be written")

    async def acomplete(self, stream: StreamLabeler) -> None:
        """
        :meth:`complete` for async callers.

        .. versionadded:: 0.2.0
        """
        record = self._end_record(stream)
        if record is not None:
            try:
                await self._recorder.record_async(**record)
            except AIGCLabelError:
                _log.exception("aigc-label: the completion record of a stream could not be written")

    def _explicit_label(
        self, language: Language, placement: Placement, text_format: TextFormat
    ) -> tuple[ExplicitLabel, str]:
        """
        The visible label for a stream and its rendering, made once per shape.
        """
        shape = (language, placement, text_format)
        found = self._explicit.get(shape)
        if found is None:
            label = ExplicitLabel(self.policy.label_text_for(language), placement, text_format)
            found = self._explicit[shape] = (label, label.render())
        return found

    def _new_stream(
        self,
        ctx: LabelContext | None,
        decision: OptOutDecision,
        placement: Placement | None,
        text_format: TextFormat | None,
        language: Language | None,
        *,
        notice: str | None = None,
    ) -> StreamLabeler:
        policy = self.policy
        placement = placement or policy.placement
        if language not in (None, "zh", "en"):
            raise PolicyError(f"language must be 'zh', 'en' or None, not {language!r}")
        if language is None:
            language = ctx.language if ctx is not None and ctx.language is not None else None
        if language is None and policy.language != "auto":
            language = policy.language
        return StreamLabeler(
            self,
            placement="none" if decision.opt_out is not None else placement,
            text_format=text_format or policy.text_format,
            context=ctx,
            opt_out=decision.opt_out,
            notice=notice or decision.refusal,
            language=language,
        )

    @staticmethod
    def _start_record(stream: StreamLabeler) -> _RecordArgs:
        return {
            "kind": "generated",
            "context": stream.context,
            "opt_out": stream.opt_out,
            "produce_id": stream.produce_id,
            "text": None,
        }

    def _end_record(self, stream: StreamLabeler) -> _RecordArgs | None:
        result = stream.result
        if result is None:
            raise StreamStateError("complete() before finish(): finish the stream first")
        kind: EventKind
        if stream.opt_out is not None:
            kind = "completed"
        elif self._records_all():
            kind = "generated"
        else:
            return None
        return {
            "kind": kind,
            "context": stream.context,
            "opt_out": stream.opt_out,
            "produce_id": result.produce_id,
            "text": result.text,
        }


class StreamLabeler:
    """
    Labels one response delivered in chunks: ``feed(delta) -> str`` then ``finish() -> str``
    (or :meth:`abort` when the consumer stops early).

    Sans-I/O: it never blocks, reads or writes; wrap it in any sync or async loop. The
    concatenation of everything returned equals ``Labeler.label(whole_text).text``
    for every chunking. Text is held back only while it is undecided: until the language is
    known (at once when it is set per request or by the policy; else the opening prose's
    script decides, :class:`~aigclabel.explicit.LanguageGuess`: about four words), until the
    start differs from the label itself (start placements), and until the end for
    ``middle`` placement. :attr:`disclosure` (the interface tag and label data) is
    complete before the first text is released; ``result`` holds the
    :class:`LabeledText` after :meth:`finish` or :meth:`abort`.

    Abort safety: a front end shows :attr:`disclosure` before the first token, so whatever
    point the user stops at, what was shown was preceded by the tag; :meth:`abort` gives
    the end label for the text released so far, for a relay that can still write.

    Its configuration (placement, format, context, opt-out) is fixed when it is made by
    :meth:`Labeler.stream` / :meth:`Labeler.astream`; records are the labeler's business
    (:meth:`Labeler.complete` after :meth:`finish`).
    """

    __slots__ = (
        "_disclosure",
        "_done",
        "_guess",
        "_inserter",
        "_labeler",
        "_language",
        "_out",
        "_packet",
        "_parts",
        "_pending",
        "_plan",
        "_release",
        "_text_format",
        "_visible",
        "context",
        "mark_id",
        "notice",
        "opt_out",
        "placement",
        "produce_id",
        "result",
    )

    def __init__(
        self,
        labeler: Labeler,
        *,
        placement: Placement,
        text_format: TextFormat,
        context: LabelContext | None = None,
        opt_out: OptOut | None = None,
        notice: str | None = None,
        language: Language | None = None,
    ) -> None:
        policy = labeler.policy
        self._labeler = labeler
        structured = text_format == "json"  # nothing may be added inside structured output
        #: The placement in effect (``none`` for structured output or an accepted opt-out).
        self.placement: Placement = "none" if structured else placement
        self._text_format: TextFormat = text_format
        #: The request's context, the accepted Art. 9 opt-out (visible label waived) and the
        #: notice of a refused one; fixed for the stream's life.
        self.context = context
        self.opt_out = opt_out
        self.notice = notice
        self.produce_id, parts = new_produce_id()
        self._parts = parts
        self.mark_id = f"{parts.mark_id:08x}"
        self._language: Language | None = language
        self._guess = LanguageGuess() if language is None else None
        self._disclosure: UIDisclosure | None = None
        self._plan: _Plan | None = None
        self._pending: list[str] = []  # held-back model text
        self._visible: list[str] = []  # everything visible released so far, marks excluded
        self._out: list[str] = []  # everything returned, for result.text
        self._done = False
        self.result: LabeledText | None = None
        self._packet: bytes | None = None  # built when first needed
        #: Once the plan releases text as it comes (not ``middle``) and until the end: what a
        #: delta goes through (the inserter's ``feed``, or nothing changes it).
        self._release: Callable[[str], str] | None = None
        if policy.marks and not structured:
            self._inserter: Inserter | None = Inserter(self._units, labeler._spacing)
        else:
            self._inserter = None

    def _packet_bytes(self) -> bytes:
        if self._packet is None:
            policy = self._labeler.policy
            self._packet = build_packet(policy.label, self._parts.mark_id, self._labeler._keys)
        return self._packet

    def _units(self) -> tuple[str, str]:
        packet = self._packet_bytes()
        mn, cf = alphabet.encode_mn(packet), alphabet.encode_cf(packet)
        # The first in-text packet goes on the channel the seal does not use.
        return (mn, cf) if self._labeler.policy.seal_channels == "cf" else (cf, mn)

    def feed(self, delta: str) -> str:
        """
        Take the next piece of model text; return what may be released now.

        Raises:
            StreamStateError: after :meth:`finish`.
        """
        release = self._release
        if release is not None and delta:  # the common delta: released as it comes
            self._visible.append(delta)
            out = release(delta)
            self._out.append(out)
            return out
        if self._done:
            raise StreamStateError("feed() after finish(): start a new stream with Labeler.stream()")
        if not delta:
            return ""
        self._pending.append(delta)
        if self._plan is not None:  # middle placement: everything waits for the end
            return ""
        if self._guess is not None:
            self._guess.feed(delta)
        out = self._try_plan(final=False)
        self._out.append(out)
        return out

    def _try_plan(self, *, final: bool) -> str:
        held = "".join(self._pending)
        if self._language is None:
            assert self._guess is not None
            language = self._guess.language or (self._guess.finish() if final else None)
            if language is None and not final:
                return ""
            self._language = language or "en"
        placement = self.placement
        label, head = (
            (None, "")
            if placement == "none"
            else self._labeler._explicit_label(self._language, placement, self._text_format)
        )
        start = label is not None and placement in ("start", "start+end")
        if start:
            stripped = held.lstrip()
            if not final and head.startswith(stripped):
                return ""  # might still turn out to be our own label: undecided
            start = not stripped.startswith(head)
        self._plan = _Plan(label, start, placement in ("end", "start+end"), placement == "middle", head)
        if self._plan.middle:
            return ""
        self._pending = []
        self._release = self._inserter.feed if self._inserter is not None else _as_is
        out = ""
        if start and label is not None:
            out = label.prefix()
            self._visible.append(out)
        self._visible.append(held)
        return out + (self._inserter.feed(held) if self._inserter is not None else held)

    def finish(self) -> str:
        """
        Release what was held back, the end label and the seal; build :attr:`result`.

        Raises:
            StreamStateError: when called twice.
        """
        if self._done:
            raise StreamStateError("finish() after finish() or abort()")
        return self._end(self._try_plan(final=True) if self._plan is None else "")

    def abort(self) -> str:
        """
        The consumer stopped early (a stop button, a closed stream, a disconnect): end the
        stream over the text released so far; return its end label and seal.

        Text held back and not yet released is dropped: it was never delivered. The visible
        label goes at the end of what was released unless it already leads it (start
        placements); ``result`` describes the delivered text, so :meth:`Labeler.complete`
        records exactly that. When nothing was released, nothing is returned.

        Raises:
            StreamStateError: after :meth:`finish` or :meth:`abort`.

        .. versionadded:: 0.3.0
        """
        if self._done:
            raise StreamStateError("abort() after finish() or abort()")
        self._pending = []
        plan = self._plan
        if plan is None or plan.middle:  # nothing was released yet
            if self._language is None:
                assert self._guess is not None
                self._language = self._guess.finish() or "en"
            label, rendered = (
                (None, "")
                if self.placement == "none"
                else self._labeler._explicit_label(self._language, self.placement, self._text_format)
            )
            plan = self._plan = _Plan(label, False, label is not None, False, rendered)
        delivered = any(self._visible)
        if not delivered:
            plan.end = False
        out = self._end("")
        if delivered:
            return out
        assert self.result is not None
        self.result = replace(self.result, text="")
        return ""

    @property
    def disclosure(self) -> UIDisclosure | None:
        """
        The interface tag and label data of this stream (language, placement, label text,
        ``opted_out``, ProduceID), or ``None`` until the language is known — which is before
        the first text is released. Equal to ``result.ui``.

        .. versionadded:: 0.3.0
        """
        if self._disclosure is None and self._language is not None:
            tag = self._tag_template(self._language)[0]
            self._disclosure = tag.model_copy(update={"produce_id": self.produce_id})
        return self._disclosure

    def label_data(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """
        ``(metadata.to_dict("wrapped"), disclosure.model_dump())`` as fresh plain dicts (the
        caller's to change), or ``None`` while the language is undecided: what a relay puts on
        a stream's first event. Before the end they are copies of templates the labeler
        validated once, with this stream's ProduceID, so neither model is built on the way to
        the first token; after it, the result's.

        .. versionadded:: 0.3.0
        """
        if self.result is not None:
            return self.result.metadata.to_dict("wrapped"), self.result.ui.model_dump()
        if self._language is None:
            return None
        pid = self.produce_id
        bare = {**self._labeler._unsealed_dict, "ProduceID": pid, "PropagateID": pid}
        return {"AIGC": bare}, {**self._tag_template(self._language)[1], "produce_id": pid}

    def _tag_template(self, language: Language) -> tuple[UIDisclosure, dict[str, Any]]:
        tags = self._labeler._tags
        shape = (language, self.placement, self.opt_out is not None)
        found = tags.get(shape)
        if found is None:
            tag = self._tag(*shape)
            found = tags[shape] = (tag, tag.model_dump())
        return found

    def _tag(self, language: Language, placement: Placement, opted_out: bool) -> UIDisclosure:
        policy = self._labeler.policy
        wording = policy.label_text_for(language)
        return UIDisclosure(
            text=policy.ui_text or wording,
            position=policy.ui_position,
            language="zh-CN" if language == "zh" else "en",
            produce_id=_TEMPLATE_ID,
            explicit_label_in_text=placement != "none",
            opted_out=opted_out,
            placement=placement,
            label_text="" if placement == "none" else ExplicitLabel(wording).render(),
        )

    @property
    def metadata(self) -> AIGCMetadata:
        """
        This stream's implicit label: before the end without ``ReservedCode1`` (the seal's
        integrity data covers the whole text), then ``result.metadata``.

        .. versionadded:: 0.3.0
        """
        if self.result is not None:
            return self.result.metadata
        pid = self.produce_id
        return self._labeler._unsealed.model_copy(update={"produce_id": pid, "propagate_id": pid})

    def _end(self, out: str) -> str:
        self._release = None  # feed() now raises
        plan = self._plan
        assert plan is not None
        label = plan.label
        if plan.middle and label is not None:
            body = "".join(self._pending)
            if plan.rendered in body:
                joined = body
            else:
                at, kind = middle_boundary(body)
                if kind == "paragraph":  # body[:at] ends with a blank line
                    joined = body[:at] + label.middle() + "\n\n" + body[at:]
                elif kind == "sentence":
                    space = " " if body[at : at + 1].isspace() else ""
                    joined = body[:at] + space + label.middle() + body[at:]
                else:
                    joined = body + (label.suffix() if body else label.middle())
            self._visible.append(joined)
            out += self._inserter.feed(joined) if self._inserter is not None else joined
        if plan.end and label is not None:
            rendered = plan.rendered
            joined_visible = "".join(self._visible)
            self._visible = [joined_visible]
            tail = joined_visible[-4 * len(rendered) - 64 :]
            if alphabet.may_carry_marks(tail):
                tail = alphabet.ANY_MARK_CHAR.sub("", tail)
            tail = tail[-(len(rendered) + 8) :]
            if not tail.rstrip().endswith(rendered):
                suffix = label.suffix()
                if tail and suffix.startswith("\n\n"):
                    # reuse the newlines the text already ends with
                    suffix = suffix[min(2, len(tail) - len(tail.rstrip("\n"))) :]
                elif not tail:
                    suffix = suffix.lstrip("\n")
                self._visible.append(suffix)
                out += suffix
        self._done = True
        seal, metadata, packets = self._seal()
        out += seal
        self._out.append(out)
        ui = self.disclosure
        assert ui is not None  # the language is decided with the plan
        self.result = LabeledText(
            "".join(self._out),
            metadata,
            ui,
            self.produce_id,
            self.mark_id,
            label is not None,
            packets,
            self.opt_out is not None,
            self.notice,
        )
        self._out = []
        return out

    def _seal(self) -> tuple[str, AIGCMetadata, int]:
        """
        The seal for the visible text released so far, the metadata it completes and the number
        of packets in the text.
        """
        labeler = self._labeler
        policy = labeler.policy
        keys = labeler._keys
        visible = "".join(self._visible)
        profile: Profile = "markup" if self._text_format in ("markdown", "html") else "plain"
        digest = text_digest(visible, profile=profile)
        packets = self._inserter.count if self._inserter is not None else 0
        micro = policy.seal_form == "micro" or (
            policy.seal_form == "auto" and packets == 0 and not keys.signs
        )
        if micro:
            message = micro_message(policy.label, keys.slot, self._parts.mark_id, profile)
        else:
            kind = (
                KIND_SEAL_COMPACT
                if policy.seal_form == "compact"
                else KIND_SEAL_ED25519
                if keys.signs
                else KIND_SEAL_HMAC
            )
            message = seal_message(
                policy.label, kind, self._parts, policy.producer, digest, self._packet_bytes(), profile
            )
        auth = keys.full_auth(message, digest)
        rc1 = reserved_code1(
            "Ed25519" if keys.signs else "HS256",
            keys.slot,
            digest,
            auth,
            version=MICRO_VERSION if micro else 2,
        )
        metadata = AIGCMetadata.first_write(
            producer=policy.producer, produce_id=self.produce_id, label=policy.label, reserved_code1=rc1
        )
        seal = ""
        if self._inserter is not None:
            if packets == 0 and policy.seal_channels != "both" and not micro:
                # A short text has no packet yet: give the other channel one, so that
                # dropping the seal's channel (a benign sanitizer) still leaves a mark.
                # (Not under a micro seal: a short reply stays short, see docs/marks.md.)
                seal += self._inserter.feed_unit()
            raw = build_seal(message, digest, keys, auth=auth)
            if policy.seal_channels in ("both", "cf"):
                seal += alphabet.encode_cf(raw)
            if policy.seal_channels in ("both", "mn"):
                seal += alphabet.encode_mn(raw)
        if micro:
            labeler._remember(self.mark_id, metadata)
        return seal, metadata, packets


def _as_is(text: str) -> str:
    """
    What a stream without marks does to a released delta.
    """
    return text


def _watermark_module() -> ModuleType:
    try:
        return importlib.import_module("aigclabel.watermark")
    except ModuleNotFoundError as exc:
        if exc.name == "numpy":
            raise MissingDependencyError("numpy", "watermark") from None
        raise
