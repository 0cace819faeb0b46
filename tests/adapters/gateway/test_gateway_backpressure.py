"""
Back-pressure: a caller that stops reading makes the gateway stop reading the upstream; the
gateway's memory per stalled stream stays small and bounded.

The upstream is endless (`StandIn.endless`): without back-pressure it would send for ever into
the gateway's memory. With it, the upstream stalls once the socket buffers on the way are full;
what is "in flight" is then the kernel's buffers (upstream send, gateway receive, gateway send,
caller receive) plus at most one chunk and the server's write buffer inside the gateway.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import ServeProcess
from .upstream_server import StandIn

CHAT: Any = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}], "stream": True}
#: What may be in flight between the upstream and a caller that stopped reading: the kernel's
#: socket buffers on loopback (the upstream side autotunes to a few MiB; the caller side is
#: `send_buffer_bytes`, 256 KiB) and the gateway's own chunk; measured about 6 MB here.
#: An unbounded queue would exceed it within a second (the endless upstream sends > 50 MB/s).
IN_FLIGHT_BOUND = 24 * 1024 * 1024


def _stalled_reader(
    url: str, *, read: int = 65536, path: str = "/v1/chat/completions"
) -> tuple[socket.socket, int]:
    """
    A raw HTTP/1.1 client with a small receive buffer that reads *read* bytes of a streamed chat
    completion and then stops reading (the socket stays open). Returns it and the bytes read.
    """
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    body = json.dumps(CHAT).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer k\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    got = 0
    while got < read:
        chunk = sock.recv(min(16384, read - got))
        assert chunk, "the gateway closed the stream"
        got += len(chunk)
    return sock, got


def _wait_for_stall(upstream: StandIn, *, quiet: float = 1.0, timeout: float = 30.0) -> bool:
    """
    Wait until the upstream's byte count has not moved for *quiet* seconds (bounded).
    """
    deadline = time.monotonic() + timeout
    last, since = upstream.bytes_sent, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = upstream.bytes_sent
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def test_a_caller_that_stops_reading_stalls_the_upstream(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    The endless upstream stops sending once the path is full, within a bound; reading again
    resumes it (flow control, not a dead stream).
    """
    upstream.endless = True
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file))
    sock, received = _stalled_reader(child.url)
    try:
        stalled = _wait_for_stall(upstream)
        in_flight = upstream.bytes_sent - received
        before = upstream.bytes_sent
        deadline = time.monotonic() + 20
        drained = 0
        while drained < in_flight + 4 * 1024 * 1024 and time.monotonic() < deadline:
            drained += len(sock.recv(1 << 20))  # read everything in flight and more
        resumed = upstream.bytes_sent > before
    finally:
        sock.close()
    print(f"\nback-pressure: in flight when stalled {in_flight / 1e6:.1f} MB, {upstream.events_sent} events")

    assert stalled
    assert in_flight < IN_FLIGHT_BOUND
    assert resumed


def _memory_per_stalled_stream(upstream: StandIn, child: ServeProcess, path: str) -> tuple[float, float]:
    """
    ``(resident bytes per stream, upstream bytes pushed per stream)`` for 20 stalled streams.
    """
    warm, _ = _stalled_reader(child.url, path=path)  # first-use costs (imports, pools) out of the measure
    _wait_for_stall(upstream)
    base = child.rss_bytes
    sent_before = upstream.bytes_sent
    streams = [_stalled_reader(child.url, path=path)[0] for _ in range(20)]
    try:
        assert _wait_for_stall(upstream, quiet=1.5)
        return (child.rss_bytes - base) / 20, (upstream.bytes_sent - sent_before) / 20
    finally:
        for sock in [warm, *streams]:
            sock.close()


def test_memory_per_stalled_relayed_stream_is_small(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    20 stalled streams on a route that is relayed unlabeled grow the gateway's resident memory
    by under 512 KiB each (measured about 150 KiB), though the upstream pushed megabytes into
    each path: the relay holds one chunk and the server's write buffer, not the stream.
    """
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file))
    per_stream, pushed = _memory_per_stalled_stream(upstream, child, "/v1/endless")
    print(
        f"\nrelayed: {per_stream / 1024:.0f} KiB a stalled stream, upstream pushed {pushed / 1e6:.1f} MB each"
    )

    assert per_stream < 512 * 1024
    assert pushed > 4 * per_stream


def test_memory_per_stalled_labeled_stream_is_bounded(
    upstream: StandIn, policy_file: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    """
    Labeled, a stalled stream costs what the labeler keeps of the text released so far (about
    1.5 bytes a byte) — bounded (measured about 1.6 MiB) because the gateway stops reading, hence
    labeling, when the caller's connection is full (256 KiB of send buffer).
    """
    upstream.endless = True
    child = serve_process("--upstream", upstream.url, "--policy", str(policy_file))
    per_stream, pushed = _memory_per_stalled_stream(upstream, child, "/v1/chat/completions")
    print(
        f"\nlabeled: {per_stream / 1024:.0f} KiB a stalled stream, upstream pushed {pushed / 1e6:.1f} MB each"
    )

    assert per_stream < 8 * 1024 * 1024
