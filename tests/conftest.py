"""
Shared fixtures and the Hypothesis profile for the whole suite.
"""

from __future__ import annotations

import os

import pytest
from aigclabel import Labeler, LabelPolicy
from hypothesis import HealthCheck, settings

from tests.helpers import KEY, PRODUCER

# "ci" (the default) is derandomized: a run is reproducible, so a failure in CI fails again on any
# machine. "explore" draws fresh random examples, and more of them, for a local search for new cases
# (HYPOTHESIS_PROFILE=explore make pytest); a case it finds goes into the test as an @example.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=600,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, name="clean_environ")
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Remove every AIGCLABEL_* variable so that no test depends on the caller's environment.
    """
    for name in list(os.environ):
        if name.startswith("AIGCLABEL_"):
            monkeypatch.delenv(name)


@pytest.fixture(name="policy")
def _policy() -> LabelPolicy:
    """
    The policy most tests use: a real provider code, an HMAC secret and the full seal at every
    length, so that a short test reply carries its producer and ProduceID in the text. (The
    default ``seal_form="auto"`` gives such a reply a micro seal: tests/sdk/test_micro_seal.py
    and the wrapped-client tests of it.)
    """
    return LabelPolicy(producer=PRODUCER, key=KEY, seal_form="full")


@pytest.fixture(name="labeler")
def _labeler(policy: LabelPolicy) -> Labeler:
    """
    A labeler built from the default policy.
    """
    return Labeler(policy)
