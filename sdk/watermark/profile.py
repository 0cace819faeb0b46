"""
Watermark profiles: the scheme, its parameters and a key derived from the provider's key material.

A profile never holds the provider's secret. :func:`derive_profile` derives a subkey by slot::

    subkey = HMAC-SHA256(producer_secret(secret), "AIGC/watermark/1|" + scheme + "|" + str(slot))
    seed   = int.from_bytes(subkey[:8], "big")                  # the 64-bit PRF key
    key_id = SHA-256("AIGC/watermark/key-id|" + subkey)[:4].hex()   # 8 hex characters, safe to log

so a watermark key can be rotated (a new slot) without touching the labeling key, the two
schemes never share a key, and a leaked ``seed`` reveals nothing about the labeling key.

**vLLM.** For a ``gumbel`` profile, ``seed`` *is* vLLM's integer watermark key: start the server with
:func:`vllm_watermark_config` (``vllm serve … --watermark-config "$(python -c …)"``) and vLLM's own
sampler (Gumbel-max over its Philox PRF, context width 4, context de-duplication over this
request's generated tokens) produces text that :class:`~aigclabel.watermark.WatermarkDetector`
detects with this profile. A deployer who already runs vLLM with a key of their own uses
:func:`vllm_profile` instead. vLLM lets a request opt out with ``"watermarking": false``; a
deployment that must watermark everything removes that field at its ingress (the labeling gateway
does it for the requests it forwards).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..keymaterial import producer_secret
from .errors import WatermarkError, WatermarkTypeError

__all__ = [
    "DEFAULT_CONTEXT_WIDTH",
    "DERIVATION_LABEL",
    "Scheme",
    "WatermarkProfile",
    "derive_profile",
    "vllm_profile",
    "vllm_watermark_config",
]

#: The two schemes: ``green_list`` (KGW family: a keyed green fraction γ of the vocabulary gets a
#: logit bias δ) and ``gumbel`` (distortion-free Gumbel-max sampling, vLLM-compatible).
Scheme = Literal["green_list", "gumbel"]
_SCHEMES: tuple[str, ...] = get_args(Scheme)
#: Context width by scheme: 1 for ``green_list`` (the previous token plus the candidate itself),
#: 4 for ``gumbel`` (vLLM's default).
DEFAULT_CONTEXT_WIDTH: dict[str, int] = {"green_list": 1, "gumbel": 4}
#: Domain label of the subkey derivation (version 1).
DERIVATION_LABEL = b"AIGC/watermark/1|"
_KEY_ID_LABEL = b"AIGC/watermark/key-id|"
_VLLM_KEY_ID_LABEL = b"AIGC/watermark/vllm-key|"
_MAX_CONTEXT_WIDTH = 64
_U64 = 2**64


@dataclass(frozen=True, slots=True, kw_only=True)
class WatermarkProfile:
    """
    One watermark key and its scheme parameters. Build it with :func:`derive_profile` or :func:`vllm_profile`.

    Attributes:
        key_id: 8 hex characters naming the derived key; safe to log and show. Never the key.
        scheme: ``"green_list"`` or ``"gumbel"``.
        vocab_size: the model's vocabulary size (width of its logits); token ids must be below it.
        context_width: how many previously generated tokens seed the PRF (``green_list`` 1, ``gumbel`` 4).
        seed: the 64-bit PRF key (for ``gumbel``, vLLM's integer ``key``). Secret: not in ``repr``.
        gamma: ``green_list``: the green fraction of the vocabulary, in (0, 1).
        delta: ``green_list``: the logit bias added to green tokens (natural-log units), > 0.
        slot: the key slot it was derived from (-1 for a profile made from a vLLM key).
        deduplicate: score a repeated context (``gumbel``) or a repeated (context, token) pair
            (``green_list``) only once; on by default, as in vLLM.
    """

    key_id: str
    scheme: Scheme
    vocab_size: int
    context_width: int
    seed: int = field(repr=False)
    gamma: float = 0.25
    delta: float = 2.0
    slot: int = 0
    deduplicate: bool = True

    def __post_init__(self) -> None:
        if self.scheme not in _SCHEMES:
            raise WatermarkError(f"scheme must be one of {list(_SCHEMES)}, got {self.scheme!r}")
        _check_int("vocab_size", self.vocab_size, 1, 2**32)
        _check_int("context_width", self.context_width, 1, _MAX_CONTEXT_WIDTH)
        _check_int("seed", self.seed, 0, _U64 - 1)
        if not isinstance(self.gamma, int | float) or isinstance(self.gamma, bool) or not 0 < self.gamma < 1:
            raise WatermarkError(f"gamma must be a number in (0, 1), got {self.gamma!r}")
        if (
            not isinstance(self.delta, int | float)
            or isinstance(self.delta, bool)
            or not 0 < self.delta < 100
        ):
            raise WatermarkError(f"delta must be a number in (0, 100), got {self.delta!r}")
        if (
            not isinstance(self.key_id, str)
            or len(self.key_id) != 8
            or any(c not in "0123456789abcdef" for c in self.key_id)
        ):
            raise WatermarkError(f"key_id must be 8 lowercase hex characters, got {self.key_id!r}")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WatermarkTypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise WatermarkError(f"{name} must be in [{low}, {high}], got {value}")


def derive_profile(
    secret: str | bytes,
    *,
    scheme: Scheme = "gumbel",
    vocab_size: int,
    slot: int = 0,
    context_width: int | None = None,
    gamma: float = 0.25,
    delta: float = 2.0,
) -> WatermarkProfile:
    """
    The watermark profile of key *slot* under the provider's *secret* (see the module docstring).

    Args:
        secret: the provider's HMAC key material (normalised and strength-checked like a labeling key).
        scheme: ``"gumbel"`` (default; vLLM-compatible, distortion-free) or ``"green_list"``.
        vocab_size: the model's vocabulary size (logits width).
        slot: key slot, ``>= 0``; a new slot gives an independent key.
        context_width: tokens of context; ``None`` takes :data:`DEFAULT_CONTEXT_WIDTH` of the scheme.
        gamma: ``green_list`` green fraction.
        delta: ``green_list`` logit bias.

    Raises:
        KeyMaterialError: the secret is unusable or weak (never shown in the message).
        WatermarkError: a parameter is out of range.
    """
    if scheme not in _SCHEMES:
        raise WatermarkError(f"scheme must be one of {list(_SCHEMES)}, got {scheme!r}")
    _check_int("slot", slot, 0, 2**31 - 1)
    raw = producer_secret(secret, field="watermark key")
    subkey = hmac.new(raw, DERIVATION_LABEL + f"{scheme}|{slot}".encode("ascii"), hashlib.sha256).digest()
    width = DEFAULT_CONTEXT_WIDTH[scheme] if context_width is None else context_width
    return WatermarkProfile(
        key_id=hashlib.sha256(_KEY_ID_LABEL + subkey).digest()[:4].hex(),
        scheme=scheme,
        vocab_size=vocab_size,
        context_width=width,
        seed=int.from_bytes(subkey[:8], "big"),
        gamma=gamma,
        delta=delta,
        slot=slot,
    )


def vllm_profile(key: int, *, vocab_size: int, context_width: int = 4) -> WatermarkProfile:
    """
    A ``gumbel`` profile for text generated by vLLM started with ``--watermark-config '{"key": key, …}'``.

    Args:
        key: vLLM's integer watermark key, in ``[0, 2**64)``.
        vocab_size: the served model's vocabulary size.
        context_width: vLLM's ``context_width`` (default 4).

    Returns:
        A profile with ``seed == key``, ``slot == -1`` and a key id hashed from the key.
    """
    _check_int("key", key, 0, _U64 - 1)
    key_id = hashlib.sha256(_VLLM_KEY_ID_LABEL + key.to_bytes(8, "big")).digest()[:4].hex()
    return WatermarkProfile(
        key_id=key_id, scheme="gumbel", vocab_size=vocab_size, context_width=context_width, seed=key, slot=-1
    )


def vllm_watermark_config(profile: WatermarkProfile, *, enforce: bool = False) -> dict[str, Any]:
    """
    The JSON object for ``vllm serve --watermark-config`` (vLLM >= 0.33) that generates *profile*'s watermark.

    ``key`` is :attr:`WatermarkProfile.seed`; the context is de-duplicated over the whole
    generated text (``deduplicate_contexts_max_history: null``), which is exactly what the
    detector scores. Pass it as ``json.dumps(vllm_watermark_config(profile))``; it contains the
    secret watermark key, so treat it like one.

    Args:
        profile: a ``gumbel`` profile.
        enforce: add ``"enforce": true`` so that the server itself overrides a request's
            ``"watermarking": false`` (vLLM >= 0.34 only; 0.33 rejects the field, and there the
            ingress must remove the request field instead).

    Raises:
        WatermarkError: the profile is not a ``gumbel`` profile.
    """
    if not isinstance(profile, WatermarkProfile):
        raise WatermarkTypeError(f"expected a WatermarkProfile, got {type(profile).__name__}")
    if profile.scheme != "gumbel":
        raise WatermarkError(f"vLLM generates only the gumbel scheme; this profile is {profile.scheme!r}")
    config: dict[str, Any] = {
        "algorithm": "gumbel",
        "key": profile.seed,
        "context_width": profile.context_width,
        "prf": "philox",
        "deduplicate_contexts": "single_turn" if profile.deduplicate else "none",
        "deduplicate_contexts_max_history": None,
    }
    if enforce:
        config["enforce"] = True
    return config
