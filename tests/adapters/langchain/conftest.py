"""
Fixtures of the LangChain adapter tests: LangChain's own fake chat models, a record store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from aigclabel import Labeler, LabelPolicy
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessageChunk

from tests.helpers import CHAIN_KEY, KEY, PRODUCER

#: An English answer long enough to carry a packet besides the seal.
TEXT = (
    "The capital of France is Paris. It is a large city with many museums, parks and cafés, "
    "and the Seine runs through it from east to west."
)


def generic(*messages: AIMessage | str) -> GenericFakeChatModel:
    """
    LangChain's GenericFakeChatModel answering *messages* in turn (it streams word by word).
    """
    return GenericFakeChatModel(
        messages=iter([m if isinstance(m, AIMessage) else AIMessage(m) for m in messages])
    )


def joined(chunks: Sequence[BaseMessageChunk]) -> BaseMessageChunk:
    """
    The chunks added together, as a LangChain user merges a stream.
    """
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


@pytest.fixture(name="store_url")
def _store_url(tmp_path: Path) -> str:
    """
    A fresh SQLite record store.
    """
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(name="audited")
def _audited(store_url: str) -> Labeler:
    """
    A labeler that honours opt-outs under agreement 2025-09 and records them in *store_url*.
    """
    return Labeler(
        LabelPolicy(
            producer=PRODUCER,
            key=KEY,
            audit_store=store_url,
            opt_out_agreements=["2025-09"],
            audit_chain_key=CHAIN_KEY,
        )
    )
