"""
Type-checked, never run: the public API keeps precise types for users (mypy --strict).
"""

from __future__ import annotations

from typing import assert_type

from aigclabel import (
    AIGCMetadata,
    LabeledText,
    Labeler,
    LabelPolicy,
    StreamLabeler,
    UIDisclosure,
    Verdict,
    verify,
)
from aigclabel.verification import Status, Tier

labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key="5c2e8f1a9d4b7e3061f8a2c4d9b0e7a3"))
labeled = labeler.label("大模型生成的回答……")
assert_type(labeled, LabeledText)
assert_type(labeled.text, str)
assert_type(labeled.metadata, AIGCMetadata)
assert_type(labeled.ui, UIDisclosure)

stream = labeler.stream()
assert_type(stream, StreamLabeler)
assert_type(stream.feed("delta"), str)
assert_type(stream.finish(), str)
assert_type(stream.result, LabeledText | None)

verdict = verify(labeled.text, key="5c2e8f1a9d4b7e3061f8a2c4d9b0e7a3")
assert_type(verdict, Verdict)
assert_type(verdict.tier, Tier)
assert_type(verdict.status, Status)
assert_type(verdict.metadata, AIGCMetadata | None)

# wrap() keeps the client's type: users' code and their type checker see no difference.
import anthropic  # noqa: E402
import httpx  # noqa: E402
import openai  # noqa: E402
from aigclabel.middleware import wrap  # noqa: E402

assert_type(wrap(openai.OpenAI(api_key="x"), labeler), openai.OpenAI)
assert_type(wrap(openai.AsyncOpenAI(api_key="x"), labeler), openai.AsyncOpenAI)
assert_type(wrap(anthropic.Anthropic(api_key="x"), labeler), anthropic.Anthropic)
assert_type(wrap(httpx.Client(), labeler), httpx.Client)
