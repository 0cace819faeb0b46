"""
aigclabel.adapters.langchain — labeled LangChain chat models, messages and agents.

* :class:`LabeledChatModel` wraps any LangChain chat model: ``invoke``, ``stream``, their
  async and batch forms and the event streams return labeled text, with the label data in
  ``response_metadata["aigc"]``;
* :func:`label_message` / :func:`alabel_message` label one ``AIMessage`` (a copy);
  :func:`history_for_model` keeps this labeler's marks out of the history sent to a model;
  :func:`message_aigc` reads a message's or a stream chunk's label data;
* :func:`wrap_chat_model` labels at the transport of a ``ChatOpenAI`` / ``ChatAnthropic``;
* :class:`AIGCLabelMiddleware` (imported on first use: it needs ``langchain`` and
  ``langgraph``) labels the model calls of a ``langchain.agents.create_agent`` agent.

Needs the ``langchain`` extra (``pip install 'aigc-label[langchain]'``, Python >= 3.11);
importing this package without langchain-core raises
:class:`~aigclabel.exceptions.MissingDependencyError` (an ``ImportError``).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import langchain_core  # noqa: F401  (checked here so the error names the extra)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without langchain-core
    from aigclabel.exceptions import MissingDependencyError

    raise MissingDependencyError("langchain-core", "langchain") from exc

from .chat_model import LabeledChatModel
from .messages import AIGC_KEY, AIGC_START_KEY, alabel_message, history_for_model, label_message, message_aigc
from .providers import wrap_chat_model

if TYPE_CHECKING:
    from .agent import AIGCLabelMiddleware

__all__ = [
    "AIGC_KEY",
    "AIGC_START_KEY",
    "AIGCLabelMiddleware",
    "LabeledChatModel",
    "alabel_message",
    "history_for_model",
    "label_message",
    "message_aigc",
    "wrap_chat_model",
]


def __getattr__(name: str) -> Any:
    # The agent middleware needs langchain and langgraph: loaded only when asked for.
    if name == "AIGCLabelMiddleware":
        from .agent import AIGCLabelMiddleware

        return AIGCLabelMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
