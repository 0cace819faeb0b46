"""
label_message / alabel_message / history_for_model / message_aigc on plain LangChain messages.
"""

from __future__ import annotations

import asyncio
import copy

from aigclabel import Labeler, verify
from aigclabel.adapters.langchain import alabel_message, history_for_model, label_message, message_aigc
from aigclabel.middleware import aigc_info
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from tests.adapters.langchain.conftest import TEXT
from tests.helpers import KEY


def test_label_message_returns_a_labeled_copy(labeler: Labeler) -> None:
    """
    The input is unchanged; the copy verifies intact and aigc_info reads its label data.
    """
    message = AIMessage(TEXT, response_metadata={"model_name": "m"})
    before = copy.deepcopy(message)
    out = label_message(message, labeler)
    assert before == message
    assert "intact" == verify(out.text, key=KEY).status
    assert ("m", "end") == (out.response_metadata["model_name"], aigc_info(out.response_metadata).stage)  # type: ignore[union-attr]


def test_alabel_message_labels_like_label_message(labeler: Labeler) -> None:
    """
    The async form labels the same way.
    """
    out = asyncio.run(alabel_message(AIMessage(TEXT), labeler))
    assert "intact" == verify(out.text, key=KEY).status


def test_label_message_keeps_the_chunk_class(labeler: Labeler) -> None:
    """
    An AIMessageChunk stays a chunk.
    """
    assert isinstance(label_message(AIMessageChunk(content=TEXT), labeler), AIMessageChunk)


def test_structured_reply_is_unaltered(labeler: Labeler) -> None:
    """
    structured=True: the JSON content is released as is, with label data.
    """
    out = label_message(AIMessage('{"a": 1}'), labeler, structured=True)
    assert '{"a": 1}' == out.content
    assert message_aigc(out) is not None


def test_labeling_twice_gives_one_label(labeler: Labeler) -> None:
    """
    A labeled message labeled again keeps its one label and its ProduceID.
    """
    once = label_message(AIMessage(TEXT), labeler)
    twice = label_message(once, labeler)
    assert once.text == twice.text
    assert message_aigc(once).items[0].produce_id == message_aigc(twice).items[0].produce_id  # type: ignore[union-attr]


def test_drop_own_marks_cleans_ai_messages_only(labeler: Labeler) -> None:
    """
    Own marks leave AI messages (list and string content); human messages and the input stay.
    """
    marked = label_message(AIMessage(TEXT), labeler)
    blocks = label_message(AIMessage([{"type": "text", "text": TEXT}]), labeler)
    human = HumanMessage(marked.text)
    out = history_for_model([human, marked, blocks], labeler)
    assert out[0] is human
    assert ["not_found", "not_found"] == [verify(m.text, key=KEY).status for m in out[1:]]
    assert "intact" == verify(marked.text, key=KEY).status


def test_drop_own_marks_keeps_other_producers_marks(labeler: Labeler) -> None:
    """
    Marks made with another key are not this labeler's: they stay.
    """
    from aigclabel import LabelPolicy

    from tests.helpers import PRODUCER

    other = Labeler(LabelPolicy(producer=PRODUCER, key="7c1e9a3f5b2d8e604a9c1f3e5d7b9a20"))
    message = label_message(AIMessage(TEXT), other)
    assert [message] == history_for_model([message], labeler)
