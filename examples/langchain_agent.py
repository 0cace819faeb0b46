"""
Label a LangChain agent: ``create_agent(model, tools, middleware=[AIGCLabelMiddleware(labeler)])``.

The agent calls a tool, then answers. The answer in the agent's state is labeled (the tool-call
step is left as it is, with label data only), and so are the text deltas of
``stream_events(version="v3")``. Offline by default (a fake model that calls the tool, then
answers). Set OPENAI_BASE_URL (and OPENAI_API_KEY, OPENAI_MODEL) to use
``langchain_openai.ChatOpenAI``. ``pip install 'aigc-label[langchain]'``.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from collections.abc import Iterator
from typing import Any

from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.adapters.langchain import AIGCLabelMiddleware, message_aigc
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)

ANSWER = "It is 22 °C and sunny in Hangzhou today: a good afternoon for a walk around West Lake."


@tool
def weather(city: str) -> str:
    """The weather in a city today."""
    return f"{city}: 22 °C, sunny"


class OfflineModel(GenericFakeChatModel):
    """
    A stand-in for a tool-calling chat model: calls ``weather``, then answers, word by word.
    """

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind()

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = next(self.messages)
        assert isinstance(reply, AIMessage)
        if reply.tool_calls:
            calls = [
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": 0}
                for c in reply.tool_calls
            ]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls))  # type: ignore[arg-type]
            return
        words = reply.text.split(" ")
        for i, word in enumerate(words):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=word if i == len(words) - 1 else word + " ")
            )


def make_model() -> BaseChatModel:
    if os.environ.get("OPENAI_BASE_URL"):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    call = {"name": "weather", "args": {"city": "Hangzhou"}, "id": "call-1"}
    turns = [AIMessage("", tool_calls=[call]), AIMessage(ANSWER)] * 2  # one agent run per demo
    return OfflineModel(messages=iter(turns))


def main() -> list[str]:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    agent = create_agent(make_model(), tools=[weather], middleware=[AIGCLabelMiddleware(labeler)])
    question = {"messages": [{"role": "user", "content": "What's the weather in Hangzhou?"}]}

    # 1. invoke: the final answer is labeled; its label data is in response_metadata["aigc"].
    state = agent.invoke(question)
    answer = state["messages"][-1]
    print(answer.text)
    info = message_aigc(answer)
    if info is not None:
        print("tag:", info.items[0].ui.text)

    # 2. v3 event stream (experimental in langgraph 1.2): the streamed tokens carry the label.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the beta warning of the v3 protocol
        run = agent.stream_events(question, version="v3")
    streamed = ""
    for stream in run.messages:  # one stream per model call
        streamed = "".join(stream.text)  # the tool-call step has no text
    print(streamed)

    texts = [answer.text, streamed]
    print([verify(t, key=KEY).status for t in texts])
    return texts


if __name__ == "__main__":
    main()
