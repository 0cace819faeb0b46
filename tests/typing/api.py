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

# The transports are typed against each library's public base transport, and aigc_info()
# reads the label data without a `type: ignore`.
import httpx2  # noqa: E402
from aigclabel.middleware import AIGCInfo, aigc_info  # noqa: E402
from aigclabel.middleware import httpx as labeling_httpx  # noqa: E402
from aigclabel.middleware import httpx2 as labeling_httpx2  # noqa: E402

transport = labeling_httpx.LabelingTransport(httpx.HTTPTransport(), labeler)
assert_type(transport.handle_request(httpx.Request("POST", "http://x/v1/chat/completions")), httpx.Response)
assert_type(httpx.Client(transport=transport), httpx.Client)
assert_type(
    httpx.AsyncClient(transport=labeling_httpx.AsyncLabelingTransport(httpx.AsyncHTTPTransport(), labeler)),
    httpx.AsyncClient,
)
transport2 = labeling_httpx2.LabelingTransport(httpx2.HTTPTransport(), labeler)
assert_type(transport2.transport, httpx2.BaseTransport)
assert_type(
    wrap(openai.OpenAI(api_key="x", http_client=httpx2.Client(transport=transport2)), labeler), openai.OpenAI
)
assert_type(labeling_httpx2.AsyncLabelingTransport(httpx2.AsyncHTTPTransport(), labeler).labeler, Labeler)

completion = openai.OpenAI(api_key="x").chat.completions.create(model="m", messages=[])
info = aigc_info(completion)
assert_type(info, AIGCInfo | None)
if info is not None:
    assert_type(info.items[0].metadata, AIGCMetadata)
    assert_type(info.items[0].ui, UIDisclosure)
    assert_type(info.label, str)
