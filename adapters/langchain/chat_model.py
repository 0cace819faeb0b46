"""
:class:`LabeledChatModel`: any LangChain chat model, its replies labeled (work in progress).
"""

from __future__ import annotations

__all__ = ["LabeledChatModel"]


class LabeledChatModel:  # placeholder until the chat model lands
    pass
