"""
A ``create_agent`` agent with and without ``AIGCLabelMiddleware``, same fake model, one run.

    python -P bench/langchain_agent.py [--quick]

(``-P``: the script's folder is not put first on ``sys.path``, where bench/langchain.py would
shadow the ``langchain`` package.)

The agent calls a tool, then answers with about 2,000 characters of English prose streamed word by
word (two model calls per run). Measured: ``invoke`` and ``stream_events(version="v3")`` runs,
interleaved (plain, labeled, plain, …), each cell the median; the overhead per agent step is the
difference of the medians divided by the two model calls. Writes bench/results/LANGCHAIN_AGENT.md
and langchain_agent.json (not with ``--quick``). Measured, never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters.langchain import AIGCLabelMiddleware
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool

HERE = Path(__file__).resolve().parent
PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "bench-secret-key-0123456789"
CALL = {"name": "lookup", "args": {"q": "alice"}, "id": "call-1"}


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return f"found: {q}"


class FakeToolModel(GenericFakeChatModel):
    """
    Calls ``lookup``, then answers word by word (the replies cycle, so one agent serves every run).
    """

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind()

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = next(self.messages)
        assert isinstance(reply, AIMessage)
        if reply.tool_calls:
            chunk = {"name": "lookup", "args": json.dumps(CALL["args"]), "id": "call-1", "index": 0}
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[chunk]))  # type: ignore[list-item]
            return
        words = reply.text.split(" ")
        for i, word in enumerate(words):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=word if i == len(words) - 1 else word + " ")
            )


def agent(answer: str, labeler: Labeler | None) -> Any:
    model = FakeToolModel(messages=itertools.cycle([AIMessage("", tool_calls=[CALL]), AIMessage(answer)]))
    middleware = [AIGCLabelMiddleware(labeler)] if labeler is not None else []
    return create_agent(model, tools=[lookup], middleware=middleware)


def paired(plain: Callable[[], Any], labeled: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """
    Median seconds of each, run interleaved after one warm-up each.
    """
    plain(), labeled()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((plain, a), (labeled, b)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 41
    answer = (HERE / "texts" / "en_alice.txt").read_text("utf-8")[:2000]
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    plain, labeled = agent(answer, None), agent(answer, labeler)
    question = {"messages": [{"role": "user", "content": "Tell me about Alice."}]}
    warnings.simplefilter("ignore")  # the v3 protocol's beta warning, on every call

    def v3(graph: Any) -> Callable[[], Any]:
        return lambda: list(graph.stream_events(question, version="v3"))

    rows: list[dict[str, Any]] = []
    for name, run_plain, run_labeled in (
        ("invoke", lambda: plain.invoke(question), lambda: labeled.invoke(question)),
        ('stream_events(version="v3")', v3(plain), v3(labeled)),
    ):
        t_plain, t_labeled = paired(run_plain, run_labeled, rounds)
        rows.append(
            {
                "run": name,
                "plain_ms": round(t_plain * 1e3, 2),
                "labeled_ms": round(t_labeled * 1e3, 2),
                "overhead_per_step_ms": round((t_labeled - t_plain) * 1e3 / 2, 2),
                "ratio": round(t_labeled / t_plain, 3),
            }
        )
    for row in rows:
        print(row)
    if args.quick:
        return 0
    out = HERE / "results"
    (out / "langchain_agent.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    lines = [
        "# create_agent with and without AIGCLabelMiddleware (same fake model)",
        "",
        "Generated by `python -P bench/langchain_agent.py`; a tool step and a ~2,000-character answer",
        f"streamed word by word per run; {rounds} interleaved rounds, medians; Python "
        f"{sys.version.split()[0]}. The overhead per step is the difference of the medians over the",
        "two model calls of a run (the labeling of the answer and the label data of the tool step).",
        "",
        "| run | plain (ms) | labeled (ms) | overhead per step (ms) | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['run']} | {r['plain_ms']} | {r['labeled_ms']} | {r['overhead_per_step_ms']} | {r['ratio']} |"
        for r in rows
    ]
    (out / "LANGCHAIN_AGENT.md").write_text("\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
