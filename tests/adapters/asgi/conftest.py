"""
Fixtures for the asgi tests: a labeler with an audit store that honours opt-outs under ``v1``,
the stand-in model, and a wrapped ``AsyncOpenAI`` client streaming from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters.asgi import StandInModel
from aigclabel.adapters.asgi.standin import STAND_IN_URL
from aigclabel.adapters.audit import AuditStore, open_record_sink
from aigclabel.middleware import wrap

from tests.helpers import CHAIN_KEY, KEY, PRODUCER

AGREEMENT = "v1"


@pytest.fixture(name="policy")
def _policy(tmp_path: Path) -> LabelPolicy:
    """
    A policy with a SQLite audit store that accepts opt-outs under agreement ``v1``.
    """
    return LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store=f"sqlite:///{tmp_path / 'audit.db'}",
        opt_out_agreements=(AGREEMENT,),
        audit_chain_key=CHAIN_KEY,
    )


@pytest.fixture(name="audit")
def _audit(policy: LabelPolicy) -> Iterator[AuditStore]:
    """
    The labeler's record sink (queried by the tests).
    """
    store = open_record_sink(policy)
    yield store
    store.close()


@pytest.fixture(name="labeler")
def _labeler(policy: LabelPolicy, audit: AuditStore) -> Labeler:
    """
    A labeler writing its Art. 9 records into *audit*.
    """
    return Labeler(policy, sink=audit)


@pytest.fixture(name="model")
def _model() -> StandInModel:
    """
    The stand-in model, fast (5 ms a chunk).
    """
    return StandInModel(delay=0.005)


def async_client(model: StandInModel, labeler: Labeler) -> Any:
    """
    A wrapped AsyncOpenAI client streaming from *model*.
    """
    client = openai.AsyncOpenAI(
        api_key="test",
        base_url=STAND_IN_URL,
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=model.transport()),
    )
    return wrap(client, labeler)


@pytest.fixture(name="client")
def _client(model: StandInModel, labeler: Labeler) -> Any:
    """
    A wrapped AsyncOpenAI client streaming from the stand-in model.
    """
    return async_client(model, labeler)
