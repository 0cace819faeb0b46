"""
LabelPolicy: every labeling setting, validated when it is built.

Load it from keyword arguments, a TOML file, ``AIGCLABEL_*`` environment variables or
all three (:meth:`LabelPolicy.load`: file < environment < arguments).

Secrets (``key``, ``signing_key``, ``audit_chain_key``) never appear in a repr, an error
message or an exception chain, and the password of ``audit_store`` is shown as ``***``.
Keys are normalised by one rule whatever their source (see :mod:`aigclabel.keymaterial`).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .exceptions import AIGCLabelError, KeyMaterialError, PolicyError, PolicyKeyError
from .explicit import DEFAULT_LABEL_TEXT, Placement, TextFormat, label_text_problem
from .keymaterial import check_secret_strength, normalise_key_text, producer_secret, redact_url
from .marks.keys import load_private_key
from .metadata import LabelValue
from .producer import validate_producer_code

__all__ = [
    "ENV_PREFIX",
    "OTHER_ENV_VARIABLES",
    "SECRET_FIELDS",
    "LabelPolicy",
    "Preset",
    "SealChannels",
    "UIPosition",
    "check_environment",
]

ENV_PREFIX = "AIGCLABEL_"
#: ``AIGCLABEL_*`` variables that are not policy settings (read elsewhere); every other
#: ``AIGCLABEL_*`` name must be a setting, or loading the policy fails naming it.
OTHER_ENV_VARIABLES = frozenset(
    {
        "AIGCLABEL_PDF_FONT",  # adapters/export/pdf.py: the CJK font of PDF exports
        "AIGCLABEL_TEST_POSTGRES_URL",  # the test suite's PostgreSQL store
        "AIGCLABEL_BENCH_POSTGRES_URL",  # the benchmarks' PostgreSQL store
    }
)
#: Fields whose values are secrets: never shown in a repr, an error or an exception chain.
SECRET_FIELDS = ("key", "signing_key", "audit_chain_key")
Preset = Literal["cn", "eu", "cn+eu"]
SealChannels = Literal["both", "mn", "cf"]
SealForm = Literal["auto", "full", "compact", "micro"]
WatermarkScheme = Literal["gumbel", "green_list"]
UIPosition = Literal["near_content", "top", "bottom", "background"]


class LabelPolicy(BaseModel):
    """
    How a :class:`~aigclabel.Labeler` labels text.

    Invalid settings raise :class:`~aigclabel.PolicyError` (a ``ValueError``) naming
    the field; an unusable key raises :class:`~aigclabel.exceptions.PolicyKeyError`, which is
    both a ``PolicyError`` and a ``KeyMaterialError``. Keys are held as ``SecretStr`` and never
    appear in reprs, errors, exception chains or logs; ``audit_store`` is shown with its
    password replaced by ``***``.

    .. versionchanged:: 0.2.0
       Keys are normalised (a trailing line break is dropped; surrounding whitespace is
       refused) and weak HMAC secrets are refused; negated label wordings are refused.

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    producer: str = Field(description="TC260 provider code (27 characters) of the generation service.")
    key: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 secret, at least 16 bytes, not weak (see keymaterial)."
    )
    key_id: int = Field(default=0, ge=0, le=3, description="Key slot 0-3 carried in every packet (rotation).")
    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (32-byte seed as hex, or PEM) for publicly verifiable seals.",
    )
    preset: Preset = "cn"
    label: LabelValue = "1"
    label_text: str | None = Field(default=None, description="Explicit label wording; default per language.")
    language: Literal["auto", "zh", "en"] = "auto"
    placement: Placement = "end"
    text_format: TextFormat = "plain"
    marks: bool = Field(default=True, description="Carry the implicit label invisibly in the text.")
    excerpt_tokens: int = Field(
        default=400,
        ge=64,
        le=100_000,
        description="Any excerpt of this many tokens holds at least one packet (sets the packet spacing).",
    )
    seal_channels: SealChannels = "mn"
    seal_form: SealForm = Field(
        default="auto",
        description=(
            "auto: a micro seal for a text too short to hold a packet when the key is an HMAC "
            "secret, else the full seal; full: producer code and ProduceID in the text (152 o200k "
            "tokens on the Mn channel); compact: mark id and MAC (81 tokens); micro: mark id and MAC, "
            "14 bytes (≈ 55 tokens) and no packet on the other channel. Compact and micro carry an "
            "HMAC (key only) and get their identity from a resolver."
        ),
    )
    watermark: WatermarkScheme | None = Field(
        default=None,
        description=(
            "Statistical token watermark for self-hosted models (extra [watermark]): gumbel "
            "(distortion-free, vLLM-compatible) or green_list; applied by a model runtime adapter, "
            "keyed from `key` (or the signing key) by `key_id`. None: off."
        ),
    )
    watermark_delta: float = Field(
        default=2.0, gt=0, le=20, description="green_list strength: the logit bias of green tokens."
    )
    ui_position: UIPosition = "near_content"
    ui_text: str | None = None
    audit_store: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the record store (sqlite:///aigc-audit.db, postgresql+psycopg://...).",
    )
    opt_out_allowed: bool = Field(default=True, description="Whether users may opt out of the visible label.")
    opt_out_agreements: tuple[str, ...] = Field(
        default=(), description="User-agreement versions that state the user's labeling duty (Art. 8, 9)."
    )
    opt_out_on_error: Literal["label", "raise"] = Field(
        default="label",
        description="A refused or unrecordable opt-out: label as usual (default) or raise OptOutError.",
    )
    audit_retention_days: int = Field(default=184, description="Days records are kept; at least 184.")
    audit_record_all: bool = Field(
        default=False, description="Record every labeled release, not only opt-outs (mark ids then resolve)."
    )
    audit_store_text: bool = Field(
        default=False, description="Store the released text itself in each record."
    )
    audit_chain_key: SecretStr | None = Field(default=None, description="HMAC key for the record chain.")
    audit_log_dir: str | None = Field(
        default=None, description="Directory for a JSON-lines mirror of the records, one file a day."
    )
    audit_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description=(
            "Seconds a record may take (connect, lock, commit); past it the text is labeled as usual "
            "with a notice. Never waits longer."
        ),
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            # pydantic's error holds every input value (secrets included, as input_value=…):
            # build ours from it, then raise outside the handler so that neither __cause__
            # nor __context__ carries it.
            error = _policy_error(exc)
        else:
            return
        raise error

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name in SECRET_FIELDS:
                yield name, None if value is None else "**********"
            elif name == "audit_store" and isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value

    @field_validator("producer")
    @classmethod
    def _producer(cls, value: str) -> str:
        return validate_producer_code(value, field="producer", role="producer")

    @field_validator("key", "audit_chain_key")
    @classmethod
    def _hmac_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        field = info.field_name or "key"
        try:
            raw = producer_secret(value.get_secret_value(), field=field)
        except KeyMaterialError as exc:
            raise _key_error(exc, field) from None
        return SecretStr(raw.decode("utf-8"))

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            # A PEM document spans lines: only the whitespace around it is dropped.
            text = value.get_secret_value().strip()
            if not text:
                normalise_key_text(text, field="signing_key")  # raises: empty
            private = load_private_key(text, field="signing_key")
            seed = private.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            check_secret_strength(seed, field="signing_key")
        except KeyMaterialError as exc:
            raise _key_error(exc, "signing_key") from None
        return SecretStr(text)

    @field_validator("audit_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value < 184:
            raise PolicyError(
                f"audit_retention_days: {value} is too short; Art. 9 requires at least six months, "
                "which can be 184 days — use 184 or more",
                field="audit_retention_days",
            )
        return value

    @field_validator("opt_out_agreements", mode="before")
    @classmethod
    def _agreements(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: comma-separated
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("label_text", "ui_text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank; omit it to use the default wording")
        return value

    @model_validator(mode="after")
    def _rules(self) -> LabelPolicy:
        if self.key is None and self.signing_key is None:
            raise PolicyError(
                "key: a labeler needs a key — set `key` to an HMAC secret of at least 16 bytes "
                "(or `signing_key` to an Ed25519 private key) so that marks can be verified",
                field="key",
            )
        if "cn" in self.preset:
            for name in ("label_text", "ui_text"):
                text = getattr(self, name)
                problem = None if text is None else label_text_problem(text)
                if problem is not None:
                    raise PolicyError(
                        f"{name}: {text!r} is not a GB 45438 §5.1 label: it {problem} — it must contain "
                        "「人工智能」 or 「AI」 and 「生成」 or 「合成」 "
                        "and say that the content is AI-generated, "
                        "e.g. '本内容由人工智能生成' or 'AI生成'",
                        field=name,
                    )
        if self.seal_form in ("compact", "micro") and (self.key is None or self.signing_key is not None):
            raise PolicyError(
                f"seal_form: a {self.seal_form} seal carries an HMAC, not a signature — set `key` and "
                "leave `signing_key` unset, or use seal_form = 'full' or 'auto'",
                field="seal_form",
            )
        if self.opt_out_allowed and self.opt_out_agreements and self.audit_chain_key is None:
            raise PolicyError(
                "audit_chain_key: opting out of the visible label is enabled (opt_out_agreements), so its "
                "records must be tamper-evident — set `audit_chain_key` to an HMAC secret of at least 16 "
                "bytes (kept apart from the database), or set opt_out_allowed = false",
                field="audit_chain_key",
            )
        if "eu" in self.preset and not self.marks:
            raise PolicyError(
                "marks: the 'eu' preset needs machine-readable in-text marks (AI Act Art. 50(2)); "
                "set marks = true or use preset = 'cn'",
                field="marks",
            )
        return self

    def label_text_for(self, language: str) -> str:
        """
        The explicit label wording for *language* (``"zh"`` or ``"en"``).
        """
        return self.label_text or DEFAULT_LABEL_TEXT["zh" if language == "zh" else "en"]

    # -- loading ---------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> LabelPolicy:
        """
        Load a policy from a TOML file (top-level keys, or an ``[aigclabel]`` table).

        Raises:
            PolicyError: the file is missing, unreadable, not UTF-8, not TOML, or holds an
                unknown or invalid setting.
        """
        return cls(**{**_read_toml(path), **overrides})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LabelPolicy:
        """
        Load a policy from ``AIGCLABEL_<FIELD>`` variables (for example ``AIGCLABEL_PRODUCER``).

        Raises:
            PolicyError: an ``AIGCLABEL_*`` variable names no setting (nor one of
                :data:`OTHER_ENV_VARIABLES`), or holds an invalid value.
        """
        return cls(**{**_read_env(os.environ if environ is None else environ), **overrides})

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> LabelPolicy:
        """
        Merge a TOML file, the environment and keyword arguments, later ones winning.

        Raises:
            PolicyError: as :meth:`from_toml` and :meth:`from_env`.
        """
        data: dict[str, Any] = _read_toml(path) if path is not None else {}
        data.update(_read_env(os.environ if environ is None else environ))
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """
    Refuse ``AIGCLABEL_*`` variables that name no setting, like unknown keys of a TOML file.

    :meth:`LabelPolicy.from_env` and :meth:`LabelPolicy.load` call it; the command line calls
    it for every command, so that a misspelt ``AIGCLABEL_KYE`` is an error, not a missing key.

    Raises:
        PolicyError: the first unknown name (sorted), with a "did you mean" suggestion.

    .. versionadded:: 0.2.0
    """
    environ = os.environ if environ is None else environ
    known = {ENV_PREFIX + name.upper() for name in LabelPolicy.model_fields} | OTHER_ENV_VARIABLES
    for name in sorted(environ):
        # Exact names: a lower-case aigclabel_key is never read, so it is reported too.
        if name.upper().startswith(ENV_PREFIX) and name not in known:
            hint = _did_you_mean(name.upper(), known)
            raise PolicyError(
                f"{name}: unknown environment variable{hint}; the settings are "
                f"{ENV_PREFIX}<FIELD> for the fields {sorted(LabelPolicy.model_fields)}",
                field=name,
            )


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    where = f"policy file {os.fspath(path)!r}"
    # Errors are raised outside the handlers: a TOMLDecodeError may carry the whole document
    # (Python 3.14 keeps it as .doc), keys included.
    problem: str
    try:
        with Path(path).open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        problem = f"cannot be read: {exc.strerror or exc}"
    else:
        try:
            doc = tomllib.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            problem = f"is not UTF-8 (TOML files are UTF-8): {exc.reason} at byte {exc.start}"
        except tomllib.TOMLDecodeError as exc:
            problem = f"is not valid TOML: {exc}"
        else:
            table = doc.get("aigclabel", doc)
            if not isinstance(table, dict):
                raise PolicyError(f"{where}: [aigclabel] must be a table")
            return dict(table)
    raise PolicyError(f"{where} {problem}")


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    check_environment(environ)
    out: dict[str, Any] = {}
    for name in LabelPolicy.model_fields:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            out[name] = value
    return out


def _key_error(exc: KeyMaterialError, field: str) -> PolicyKeyError:
    if isinstance(exc, PolicyKeyError):
        return exc
    return PolicyKeyError(str(exc), field=field)


def _policy_error(exc: ValidationError) -> AIGCLabelError:
    err = exc.errors()[0]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, PolicyError | KeyMaterialError):
        field = ".".join(str(p) for p in err["loc"]) or None
        error = _key_error(original, field or "key") if not isinstance(original, PolicyError) else original
        # Raised inside a validator, it may hold a traceback and a context; drop both.
        error.__cause__ = error.__context__ = None
        error.__suppress_context__ = True
        return error.with_traceback(None)
    field = ".".join(str(p) for p in err["loc"]) or None
    if err["type"] == "extra_forbidden":
        hint = _did_you_mean(field or "", LabelPolicy.model_fields)
        return PolicyError(
            f"{field}: unknown setting{hint}; valid settings are {sorted(LabelPolicy.model_fields)}",
            field=field,
        )
    if err["type"] == "missing":
        return PolicyError(f"{field}: required, e.g. producer = '001191110102MAD55U9H0F10002'", field=field)
    expected = ""
    if field and field in LabelPolicy.model_fields:
        annotation = LabelPolicy.model_fields[field].annotation
        expected = f" (expected {annotation})".replace("typing.", "")
    return PolicyError(f"{field}: {err['msg']}{_shown(field, err.get('input'))}{expected}", field=field)


def _shown(field: str | None, value: object) -> str:
    """
    ", got <value>" for an error message; nothing for a secret field or a whole-document input.
    """
    if field is None or field in SECRET_FIELDS or isinstance(value, Mapping | BaseModel):
        return ""
    if field == "audit_store" and isinstance(value, str):
        return f", got {redact_url(value)!r}"
    shown = repr(value)
    return f", got {shown[:200]}{'…' if len(shown) > 200 else ''}"
