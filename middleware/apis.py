"""
The generation APIs the middleware labels, one module each, looked up by endpoint.

Each API module knows where its text is and which event is final: a ``body`` function for
a JSON object, a :class:`~.rewrite.StreamRewriter` subclass for its event stream, and how
to tell JSON-mode output in Batch results. The plumbing (SSE codec, JSON parsing, the
transports) is shared and knows no API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigclabel.labeler import LabelContext, Labeler, OptOutDecision

from . import anthropic_messages, openai_chat, openai_completions, openai_responses
from .common import Reasoning, RewriterBase
from .endpoints import Endpoint, RequestInfo
from .rewrite import StreamRewriter

__all__ = ["API", "APIS", "stream_rewriter"]


@dataclass(frozen=True, slots=True)
class API:
    """
    One generation API.

    Attributes:
        body: labels one response object in place and returns its ``aigc`` items.
        stream: the rewriter of its event stream.
        batch_structured: whether a response object in Batch output is JSON-mode output.
        object: the response's ``object`` value (OpenAI), how a Batch line says what it holds.
    """

    body: Callable[[RewriterBase, dict[str, Any]], list[dict[str, Any]]]
    stream: type[StreamRewriter]
    batch_structured: Callable[[dict[str, Any]], bool]
    object: str | None


APIS: dict[Endpoint, API] = {
    Endpoint.CHAT: API(
        openai_chat.body, openai_chat.ChatStream, openai_chat.batch_structured, openai_chat.OBJECT
    ),
    Endpoint.COMPLETIONS: API(
        openai_completions.body,
        openai_completions.CompletionsStream,
        openai_completions.batch_structured,
        openai_completions.OBJECT,
    ),
    Endpoint.RESPONSES: API(
        openai_responses.body,
        openai_responses.ResponsesStream,
        openai_responses.batch_structured,
        openai_responses.OBJECT,
    ),
    Endpoint.MESSAGES: API(
        anthropic_messages.body, anthropic_messages.MessagesStream, anthropic_messages.batch_structured, None
    ),
}


def stream_rewriter(
    labeler: Labeler,
    info: RequestInfo,
    context: LabelContext | None,
    reasoning: Reasoning = "label",
    *,
    decision: OptOutDecision | None = None,
) -> StreamRewriter:
    """
    The stream rewriter of *info*'s API.
    """
    return APIS[info.endpoint].stream(labeler, info, context, reasoning, decision=decision)
