"""
Label every reply of a LangChain chat model: ``LabeledChatModel(inner=model, labeler=labeler)``.

Offline by default (LangChain's own fake chat model). Set OPENAI_BASE_URL (and OPENAI_API_KEY,
OPENAI_MODEL) to call an OpenAI-compatible endpoint through ``langchain_openai.ChatOpenAI``,
its HTTP clients wrapped so the transport labels and the model recovers the label data.
``pip install 'aigc-label[langchain]' langchain-openai``.
"""

from __future__ import annotations

import os
import secrets

from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.adapters.langchain import LabeledChatModel, message_aigc
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessageChunk

# A fresh random key per run unless AIGCLABEL_KEY holds yours (never ship a key written in code).
KEY = os.environ.get("AIGCLABEL_KEY") or secrets.token_hex(32)

ANSWER = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，最适合到湖边散步和品尝龙井茶。"


def make_model(labeler: Labeler) -> BaseChatModel:
    if os.environ.get("OPENAI_BASE_URL"):
        import httpx2
        from aigclabel.middleware import wrap
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
            http_client=wrap(httpx2.Client(), labeler),
            http_async_client=wrap(httpx2.AsyncClient(), labeler),
        )
    return GenericFakeChatModel(messages=iter([AIMessage(ANSWER), AIMessage(ANSWER)]))


def main() -> list[str]:
    labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=KEY))
    model = LabeledChatModel(inner=make_model(labeler), labeler=labeler)

    reply = model.invoke("用两句话介绍杭州。")
    print(reply.text)
    info = message_aigc(reply)  # response_metadata["aigc"], typed
    if info is not None:
        print(info.items[0].metadata.to_json())  # the Annex E label
        print(info.items[0].ui.text)  # the interface tag to show next to the text

    merged: BaseMessageChunk | None = None
    for chunk in model.stream("用两句话介绍杭州。"):
        start = chunk.response_metadata.get("aigc_start")
        if start is not None:  # the first chunk with text: show the tag before the tokens
            print("tag:", start["items"][0]["ui"]["text"])
        print(chunk.content, end="", flush=True)
        merged = chunk if merged is None else merged + chunk
    print()
    assert merged is not None
    texts = [reply.text, merged.text]
    print([verify(t, key=KEY).status for t in texts])
    return texts


if __name__ == "__main__":
    main()
