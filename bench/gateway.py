"""
The labeling gateway's cost on loopback: added time to first token, per-chunk overhead, throughput
and memory, next to calling the upstream directly, a naive pass-through proxy and LiteLLM's proxy.

    python bench/gateway.py [--quick] [--litellm PATH] [--only naive,gateway,LiteLLM]

Processes, each pinned with ``taskset``: the stand-in upstream (tests/adapters/gateway/upstream_server.py,
a uvicorn server streaming OpenAI chat-completion chunks every ``CHUNK_DELAY`` seconds) and this
script's load generator share core 0; the proxy under test runs alone on core 1:

* ``direct`` — the load generator calls the upstream itself (the baseline);
* ``naive proxy`` — bench/naive_proxy.py: Starlette + one ``httpx.AsyncClient``, chunks relayed as
  they arrive, no parsing and no labeling (the floor for a Python proxy);
* ``gateway`` — ``aigclabel serve`` labeling every stream (marks, seal, explicit label, ``aigc``);
* ``LiteLLM`` — ``litellm --config …`` (an ``openai/`` model on the same upstream, one worker), when
  its executable is given with ``--litellm``: install it into a throwaway virtualenv
  (``python -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'``), never into
  this project's environment.

For each concurrency level (1, 50 and 200 streams; ``--quick``: 1 and 10, fewer rounds) rounds are
interleaved over the targets (direct, naive, gateway, LiteLLM, direct, …); in a round, *C* streams
start together and the round ends when all have ended. Per stream the generator records the time to
the first chunk carrying text (TTFT: request sent → first ``data:`` line with non-empty
``content``), the end time and the ``data:`` events received. Reported per target:

* TTFT p50 / p99 and their difference to ``direct`` (added TTFT);
* per-chunk overhead: the proxy process's CPU time (user + system, from /proc) over the events it
  relayed, and the added stream duration (median, over direct) per event;
* throughput: events delivered per second of wall time in the rounds, and its loss against direct;
* memory per stream: (peak RSS during a level − the idle RSS after one warm-up stream) / concurrent
  streams, the RSS of the proxy process sampled every 10 ms (meaningful from 50 streams).

Writes bench/results/GATEWAY.md and gateway.json (``--quick``: under bench/results/quick/).
Measured, never asserted. Needs two cores and Linux (/proc, taskset).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "bench-secret-key-0123456789abcdef"
#: The answer: 24 chunks of 10 characters (a Chinese sentence and an English one).
TEXT = (
    "杭州是浙江省的省会，以西湖闻名，春秋两季最适合旅行。" + "The gateway labels this streamed answer. "
) * 4
CHUNK_SIZE = 10
#: Seconds between two upstream events (about 50 tokens a second per stream).
CHUNK_DELAY = 0.02
START_TIMEOUT = 60.0  # seconds a process may take to start listening
STREAM_TIMEOUT = 120.0  # seconds one round may take
#: The bearer every request sends (LiteLLM's master key too: it refuses to start without one).
BEARER = "sk-bench-5f0c2a7e9b1d4c3a8e6f0b2d7c9a1e4f"
_TEXT_EVENT = re.compile(rb'"content":\s?"[^"]')


# -- the processes -----------------------------------------------------------------------------------


def serve_upstream() -> int:
    """
    ``--serve-upstream``: the stand-in upstream on a free loopback port until stdin closes.
    """
    sys.path.insert(0, str(REPO))
    import socket

    import uvicorn

    from tests.adapters.gateway.upstream_server import StandIn
    from tests.middleware.upstream import Scenario

    server = StandIn(Scenario(text=TEXT, chunk_size=CHUNK_SIZE))
    server.chunk_delay = CHUNK_DELAY
    # The stand-in's app under uvicorn with uvloop and httptools (as the proxies run), on its own socket.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "backlog": 4096,
        "interface": "asgi3",
    }
    for name, module in (("loop", "uvloop"), ("http", "httptools")):
        try:
            __import__(module)
            options[name] = module
        except ImportError:
            pass
    uv = uvicorn.Server(uvicorn.Config(server.app, **options))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not uv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(f"serving on {server.url}/", flush=True)
    sys.stdin.read()  # until the parent closes the pipe
    uv.should_exit = True
    thread.join(10)
    return 0


@dataclass
class Proc:
    """
    A started server process: its URL (without ``/v1``) and pid.
    """

    name: str
    url: str
    popen: subprocess.Popen[str]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.stdin:
            self.popen.stdin.close()
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


def start(name: str, argv: list[str], core: int, log: Path, *, url: str | None = None) -> Proc:
    """
    Start *argv* pinned to *core*; wait (bounded) for its ``serving on URL`` line, or for *url* to answer.
    """
    with log.open("w") as stderr:  # the child keeps its own descriptor
        popen = subprocess.Popen(
            ["taskset", "-c", str(core), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if url is None else subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            cwd=REPO,
        )
    deadline = time.monotonic() + START_TIMEOUT
    found: list[str] = []
    if url is None:
        assert popen.stdout is not None
        stdout = popen.stdout

        ready = threading.Event()

        def read() -> None:  # drains stdout to the end: a full pipe would block the server
            for line in stdout:
                m = re.search(r"serving on (http://\S+?)/?$", line.strip())
                if m and not found:
                    found.append(m.group(1))
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(START_TIMEOUT)
    else:
        import httpx

        while time.monotonic() < deadline and popen.poll() is None:
            try:
                if httpx.get(url + "/health/liveliness", timeout=1.0).status_code == 200:
                    found.append(url)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    if not found:
        popen.kill()
        popen.wait(10)
        raise RuntimeError(f"{name} did not start within {START_TIMEOUT:.0f} s; see {log}")
    return Proc(name, found[0], popen, log)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def rss_peak(pid: int | None) -> Iterator[list[int]]:
    """
    Sample *pid*'s RSS every 10 ms while the block runs; the list holds [before, peak] (KiB).
    """
    out = [0, 0]
    if pid is None:
        yield out
        return
    out[0] = out[1] = rss_kib(pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            out[1] = max(out[1], rss_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield out
    finally:
        stop.set()
        sampler.join(5)


# -- the load generator ------------------------------------------------------------------------------


@dataclass
class Stream:
    ttft: float = float("nan")  # seconds
    duration: float = float("nan")
    events: int = 0
    ok: bool = False
    error: str | None = None


@dataclass
class Sample:
    ttft: list[float] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    events: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    rss_before: list[int] = field(default_factory=list)
    rss_peak: list[int] = field(default_factory=list)


BODY = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Tell me about Hangzhou."}],
        "stream": True,
    }
).encode()


class Connections:
    """
    Keep-alive HTTP/1.1 connections to one server (``http://host:port``), reused between streams.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {BEARER}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n"
        ).encode() + BODY
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def one_stream(conns: Connections) -> Stream:
    """
    One streamed chat completion over a raw keep-alive connection (a minimal HTTP/1.1 client: the load
    generator shares its core with the upstream, so it must cost little per event).
    """
    out = Stream()
    reused = bool(conns.idle)
    reader, writer = await conns.get()
    t0 = time.perf_counter()
    writer.write(conns.request)
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
    except (ConnectionError, asyncio.IncompleteReadError):
        if not reused:
            raise
        writer.close()  # the server closed the idle keep-alive connection: once more on a new one
        reader, writer = await asyncio.open_connection(conns.host, conns.port)
        t0 = time.perf_counter()
        writer.write(conns.request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
    reuse = b"connection: close" not in head
    buf = bytearray()
    if head[9:12] != b"200":
        writer.close()
        out.error = f"HTTP {head[9:12].decode()}"
        return out
    if b"transfer-encoding: chunked" in head:
        scanned = 0
        while not (buf.endswith(b"\r\n0\r\n\r\n") or buf == b"0\r\n\r\n"):
            data = await reader.read(65536)
            if not data:
                reuse = False
                break
            buf += data
            if out.ttft != out.ttft and _TEXT_EVENT.search(buf, max(0, scanned - 64)):  # NaN: no text yet
                out.ttft = time.perf_counter() - t0
            scanned = len(buf)
    else:
        length = re.search(rb"content-length:\s*(\d+)", head)
        buf += await reader.readexactly(int(length.group(1))) if length else await reader.read()
        reuse = reuse and length is not None
        if _TEXT_EVENT.search(buf):
            out.ttft = time.perf_counter() - t0
    out.duration = time.perf_counter() - t0
    out.events = buf.count(b"data:")
    out.ok = out.ttft == out.ttft
    if reuse:
        conns.idle.append((reader, writer))
    else:
        writer.close()
    return out


async def round_of(conns: Connections, concurrency: int) -> tuple[list[Stream], float]:
    t0 = time.perf_counter()
    streams = await asyncio.wait_for(
        asyncio.gather(*(one_stream(conns) for _ in range(concurrency)), return_exceptions=True),
        STREAM_TIMEOUT,
    )
    wall = time.perf_counter() - t0
    return [s if isinstance(s, Stream) else Stream(error=type(s).__name__) for s in streams], wall


async def measure_level(
    targets: dict[str, tuple[str, int | None]], concurrency: int, rounds: int
) -> dict[str, Sample]:
    samples = {name: Sample() for name in targets}
    pools = {name: Connections(url) for name, (url, _) in targets.items()}
    try:
        for conns in pools.values():  # warm-up: connections, the proxies' first-request work
            await round_of(conns, concurrency)
        for _ in range(rounds):
            for name, (_, pid) in targets.items():
                sample = samples[name]
                cpu0 = cpu_seconds(pid) if pid else 0.0
                with rss_peak(pid) as rss:
                    streams, wall = await round_of(pools[name], concurrency)
                sample.cpu += (cpu_seconds(pid) - cpu0) if pid else 0.0
                sample.rss_before.append(rss[0])
                sample.rss_peak.append(rss[1])
                sample.wall += wall
                for s in streams:
                    if s.ok:
                        sample.ttft.append(s.ttft)
                        sample.duration.append(s.duration)
                        sample.events += s.events
                    else:
                        sample.failed += 1
                        reason = s.error or "no text"
                        sample.errors[reason] = sample.errors.get(reason, 0) + 1
    finally:
        for conns in pools.values():
            conns.close()
    return samples


def run_loop(coro: Any) -> Any:
    """
    Run *coro* on uvloop when it is importable (as the servers do), else on asyncio's loop.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# -- the run -----------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarize(
    samples: dict[str, Sample], concurrency: int, idle: dict[str, int]
) -> dict[str, dict[str, Any]]:
    base = samples["direct"]
    b50, b99 = pct(base.ttft, 0.5), pct(base.ttft, 0.99)
    base_duration = statistics.median(base.duration) if base.duration else float("nan")
    base_rate = base.events / base.wall if base.wall else float("nan")
    events_per_stream = base.events / max(1, len(base.duration))
    out: dict[str, dict[str, Any]] = {}
    for name, s in samples.items():
        rate = s.events / s.wall if s.wall else float("nan")
        duration = statistics.median(s.duration) if s.duration else float("nan")
        growth = max(s.rss_peak, default=0) - idle.get(name, 0)
        out[name] = {
            "streams": len(s.ttft),
            "failed": s.failed,
            "errors": dict(s.errors),
            "ttft_p50_ms": pct(s.ttft, 0.5) * 1e3,
            "ttft_p99_ms": pct(s.ttft, 0.99) * 1e3,
            "added_ttft_p50_ms": (pct(s.ttft, 0.5) - b50) * 1e3,
            "added_ttft_p99_ms": (pct(s.ttft, 0.99) - b99) * 1e3,
            "cpu_us_per_event": (s.cpu / s.events * 1e6) if s.events and name != "direct" else float("nan"),
            "added_us_per_event": (duration - base_duration) / events_per_stream * 1e6,
            "events_per_s": rate,
            "throughput_loss_pct": (1 - rate / base_rate) * 100,
            "peak_rss_mib": max(s.rss_peak, default=0) / 1024 if name != "direct" else float("nan"),
            "kib_per_stream": growth / concurrency if name != "direct" else float("nan"),
        }
    return out


def litellm_config(upstream: str, directory: Path) -> Path:
    path = directory / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o-mini\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: sk-bench\n"
        "general_settings:\n"
        f"  master_key: {BEARER}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n",
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fmt(value: float, digits: int = 2) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    if len(os.sched_getaffinity(0)) < 2 or not shutil.which("taskset"):
        print("needs two cores and taskset", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {0})  # the load generator shares core 0 with the upstream
    levels = [(1, 10), (10, 3)] if args.quick else [(1, 60), (50, 6), (200, 3)]
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="aigc-bench-gateway-"))
    policy = work / "policy.toml"
    policy.write_text(f'producer = "{PRODUCER}"\nkey = "{KEY}"\n', encoding="utf-8")
    serve = shutil.which("aigclabel", path=str(Path(python).parent)) or "aigclabel"
    litellm = Path(args.litellm) if args.litellm else None
    litellm_note = "LiteLLM not measured (no `--litellm`)."
    only = set(args.only.split(",")) if args.only else None
    procs: list[Proc] = []
    try:
        upstream = start(
            "upstream", [python, str(HERE / "gateway.py"), "--serve-upstream"], 0, work / "upstream.log"
        )
        procs.append(upstream)
        targets: dict[str, tuple[str, int | None]] = {"direct": (upstream.url, None)}
        if only is None or "naive" in only:
            naive_argv = [python, str(HERE / "naive_proxy.py"), "--upstream", upstream.url]
            naive = start("naive proxy", naive_argv, 1, work / "naive.log")
            procs.append(naive)
            targets["naive proxy"] = (naive.url, naive.pid)
        if only is None or "gateway" in only:
            gateway_argv = [
                serve,
                "serve",
                "--upstream",
                upstream.url,
                "--policy",
                str(policy),
                "--port",
                "0",
            ]
            gateway = start("gateway", gateway_argv, 1, work / "gateway.log")
            procs.append(gateway)
            targets["gateway (labeling)"] = (gateway.url, gateway.pid)
        if litellm is not None and litellm.exists() and (only is None or "LiteLLM" in only):
            port = free_port()
            try:
                proxy = start(
                    "LiteLLM",
                    [
                        str(litellm),
                        "--config",
                        str(litellm_config(upstream.url, work)),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--num_workers",
                        "1",
                    ],
                    1,
                    work / "litellm.log",
                    url=f"http://127.0.0.1:{port}",
                )
                procs.append(proxy)
                targets["LiteLLM proxy"] = (proxy.url, proxy.pid)
                version = subprocess.run(
                    [
                        str(litellm.parent / "python"),
                        "-c",
                        "import importlib.metadata as m; print(m.version('litellm'))",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                ).stdout.strip()
                litellm_note = (
                    f"LiteLLM {version} (`litellm --config`, one worker, in a separate virtualenv)."
                )
            except RuntimeError as exc:
                litellm_note = f"LiteLLM did not start: {exc}."
        elif litellm is not None:
            litellm_note = f"LiteLLM not measured: no executable at {litellm}."
        run_loop(measure_level(targets, 1, 0))  # one warm-up stream each
        idle = {name: rss_kib(pid) for name, (_, pid) in targets.items() if pid}
        results: dict[str, Any] = {}
        for concurrency, rounds in levels:
            samples = run_loop(measure_level(targets, concurrency, rounds))
            results[str(concurrency)] = summarize(samples, concurrency, idle)
            print(f"{concurrency} streams: " + json.dumps(results[str(concurrency)], indent=1), flush=True)
    finally:
        for proc in reversed(procs):
            proc.stop()
    write(args, levels, results, litellm_note)
    return 0


def write(
    args: argparse.Namespace, levels: list[tuple[int, int]], results: dict[str, Any], note: str
) -> None:
    quick = " --quick" if args.quick else ""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    lines = [
        "# Labeling gateway: added latency, per-chunk cost, throughput, memory",
        "",
        f"Generated by `python bench/gateway.py{quick}` at commit {commit or '?'} "
        f"(Python {sys.version.split()[0]}, loopback, "
        f"{os.cpu_count()} cores): the stand-in upstream and the load generator pinned to core 0, the proxy "
        f"under test alone on core 1 (`taskset`). Streams of {len(TEXT) // CHUNK_SIZE} text chunks of "
        f"{CHUNK_SIZE} characters, one every {CHUNK_DELAY * 1e3:.0f} ms; per level, rounds of *C* streams "
        "started together, interleaved over the targets "
        f"({', '.join(f'{c} streams × {r} rounds' for c, r in levels)}). TTFT: request → first chunk "
        "with text. Added = target − direct (same percentile). CPU/event: the proxy process's CPU time "
        "over the events it relayed. Memory: (peak RSS during the level − idle RSS after one warm-up stream) / "
        "streams (the peak RSS beside it). The *C* requests of a round arrive at once, so from 50 streams "
        "the added TTFT is mostly the queue of request set-ups in a one-core proxy (a burst, not a steady "
        "state); the proxy CPU per event and the throughput loss show the steady cost. "
        "Measured, never asserted.",
        "",
        "| streams | target | TTFT p50 ms | TTFT p99 ms | added p50 ms | added p99 ms | proxy CPU µs/event | added µs/event | events/s | throughput loss | peak RSS MiB | KiB/stream | failed |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level, by_target in results.items():
        for name, r in by_target.items():
            lines.append(
                f"| {level} | {name} | {fmt(r['ttft_p50_ms'])} | {fmt(r['ttft_p99_ms'])} | "
                f"{fmt(r['added_ttft_p50_ms']) if name != 'direct' else '–'} | "
                f"{fmt(r['added_ttft_p99_ms']) if name != 'direct' else '–'} | {fmt(r['cpu_us_per_event'], 0)} | "
                f"{fmt(r['added_us_per_event'], 0) if name != 'direct' else '–'} | {fmt(r['events_per_s'], 0)} | "
                f"{fmt(r['throughput_loss_pct'], 1) + ' %' if name != 'direct' else '–'} | "
                f"{fmt(r['peak_rss_mib'], 1)} | {fmt(r['kib_per_stream'], 1) if int(level) > 1 else '–'} | "
                f"{int(r['failed'])} |"
            )
    failures = [
        f"{level} streams, {name}: " + ", ".join(f"{n}× {why}" for why, n in r["errors"].items())
        for level, by_target in results.items()
        for name, r in by_target.items()
        if r["errors"]
    ]
    if failures:
        lines += ["", "Failed streams (excluded from the figures): " + "; ".join(failures) + "."]
    single = results.get("1", {}).get("gateway (labeling)")
    lines.append("")
    if single:
        ok50 = single["added_ttft_p50_ms"] <= 2.5
        ok99 = single["added_ttft_p99_ms"] <= 6.0
        lines.append(
            f"Targets for one stream while labeling: ≤ 2.5 ms p50 / ≤ 6 ms p99 added TTFT — measured "
            f"{single['added_ttft_p50_ms']:.2f} ms ({'met' if ok50 else 'missed'}) / "
            f"{single['added_ttft_p99_ms']:.2f} ms ({'met' if ok99 else 'missed'}). Per level:"
        )
    for level, by_target in results.items():
        gw, naive, lite = (by_target.get(n) for n in ("gateway (labeling)", "naive proxy", "LiteLLM proxy"))
        if gw is None:
            continue
        parts = []
        if naive is not None:
            parts.append(
                f"labeling costs {gw['added_ttft_p50_ms'] - naive['added_ttft_p50_ms']:+.2f} ms TTFT p50 and "
                f"{gw['cpu_us_per_event'] - naive['cpu_us_per_event']:+.0f} µs CPU per event over the naive proxy"
            )
        if lite is not None:
            parts.append(
                f"against LiteLLM: added TTFT p50 {fmt(gw['added_ttft_p50_ms'])} vs {fmt(lite['added_ttft_p50_ms'])} ms, "
                f"p99 {fmt(gw['added_ttft_p99_ms'])} vs {fmt(lite['added_ttft_p99_ms'])} ms, CPU per event "
                f"{lite['cpu_us_per_event'] / gw['cpu_us_per_event']:.1f}× lower, throughput loss "
                f"{gw['throughput_loss_pct']:.1f} % vs {lite['throughput_loss_pct']:.1f} %"
                + (
                    f", memory per stream {fmt(gw['kib_per_stream'], 0)} vs {fmt(lite['kib_per_stream'], 0)} KiB"
                    if int(level) > 1
                    else ""
                )
            )
        if parts:
            lines.append(f"- {level} stream{'s' if int(level) > 1 else ''}: " + "; ".join(parts) + ".")
    if note:
        lines += ["", note]
    lines.append("")
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "GATEWAY.md").write_text("\n".join(lines), encoding="utf-8")
    payload = {
        "generated_by": f"python bench/gateway.py{quick}",
        "levels": levels,
        "results": results,
        "litellm": note,
    }
    (out / "gateway.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 and 10 streams, few rounds (smoke run)")
    parser.add_argument(
        "--litellm", help="the `litellm` executable of a separate virtualenv (LiteLLM's proxy)"
    )
    parser.add_argument("--only", help="comma-separated targets besides direct: naive, gateway, LiteLLM")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        return serve_upstream()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
