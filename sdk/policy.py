"""
LabelPolicy: every labeling setting, validated when it is built.

Load it from keyword arguments, a TOML file, ``AIGCLABEL_*`` environment variables or
all three (:meth:`LabelPolicy.load`: file < environment < arguments).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .exceptions import AIGCLabelError, KeyMaterialError, PolicyError
from .explicit import DEFAULT_LABEL_TEXT, Placement, TextFormat, is_compliant_label_text
from .marks.keys import load_private_key, secret_bytes
from .metadata import LabelValue
from .producer import validate_producer_code

__all__ = ["ENV_PREFIX", "LabelPolicy", "Preset", "SealChannels", "UIPosition"]

ENV_PREFIX = "AIGCLABEL_"
Preset = Literal["cn", "eu", "cn+eu"]
SealChannels = Literal["both", "mn", "cf"]
UIPosition = Literal["near_content", "top", "bottom", "background"]


class LabelPolicy(BaseModel):
    """
    How a :class:`~aigclabel.Labeler` labels text.

    Invalid settings raise :class:`~aigclabel.PolicyError` (a ``ValueError``) naming
    the field. Keys are held as ``SecretStr`` and never appear in reprs or logs.

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    producer: str = Field(description="TC260 provider code (27 characters) of the generation service.")
    key: SecretStr | None = Field(default=None, description="HMAC-SHA256 secret, at least 16 bytes.")
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

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _policy_error(exc) from exc

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name in ("key", "signing_key", "audit_chain_key"):
                yield name, None if value is None else "**********"
            else:
                yield name, value

    @field_validator("producer")
    @classmethod
    def _producer(cls, value: str) -> str:
        return validate_producer_code(value, field="producer")

    @field_validator("key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret_bytes(value.get_secret_value(), field="key")
        return value

    @field_validator("signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            load_private_key(value.get_secret_value(), field="signing_key")
        return value

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
                if text is not None and not is_compliant_label_text(text):
                    raise PolicyError(
                        f"{name}: {text!r} lacks the GB 45438 §5.1 elements — it must contain "
                        "「人工智能」 or 「AI」 and 「生成」 or 「合成」, "
                        "e.g. '本内容由人工智能生成' or 'AI生成'",
                        field=name,
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
            PolicyError: the file is missing, not TOML, or holds an invalid setting.
        """
        return cls(**{**_read_toml(path), **overrides})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LabelPolicy:
        """
        Load a policy from ``AIGCLABEL_<FIELD>`` variables (for example ``AIGCLABEL_PRODUCER``).
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
        """
        data: dict[str, Any] = _read_toml(path) if path is not None else {}
        data.update(_read_env(os.environ if environ is None else environ))
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise PolicyError(f"policy file {os.fspath(path)!r} cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {os.fspath(path)!r} is not valid TOML: {exc}") from exc
    table = doc.get("aigclabel", doc)
    if not isinstance(table, dict):
        raise PolicyError(f"policy file {os.fspath(path)!r}: [aigclabel] must be a table")
    return dict(table)


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in LabelPolicy.model_fields:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            out[name] = value
    return out


def _policy_error(exc: ValidationError) -> AIGCLabelError:
    err = exc.errors()[0]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, PolicyError | KeyMaterialError):
        return original
    field = ".".join(str(p) for p in err["loc"]) or None
    if err["type"] == "extra_forbidden":
        return PolicyError(
            f"{field}: unknown setting; valid settings are {sorted(LabelPolicy.model_fields)}", field=field
        )
    if err["type"] == "missing":
        return PolicyError(f"{field}: required, e.g. producer = '001191110102MAD55U9H0F10002'", field=field)
    expected = ""
    if field and field in LabelPolicy.model_fields:
        annotation = LabelPolicy.model_fields[field].annotation
        expected = f" (expected {annotation})".replace("typing.", "")
    shown = "" if field in ("key", "signing_key", "audit_chain_key") else f", got {err.get('input')!r}"
    return PolicyError(f"{field}: {err['msg']}{shown}{expected}", field=field)
