"""
How soon the chat page shows the interface tag and the first token, in a real browser.

    python bench/ui_latency.py [--quick] [--rounds N]

Runs the demo app (``aigclabel.adapters.asgi.create_demo_app``, the offline stand-in model)
under uvicorn on a loopback port and drives the demo page in headless Debian chromium with
Playwright (``bash scripts/test-browser.sh`` installs chromium). Each round loads the page,
sends one message and stops the stream after the first token. Measured:

* upstream first byte: the moment the stand-in model hands its first SSE event to the HTTP
  client (Python wall clock);
* tag: the page's ``aigc`` handler ran (the tag is in the DOM); tag frame: the animation
  frame that paints it; first token: the first ``delta`` is in the DOM (page timestamps,
  ``performance.timeOrigin + performance.now()``).

The page clock is mapped onto the Python clock per round (the midpoint of an ``evaluate``
round trip; its half-width is reported as the uncertainty). Negative times mean the tag was
on screen before the model produced its first byte. Writes bench/results/UI_LATENCY.md
(``--quick``: bench/results/quick/). Measured, never asserted.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
WAIT_MS = 15_000
PROMPTS = {"zh": "介绍一下杭州。", "en": "Tell me about Hangzhou."}


def _stamped_model(delay: float) -> tuple[Any, list[float]]:
    """
    A stand-in model that records (epoch ms) when each stream hands out its first event.
    """
    from aigclabel.adapters.asgi import StandInModel

    stamps: list[float] = []

    class Stamped(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            for i, item in enumerate(list.__iter__(self)):
                if i == 0:
                    stamps.append(time.time() * 1000)
                yield item

    class StampedModel(StandInModel):
        def events(self, language: Any) -> list[bytes]:
            return Stamped(super().events(language))

    return StampedModel(delay=delay), stamps


class Server:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", ws="none", http="h11"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def _clock_offset(page: Any) -> tuple[float, float]:
    """
    page clock minus Python clock (ms), and the uncertainty (half the round trip), best of 5.
    """
    best = None
    for _ in range(5):
        t0 = time.time() * 1000
        p = page.evaluate("performance.timeOrigin + performance.now()")
        t1 = time.time() * 1000
        cand = (p - (t0 + t1) / 2, (t1 - t0) / 2)
        if best is None or cand[1] < best[1]:
            best = cand
    assert best is not None
    return best


def one_round(page: Any, url: str, language: str, stamps: list[float]) -> dict[str, float]:
    page.goto(url + "/", timeout=WAIT_MS)
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    page.get_by_test_id("language-select").select_option(language)
    offset, error = _clock_offset(page)
    before = len(stamps)
    page.get_by_test_id("chat-input").fill(PROMPTS[language])
    page.get_by_test_id("chat-input").press("Enter")
    page.wait_for_function(
        "['first-delta', 'tag-frame'].every(k => window.__aigcEvents.some(e => e.type === k))",
        timeout=WAIT_MS,
    )
    page.get_by_test_id("stop-button").click()
    page.wait_for_function("window.__aigcEvents.some(e => e.type === 'settled')", timeout=WAIT_MS)
    if len(stamps) <= before:
        raise RuntimeError("the stand-in model recorded no first byte")
    first_byte = stamps[before] + offset  # on the page clock
    ev = {e["type"]: e["t"] for e in reversed(page.evaluate("window.__aigcEvents"))}
    return {
        "send_to_tag": ev["aigc"] - ev["send"],
        "send_to_token": ev["first-delta"] - ev["send"],
        "byte_to_tag": ev["aigc"] - first_byte,
        "byte_to_tag_frame": ev["tag-frame"] - first_byte,
        "byte_to_token": ev["first-delta"] - first_byte,
        "tag_before_token": ev["first-delta"] - ev["aigc"],
        "clock_error": error,
    }


COLUMNS = [
    ("byte_to_tag", "upstream first byte → tag in DOM"),
    ("byte_to_tag_frame", "upstream first byte → tag frame"),
    ("byte_to_token", "upstream first byte → first token in DOM"),
    ("tag_before_token", "tag lead over first token"),
    ("send_to_tag", "send → tag"),
    ("send_to_token", "send → first token"),
    ("clock_error", "clock mapping ± (half round trip)"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds per language, results under quick/")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per language (default 25)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 25)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is missing: run `bash scripts/test-browser.sh`", file=sys.stderr)
        return 1

    import tempfile

    from aigclabel.adapters.asgi import create_demo_app
    from playwright.sync_api import sync_playwright

    delay = 0.03
    model, stamps = _stamped_model(delay)
    results: dict[str, list[dict[str, float]]] = {"zh": [], "en": []}
    with tempfile.TemporaryDirectory(prefix="ui-latency-") as data, sync_playwright() as pw:
        app = create_demo_app(model=model, data_dir=data, use_env=False)
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        version = browser.version
        try:
            with Server(app) as server:
                page = browser.new_page()
                one_round(page, server.url, "zh", stamps)  # warm-up (imports, first connection)
                for _ in range(rounds):
                    for language in results:
                        results[language].append(one_round(page, server.url, language, stamps))
        finally:
            browser.close()

    lines = [
        "# Chat page: time to the interface tag and the first token",
        "",
        f"Generated by `python bench/ui_latency.py{' --quick' if args.quick else ''}` "
        f"(Python {platform.python_version()}, Chromium {version}, headless, {platform.machine()}).",
        f"Demo app (`create_demo_app`, stand-in model, {delay * 1000:.0f} ms between chunks) under uvicorn on",
        "127.0.0.1; the demo page drives the relay with `streamChat`. One round = load the page, send one",
        "message, stop after the first token. Medians (and min–max) in milliseconds over "
        f"{rounds} rounds per language, after one warm-up round.",
        "",
        "| measure | " + " | ".join(f"{lang} median (min–max)" for lang in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for key, title in COLUMNS:
        cells = []
        for rows in results.values():
            values = [r[key] for r in rows]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Upstream first byte: when the stand-in model hands its first SSE event to the HTTP client (Python",
        "wall clock, mapped onto the page clock per round). Tag in DOM: the page's `aigc` handler ran; tag",
        "frame: the `requestAnimationFrame` callback of the frame that paints it; first token: the first",
        "`delta` appended to the message. With a wrapped client the label data rides on the first event",
        "that releases text (the middleware's `aigc` field), so the relay's `aigc` and first `delta` events",
        "arrive in the same read: the tag lead over the first token is the page's own handler time, and the",
        "wait after the upstream's first byte is the relay, the labeler (which may hold text back until it",
        "can release it) and the loopback hop. Measured, never asserted.",
    ]
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "UI_LATENCY.md").write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
