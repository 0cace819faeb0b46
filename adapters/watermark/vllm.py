"""
vLLM's native watermark, keyed from the labeling policy's key material.

vLLM (>= 0.33) watermarks in its own sampler when the engine starts with ``--watermark-config``:
Gumbel-max over a Philox PRF with a context of the 4 previous generated tokens, applied after
temperature, top-k and top-p. :mod:`aigclabel.watermark`'s ``gumbel`` scheme is bit-compatible with
it, so no custom logits processor is needed: derive a ``gumbel`` profile from the provider's secret,
start vLLM with that profile's integer key, and detect with the same profile::

    from aigclabel.watermark import derive_profile
    from aigclabel.adapters.watermark.vllm import vllm_serve_args

    profile = derive_profile(secret, scheme="gumbel", vocab_size=151936, slot=0)
    cmd = ["vllm", "serve", "Qwen/Qwen3-8B", *vllm_serve_args(profile)]

The key in those arguments is the secret watermark key (a 64-bit integer derived from the
provider's key material, never the material itself): pass it through the process environment or a
file readable by the server only, not a shared shell history.

vLLM lets a request switch its watermark off with ``"watermarking": false`` in the body (and in
``sampling_params`` of its token API). A deployment that must watermark everything removes such
fields at its ingress: :func:`watermark_opt_out_fields` names them in a request body, and the
labeling gateway (``aigclabel serve``) already drops a top-level ``"watermarking"`` that is not
``true`` from the requests it forwards, unless ``trusted_control`` is set. Needs the ``watermark``
extra (the core uses numpy).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

try:  # the core needs numpy: checked here so the error names the extra
    from aigclabel.watermark import WatermarkProfile, vllm_watermark_config
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError(exc.name or "numpy", "watermark") from exc

__all__ = ["vllm_engine_kwargs", "vllm_serve_args", "watermark_opt_out_fields"]

#: Where vLLM reads a request's watermark switch: the OpenAI-compatible body, and the token API's
#: ``sampling_params`` object.
_SWITCHES: tuple[tuple[str, ...], ...] = (("watermarking",), ("sampling_params", "watermarking"))


def vllm_serve_args(profile: WatermarkProfile) -> list[str]:
    """
    The ``vllm serve`` arguments that make vLLM generate *profile*'s watermark.

    Returns:
        ``["--watermark-config", "<compact JSON of vllm_watermark_config(profile)>"]``.

    Raises:
        WatermarkError: *profile* is not a ``gumbel`` profile (vLLM generates only that scheme).
    """
    return ["--watermark-config", json.dumps(vllm_watermark_config(profile), separators=(",", ":"))]


def vllm_engine_kwargs(profile: WatermarkProfile) -> dict[str, Any]:
    """
    The same setting for the Python engine: ``LLM(model, **vllm_engine_kwargs(profile))``.

    Returns:
        ``{"watermark_config": vllm_watermark_config(profile)}`` (vLLM's engine argument for
        ``--watermark-config``).

    Raises:
        WatermarkError: *profile* is not a ``gumbel`` profile.
    """
    return {"watermark_config": vllm_watermark_config(profile)}


def watermark_opt_out_fields(body: Mapping[str, Any]) -> list[str]:
    """
    The fields of a request *body* that would make vLLM skip its watermark for that request.

    A field counts when it is present with any value other than ``true`` (vLLM reads ``false`` as
    an opt-out; other values are not valid and should not reach it either). Paths are dotted:
    ``"watermarking"`` for the OpenAI-compatible APIs, ``"sampling_params.watermarking"`` for the
    token API. An ingress that enforces watermarking rejects the request or removes those fields
    before forwarding it.

    Args:
        body: the parsed JSON body of a request (anything but a mapping has no such field).

    Returns:
        The dotted paths, in a fixed order; empty when the request keeps the watermark.
    """
    found: list[str] = []
    for path in _SWITCHES:
        node: Any = body
        for name in path:
            node = node.get(name, _ABSENT) if isinstance(node, Mapping) else _ABSENT
        if node is not _ABSENT and node is not True:
            found.append(".".join(path))
    return found


_ABSENT = object()
