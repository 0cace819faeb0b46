"""
:func:`wrap_chat_model`: label at the transport of a ``ChatOpenAI`` or ``ChatAnthropic``.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import TypeVar

from aigclabel.labeler import Labeler
from aigclabel.middleware import wrap
from langchain_core.language_models import BaseChatModel

__all__ = ["wrap_chat_model"]

C = TypeVar("C", bound=BaseChatModel)


def wrap_chat_model(model: C, labeler: Labeler) -> C:
    """
    Wrap the openai / anthropic clients of an existing provider model (:func:`aigclabel.middleware.wrap`);
    return the same model.

    ``ChatOpenAI`` / ``AzureChatOpenAI``: its ``root_client`` and ``root_async_client`` (public
    fields; ``client`` and ``async_client`` are views of them). ``ChatAnthropic``: the clients
    it builds on first use (``_client`` / ``_async_client``, the package has no public way to
    pass an HTTP client; pinned by a test). Every text is then labeled at the transport: put
    the model inside :class:`~aigclabel.adapters.langchain.LabeledChatModel` with the same
    labeler to get the label data on every message (it detects the wrapped transport and
    labels nothing twice).

    For a new ``ChatOpenAI``, passing wrapped HTTP clients needs no private attribute at all:
    ``ChatOpenAI(http_client=wrap(httpx2.Client(), labeler),
    http_async_client=wrap(httpx2.AsyncClient(), labeler))``.

    Raises:
        TypeError: *model* has no openai or anthropic client to wrap.
        AlreadyWrappedError: a client already labels with another labeler.
    """
    wrapped = 0
    for name in ("root_client", "root_async_client", "_client", "_async_client"):
        client = getattr(model, name, None)
        if client is not None and type(client).__module__.split(".")[0] in ("openai", "anthropic"):
            wrap(client, labeler)
            wrapped += 1
    if not wrapped:
        raise TypeError(
            f"{type(model).__name__} has no openai or anthropic client to wrap; "
            "use LabeledChatModel(inner=model, labeler=labeler)"
        )
    return model
