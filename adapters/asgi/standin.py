"""
The demo's stand-in model: an OpenAI-compatible chat endpoint that streams a canned answer slowly.

It runs in process at the HTTP transport seam (an ``httpx2.MockTransport`` handler, the HTTP
library of the ``openai`` SDK), so ``aigclabel demo --ui`` works offline, and it counts the
streams it opened, finished and saw closed, so tests can prove that a browser's "stop" reached
the upstream.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio

__all__ = ["ANSWERS", "STAND_IN_URL", "StandInModel"]

#: The base URL the stand-in answers on (never resolved: the transport is in process).
STAND_IN_URL = "http://stand-in.invalid/v1"

#: The canned answers, by language.
ANSWERS: dict[Literal["zh", "en"], str] = {
    "zh": (
        "杭州是浙江省的省会，位于中国东南沿海、钱塘江下游。这座城市以西湖闻名，湖光山色与人文古迹交相辉映，"
        "自古就有“上有天堂，下有苏杭”的说法。南宋时期，杭州曾是都城，经济与文化十分繁荣，留下了大量诗词与园林。\n\n"
        "今天的杭州既是历史文化名城，也是数字经济的重要中心。许多互联网企业在这里设立总部，电子商务、移动支付"
        "和云计算等产业发展迅速。城市交通以地铁、公交和共享单车为主，出行比较便利。\n\n"
        "如果你计划前往杭州旅行，春季和秋季气候宜人，是最好的季节。建议留出两到三天时间：一天游览西湖、雷峰塔和"
        "苏堤，一天参观灵隐寺和龙井村，品尝当地的龙井茶；如有余暇，还可以去京杭大运河和良渚古城遗址看看。"
    ),
    "en": (
        "Hangzhou is the capital of Zhejiang province, on China's south-east coast at the lower reaches of "
        "the Qiantang River. The city is famous for West Lake, whose hills, causeways and temples have "
        "inspired poets for more than a thousand years.\n\n"
        "Today Hangzhou is both a historic city and a centre of the digital economy: many internet "
        "companies have their headquarters here, and metro lines, buses and shared bicycles make it easy "
        "to get around.\n\n"
        "If you plan a visit, spring and autumn are the most pleasant seasons. Allow two or three days: one "
        "for West Lake, Leifeng Pagoda and the Su Causeway, one for Lingyin Temple and the Longjing tea "
        "villages, and, if time allows, one for the Grand Canal and the ruins of Liangzhu."
    ),
}

_BASE = {
    "id": "chatcmpl-stand-in",
    "created": 1_700_000_000,
    "model": "stand-in",
    "object": "chat.completion.chunk",
}


def _language_of(body: dict[str, Any]) -> Literal["zh", "en"]:
    """
    The answer's language: a system message asking for English or Chinese, else the script
    of the last user message.
    """
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    for m in messages:
        content = str(m.get("content") or "")
        if m.get("role") == "system":
            if "English" in content:
                return "en"
            if "Chinese" in content or "中文" in content:
                return "zh"
    last = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in last) else "en"


class StandInModel:
    """
    An OpenAI chat-completions endpoint that streams :data:`ANSWERS` a few characters a chunk.

    Use :meth:`transport` as the ``transport`` of an ``httpx2.AsyncClient`` (or ``Client``)
    given to ``openai.AsyncOpenAI(base_url=STAND_IN_URL, http_client=...)``.

    Attributes:
        delay: seconds between chunks (a browser test can press "stop" half-way).
        chunk_chars: characters per chunk.
        fail_status: answer every request with this HTTP error status instead (tests).
        opened, finished, closed: streams started, streamed to the end, and closed (by the
            reader finishing or going away); read them to check a disconnect reached the model.

    .. versionadded:: 0.3.0
    """

    def __init__(self, *, delay: float = 0.03, chunk_chars: int = 4, fail_status: int | None = None) -> None:
        if not delay >= 0:
            raise ValueError(f"delay must be >= 0 seconds, not {delay!r}")
        if chunk_chars < 1:
            raise ValueError(f"chunk_chars must be >= 1, not {chunk_chars!r}")
        self.delay = delay
        self.chunk_chars = chunk_chars
        self.fail_status = fail_status
        self._lock = threading.Lock()
        self.opened = 0
        self.finished = 0
        self.closed = 0

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def events(self, language: Literal["zh", "en"]) -> list[bytes]:
        """
        The SSE body of one streamed answer, event by event (``[DONE]`` last).
        """
        answer = ANSWERS[language]
        size = self.chunk_chars
        chunks: list[dict[str, Any]] = [
            {
                **_BASE,
                "choices": [{"index": 0, "delta": {"content": answer[i : i + size]}, "finish_reason": None}],
            }
            for i in range(0, len(answer), size)
        ]
        chunks[0]["choices"][0]["delta"]["role"] = "assistant"
        chunks.append({**_BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        body = [f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode() for c in chunks]
        body.append(b"data: [DONE]\n\n")
        return body

    def transport(self) -> Any:
        """
        An ``httpx2.MockTransport`` serving this model (imports ``httpx2``, the openai extra).
        """
        import httpx2

        model = self

        class SlowBody(httpx2.AsyncByteStream):
            def __init__(self, events: list[bytes]) -> None:
                self._events = events
                self._closed = False

            async def __aiter__(self) -> AsyncIterator[bytes]:
                for i, event in enumerate(self._events):
                    if i and model.delay:
                        await anyio.sleep(model.delay)
                    yield event
                model._count("finished")

            async def aclose(self) -> None:
                if not self._closed:
                    self._closed = True
                    model._count("closed")

        def handle(request: Any) -> Any:
            if self.fail_status is not None:
                error = {"error": {"message": "the stand-in model is down", "type": "server_error"}}
                return httpx2.Response(self.fail_status, json=error)
            body = json.loads(request.content or b"{}")
            if not body.get("stream"):
                answer = ANSWERS[_language_of(body)]
                message = {"role": "assistant", "content": answer}
                return httpx2.Response(
                    200,
                    json={
                        **_BASE,
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    },
                )
            self._count("opened")
            return httpx2.Response(
                200,
                stream=SlowBody(self.events(_language_of(body))),
                headers={"content-type": "text/event-stream"},
            )

        return httpx2.MockTransport(handle)
