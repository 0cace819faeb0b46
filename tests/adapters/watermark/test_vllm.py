"""
vLLM's native watermark keyed from the policy: engine arguments and the request opt-out fields.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from aigclabel.adapters.watermark.vllm import vllm_engine_kwargs, vllm_serve_args, watermark_opt_out_fields
from aigclabel.watermark import (
    WatermarkDetector,
    WatermarkError,
    derive_profile,
    gumbel_choice,
    vllm_profile,
    vllm_watermark_config,
)

from tests.helpers import KEY

VOCAB = 512


class IdsOnly:
    """
    The detector's tokenizer protocol; only token ids are scored here.
    """

    vocab_size = VOCAB

    def encode(self, text: str) -> list[int]:
        raise AssertionError("only token ids are scored in these tests")


def test_serve_args_carry_the_profiles_config_as_compact_json() -> None:
    """
    ``vllm serve`` gets ``--watermark-config`` and the core's config, whose key is the profile's seed.
    """
    profile = derive_profile(KEY, scheme="gumbel", vocab_size=VOCAB)
    flag, value = vllm_serve_args(profile)
    assert flag == "--watermark-config"
    assert " " not in value
    assert json.loads(value) == vllm_watermark_config(profile)
    assert json.loads(value)["key"] == profile.seed
    assert vllm_engine_kwargs(profile) == {"watermark_config": vllm_watermark_config(profile)}


def test_green_list_profiles_have_no_vllm_config() -> None:
    """
    vLLM generates only the gumbel scheme: a green_list profile raises WatermarkError.
    """
    profile = derive_profile(KEY, scheme="green_list", vocab_size=VOCAB)
    with pytest.raises(WatermarkError):
        vllm_serve_args(profile)
    with pytest.raises(WatermarkError):
        vllm_engine_kwargs(profile)


def test_the_integer_key_in_the_config_is_enough_to_detect() -> None:
    """
    Text generated under the policy's gumbel profile is detected by a profile rebuilt from the
    integer key of the vLLM config alone (what a deployer who only has the config holds).
    """
    profile = derive_profile(KEY, scheme="gumbel", vocab_size=VOCAB, slot=3)
    config = json.loads(vllm_serve_args(profile)[1])
    rng = np.random.default_rng(5)
    generated: list[int] = []
    for _ in range(150):
        probs = rng.dirichlet(np.full(VOCAB, 0.3))
        generated.append(gumbel_choice(profile, generated, probs, rng=rng))
    rebuilt = vllm_profile(config["key"], vocab_size=VOCAB, context_width=config["context_width"])
    assert WatermarkDetector([rebuilt], IdsOnly()).detect(generated).significant


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"model": "m", "messages": []}, []),
        ({"watermarking": True}, []),
        ({"watermarking": False}, ["watermarking"]),
        ({"watermarking": None}, ["watermarking"]),
        ({"watermarking": "false"}, ["watermarking"]),
        ({"sampling_params": {"watermarking": False}}, ["sampling_params.watermarking"]),
        ({"sampling_params": {"temperature": 0.7}}, []),
        ({"sampling_params": "not an object"}, []),
        (
            {"watermarking": 0, "sampling_params": {"watermarking": False}},
            ["watermarking", "sampling_params.watermarking"],
        ),
    ],
)
def test_opt_out_fields_are_named(body: dict[str, Any], expected: list[str]) -> None:
    """
    Every field that could switch vLLM's watermark off (present and not ``true``) is named.
    """
    assert watermark_opt_out_fields(body) == expected
