"""
Profiles: subkeys derived from the provider's key material by slot and scheme, never the key
itself; vLLM's integer key and ``--watermark-config`` JSON.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from aigclabel import KeyMaterialError
from aigclabel.watermark import (
    DEFAULT_CONTEXT_WIDTH,
    WatermarkError,
    WatermarkProfile,
    WatermarkTypeError,
    derive_profile,
    vllm_profile,
    vllm_watermark_config,
)

from tests.helpers import KEY


def test_same_secret_and_slot_give_the_same_profile() -> None:
    """Derivation is deterministic: the detector re-derives the generator's profile."""
    assert derive_profile(KEY, vocab_size=1000) == derive_profile(KEY.encode(), vocab_size=1000)


def test_slots_and_schemes_give_independent_keys() -> None:
    """Another slot or scheme gives another seed and key id."""
    profiles = [
        derive_profile(KEY, scheme=s, vocab_size=1000, slot=k)
        for s in ("gumbel", "green_list")
        for k in (0, 1)
    ]
    assert 4 == len({p.seed for p in profiles})
    assert 4 == len({p.key_id for p in profiles})


def test_profile_never_holds_or_shows_the_key() -> None:
    """The key is in no field; the seed (the watermark key) is not in the repr."""
    profile = derive_profile(KEY, vocab_size=1000)
    values = [str(getattr(profile, f.name)) for f in dataclasses.fields(profile)]
    assert not any(KEY in v for v in values)
    assert str(profile.seed) not in repr(profile)
    assert 8 == len(profile.key_id)
    int(profile.key_id, 16)


def test_defaults_follow_the_scheme() -> None:
    """gumbel takes vLLM's context width 4, green_list 1, with γ 0.25 and δ 2."""
    assert DEFAULT_CONTEXT_WIDTH["gumbel"] == derive_profile(KEY, vocab_size=10).context_width
    green = derive_profile(KEY, scheme="green_list", vocab_size=10)
    assert (1, 0.25, 2.0) == (green.context_width, green.gamma, green.delta)


def test_weak_secret_is_refused() -> None:
    """The watermark key meets the same floor as a labeling key."""
    with pytest.raises(KeyMaterialError):
        derive_profile("aaaaaaaaaaaaaaaaaaaa", vocab_size=10)


@pytest.mark.parametrize(
    "changes",
    [
        {"vocab_size": 0},
        {"context_width": 0},
        {"context_width": 65},
        {"gamma": 1.0},
        {"gamma": 0.0},
        {"delta": -1.0},
        {"slot": -1},
        {"scheme": "kgw"},
    ],
)
def test_out_of_range_parameters_are_refused(changes: dict[str, object]) -> None:
    """A parameter out of range raises WatermarkError naming it."""
    arguments: dict[str, object] = {"vocab_size": 10} | changes
    with pytest.raises(WatermarkError, match=next(iter(changes)) if "scheme" not in changes else "scheme"):
        derive_profile(KEY, **arguments)  # type: ignore[arg-type]


def test_wrong_types_are_type_errors() -> None:
    """A float vocabulary size is a WatermarkTypeError (also a TypeError)."""
    with pytest.raises(WatermarkTypeError):
        derive_profile(KEY, vocab_size=10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WatermarkProfile(key_id="0" * 8, scheme="gumbel", vocab_size=10, context_width=4, seed="1")  # type: ignore[arg-type]


def test_vllm_config_carries_the_seed_as_integer_key() -> None:
    """The --watermark-config JSON is vLLM's gumbel config with our seed, width and full de-duplication."""
    profile = derive_profile(KEY, vocab_size=151_936)
    config = vllm_watermark_config(profile)
    assert {
        "algorithm": "gumbel",
        "key": profile.seed,
        "context_width": 4,
        "prf": "philox",
        "deduplicate_contexts": "single_turn",
        "deduplicate_contexts_max_history": None,
    } == config
    assert config == json.loads(json.dumps(config))
    assert 0 <= config["key"] < 2**64


def test_vllm_config_can_enforce_watermarking_on_newer_servers() -> None:
    """enforce=True adds vLLM 0.34's "enforce": true (the server overrides request opt-outs)."""
    profile = derive_profile(KEY, vocab_size=10)
    assert vllm_watermark_config(profile, enforce=True) == vllm_watermark_config(profile) | {"enforce": True}


def test_vllm_config_needs_a_gumbel_profile() -> None:
    """vLLM generates only gumbel: a green_list profile raises."""
    with pytest.raises(WatermarkError, match="gumbel"):
        vllm_watermark_config(derive_profile(KEY, scheme="green_list", vocab_size=10))


def test_vllm_profile_wraps_an_existing_key() -> None:
    """A deployer's own vLLM key becomes a gumbel profile with that seed and a stable key id."""
    profile = vllm_profile(12345, vocab_size=32_000)
    assert (12345, "gumbel", 4, -1) == (profile.seed, profile.scheme, profile.context_width, profile.slot)
    assert profile.key_id == vllm_profile(12345, vocab_size=10).key_id
    assert 12345 == vllm_watermark_config(profile)["key"]
    with pytest.raises(WatermarkError):
        vllm_profile(2**64, vocab_size=10)
