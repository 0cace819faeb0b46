"""
Wrapped vs unwrapped client, same mock transport, one run.

    python bench/middleware.py [--quick]

* a 2,000-chunk chat-completions stream and a 2,000-delta Responses stream through the real
  openai SDK: total time, per-chunk overhead (µs) and the ratio wrapped / unwrapped;
* the added time to the first token;
* 1,000 non-stream chat completions: ratio;
* what the marks cost in a chat history sent back upstream, with and without the
  request-side hygiene.

Writes bench/results/MIDDLEWARE.md. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import openai
from aigclabel import Labeler, LabelPolicy
from aigclabel.middleware import wrap
from aigclabel.middleware.history import HistoryHygiene
from aigclabel.tokens import count_tokens

HERE = Path(__file__).resolve().parent
PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "bench-secret-key-0123456789"
BASE = {"id": "chatcmpl-bench", "created": 1_700_000_000, "model": "gpt-4o-mini"}


def _compact(doc: Any) -> str:
    # The APIs send compact JSON (no spaces after separators).
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def prose(chars: int) -> str:
    text = (HERE / "texts" / "zh_luxun_nahan.txt").read_text("utf-8")
    return (text * (chars // len(text) + 1))[:chars]


def chat_sse(text: str, chunks: int) -> bytes:
    size = max(1, len(text) // chunks)
    events = [
        {
            **BASE,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}],
        }
        for i in range(0, size * chunks, size)
    ]
    events.append(
        {
            **BASE,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    body = "".join(f"data: {_compact(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return body.encode()


def responses_sse(text: str, chunks: int) -> bytes:
    size = max(1, len(text) // chunks)
    item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    resp = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "in_progress",
        "model": "gpt-4o-mini",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    seq = 0
    out: list[tuple[str, dict[str, Any]]] = []

    def add(kind: str, **fields: Any) -> None:
        nonlocal seq
        out.append((kind, {"type": kind, "sequence_number": seq, **fields}))
        seq += 1

    add("response.created", response=resp)
    add("response.output_item.added", output_index=0, item=item)
    add(
        "response.content_part.added",
        item_id="msg_1",
        output_index=0,
        content_index=0,
        part={"type": "output_text", "text": "", "annotations": []},
    )
    full = text[: size * chunks]
    for i in range(0, len(full), size):
        add(
            "response.output_text.delta",
            item_id="msg_1",
            output_index=0,
            content_index=0,
            delta=full[i : i + size],
            logprobs=[],
        )
    part = {"type": "output_text", "text": full, "annotations": [], "logprobs": []}
    add("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text=full, logprobs=[])
    add("response.content_part.done", item_id="msg_1", output_index=0, content_index=0, part=part)
    done_item = {**item, "status": "completed", "content": [part]}
    add("response.output_item.done", output_index=0, item=done_item)
    add("response.completed", response={**resp, "status": "completed", "output": [done_item]})
    return "".join(f"event: {k}\ndata: {_compact(d)}\n\n" for k, d in out).encode()


def client(body: bytes, ctype: str, labeler: Labeler | None) -> openai.OpenAI:
    # A server flushes one SSE event per token: deliver the stream one event per chunk.
    pieces = [e + b"\n\n" for e in body.split(b"\n\n") if e] if ctype == "text/event-stream" else [body]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=iter(pieces), headers={"content-type": ctype})

    c = openai.OpenAI(
        api_key="bench",
        base_url="http://bench.invalid/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    return wrap(c, labeler) if labeler is not None else c


#: CPU time of this process: the mock transport does no I/O, so on a quiet machine it is the
#: wall time, and on a shared one it leaves out the time other processes were given the CPU.
_clock = time.process_time


def timed(fn: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()  # a collection landing in one side's run would swamp a 5% difference
        try:
            t0 = _clock()
            fn()
            samples.append(_clock() - t0)
        finally:
            gc.enable()
    return statistics.median(samples)


def _loop(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = _clock()
        fn()
        out.append(_clock() - t0)
    return out


def paired(plain: Callable[[], Any], wrapped: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """
    Medians of alternating runs, so that drift in the machine's speed hits both sides alike.
    """
    a: list[float] = []
    b: list[float] = []
    plain()  # warm up both sides: the SDK's first parse of a type fills its caches
    wrapped()
    for _ in range(repeats):
        a.append(timed(plain, 1))
        b.append(timed(wrapped, 1))
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    chunks = 200 if args.quick else 2000
    repeats = 2 if args.quick else 15  # a shared machine's noise needs the longer median
    calls = 50 if args.quick else 1000
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    text = prose(chunks * 10)
    rows: list[dict[str, Any]] = []
    messages = [{"role": "user", "content": "hi"}]

    for name, body, consume in (
        (
            "chat.completions stream",
            chat_sse(text, chunks),
            lambda c: list(c.chat.completions.create(model="m", messages=messages, stream=True)),
        ),
        (
            "responses stream",
            responses_sse(text, chunks),
            lambda c: list(c.responses.create(model="m", input="hi", stream=True)),
        ),
    ):
        plain = client(body, "text/event-stream", None)
        wrapped = client(body, "text/event-stream", labeler)
        t_plain, t_wrapped = paired(
            functools.partial(consume, plain), functools.partial(consume, wrapped), repeats
        )
        rows.append(
            {
                "what": f"{name}, {chunks} chunks",
                "unwrapped_ms": round(t_plain * 1e3, 2),
                "wrapped_ms": round(t_wrapped * 1e3, 2),
                "ratio": round(t_wrapped / t_plain, 3),
                "added_us_per_chunk": round((t_wrapped - t_plain) / chunks * 1e6, 2),
            }
        )

    def first_token(c: openai.OpenAI) -> None:
        stream = c.chat.completions.create(model="m", messages=messages, stream=True)
        for ch in stream:
            if ch.choices and ch.choices[0].delta.content:
                break
        stream.close()

    body = chat_sse(text, chunks)
    plain, wrapped = client(body, "text/event-stream", None), client(body, "text/event-stream", labeler)
    first_token(plain)
    first_token(wrapped)
    # Single first-token runs are ~0.5 ms: many of them, no forced collection between them, in
    # alternating blocks of ten so that drift in the machine's speed hits both sides alike.
    plain_runs: list[float] = []
    wrapped_runs: list[float] = []
    block_added: list[float] = []  # per block pair: the wrapped median less the unwrapped one
    for _ in range(repeats * 3):
        plain_block = _loop(functools.partial(first_token, plain), 10)
        wrapped_block = _loop(functools.partial(first_token, wrapped), 10)
        plain_runs += plain_block
        wrapped_runs += wrapped_block
        block_added.append(statistics.median(wrapped_block) - statistics.median(plain_block))
    ttft_plain = statistics.median(plain_runs)
    ttft_wrapped = statistics.median(wrapped_runs)
    rows.append(
        {
            "what": "time to first token",
            "unwrapped_ms": round(ttft_plain * 1e3, 3),
            "wrapped_ms": round(ttft_wrapped * 1e3, 3),
            "ratio": round(ttft_wrapped / ttft_plain, 3),
            "added_us": round((ttft_wrapped - ttft_plain) * 1e6, 1),
            # the median of the differences of neighbouring blocks: a busy spell of the machine
            # falls on both sides of a difference, not on one side of the overall medians
            "added_us_block_paired": round(statistics.median(block_added) * 1e6, 1),
        }
    )

    answer = prose(600)
    json_body = json.dumps(
        {
            **BASE,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}
            ],
        },
        ensure_ascii=False,
    ).encode()
    plain, wrapped = (
        client(json_body, "application/json", None),
        client(json_body, "application/json", labeler),
    )

    def many(c: openai.OpenAI) -> None:
        for _ in range(calls):
            c.chat.completions.create(model="m", messages=messages)

    t_plain, t_wrapped = paired(
        functools.partial(many, plain), functools.partial(many, wrapped), 2 if args.quick else 5
    )
    rows.append(
        {
            "what": f"{calls} non-stream calls (600-char answers)",
            "unwrapped_ms": round(t_plain * 1e3, 1),
            "wrapped_ms": round(t_wrapped * 1e3, 1),
            "ratio": round(t_wrapped / t_plain, 3),
            "added_us_per_call": round((t_wrapped - t_plain) / calls * 1e6, 1),
        }
    )

    # History: ten labeled assistant turns of ~600 characters sent back upstream.
    turns: list[dict[str, str]] = []
    for i in range(10):
        turns.append({"role": "user", "content": f"问题 {i}"})
        turns.append({"role": "assistant", "content": labeler.label(prose(600 + 37 * i)).text})
    body_marked = json.dumps({"model": "m", "messages": turns}, ensure_ascii=False).encode()
    cleaned = HistoryHygiene(labeler).rewrite(body_marked) or body_marked

    def history_tokens(raw: bytes) -> int:
        return sum(count_tokens(m["content"]) for m in json.loads(raw)["messages"])

    marked, clean = history_tokens(body_marked), history_tokens(cleaned)
    rows.append(
        {
            "what": "10-turn history sent upstream (tokens)",
            "with_marks": marked,
            "after_hygiene": clean,
            "marks_share": f"{(marked - clean) / clean:.1%}",
        }
    )
    for row in rows:
        print(row)
    if args.quick:
        return 0
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "middleware.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    lines = [
        "# Wrapped vs unwrapped openai client (same mock transport)",
        "",
        "Generated by `python bench/middleware.py`; medians of the process's CPU time; the real openai SDK",
        "parses every chunk.",
        "",
    ]
    lines += [f"- {json.dumps(r, ensure_ascii=False)}" for r in rows]
    (out / "MIDDLEWARE.md").write_text("\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
