"""
Speed and size, side by side in one process: the figures the speed-and-size targets name.

    python bench/speed.py [--quick] [--only label,verify,size,import]

* **label + verify** against encypher-ai's default signed format (embed + verify), paired and
  interleaved round by round on the same real prose (English and Chinese, 2,000 and 20,000
  characters): medians, interquartile spread and the ratio peer / ours (> 1: we are faster).
  Ours runs twice: the default policy (visible label + marks) and marks only
  (``placement="none"``, what encypher's format also is).
* **verify alone** in MB/s of UTF-8 input: plain text with no marks (a platform's common case)
  and labeled text.
* **size**: o200k tokens a labeled reply gains at the default settings, from a two-token reply
  to 4,000 tokens, visible label included, and the share of the reply.
* **import**: ``import aigclabel`` in a fresh interpreter minus a bare interpreter start,
  interleaved, many rounds.

Writes ``bench/results/SPEED.md`` and ``speed.json`` (``results/quick/`` with ``--quick``).
Measured, never asserted. The wrapped-client figures are ``bench/middleware.py``'s.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aigclabel import Labeler, LabelPolicy, verify
from aigclabel.tokens import count_tokens

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import cut, load_texts  # noqa: E402  (bench/run.py: the same texts and cuts)

PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "bench-secret-key-0123456789"
ED25519_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


def quantiles(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return {"median": statistics.median(samples), "p25": q[0], "p75": q[2]}


def paired(fns: dict[str, Callable[[], object]], rounds: int, inner: int) -> dict[str, dict[str, float]]:
    """
    Time each function *inner* times per round, the functions interleaved, for *rounds*
    rounds; per-call microseconds per round.
    """
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm caches and lazy imports
        fn()
    for r in range(rounds):
        order = list(fns.items()) if r % 2 == 0 else list(reversed(fns.items()))
        for name, fn in order:
            gc.disable()
            t0 = time.perf_counter_ns()
            for _ in range(inner):
                fn()
            t1 = time.perf_counter_ns()
            gc.enable()
            samples[name].append((t1 - t0) / inner / 1000)
    return {k: quantiles(v) for k, v in samples.items()}


def encypher_pair() -> tuple[Callable[[str], str], Callable[[str], bool]] | str:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from encypher.core.unicode_metadata import UnicodeMetadata
    except Exception as exc:  # the bench extra is not installed
        return f"encypher-ai not importable: {type(exc).__name__}: {exc}"
    logging.getLogger("encypher").setLevel(logging.CRITICAL)
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(ED25519_SEED_HEX))
    pk = sk.public_key()

    def embed(text: str) -> str:
        return UnicodeMetadata.embed_metadata(text, private_key=sk, signer_id="bench-signer")

    def check(text: str) -> bool:
        ok, signer, _ = UnicodeMetadata.verify_metadata(text, public_key_resolver=lambda _sid: pk)
        return bool(ok) and signer == "bench-signer"

    return embed, check


def bench_label_verify(texts: dict[str, str], sizes: list[int], rounds: int) -> dict[str, Any]:
    default = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    marks_only = Labeler(LabelPolicy(producer=PRODUCER, key=KEY, placement="none"))
    peer = encypher_pair()
    rows = []
    for lang, full in texts.items():
        for n in sizes:
            text = cut(full, n)
            assert verify(default.label(text).text, key=KEY).status == "intact"
            fns: dict[str, Callable[[], object]] = {
                "ours": lambda t=text: verify(default.label(t).text, key=KEY),
                "ours-marks-only": lambda t=text: verify(marks_only.label(t).text, key=KEY),
            }
            if not isinstance(peer, str):
                embed, check = peer
                assert check(embed(text))
                fns["encypher"] = lambda t=text, e=embed, c=check: c(e(t))
            inner = max(1, 40_000 // max(len(text), 1))
            res = paired(fns, rounds, inner)
            row: dict[str, Any] = {"lang": lang, "chars": len(text), "us": res}
            if "encypher" in res:
                row["ratio"] = res["encypher"]["median"] / res["ours"]["median"]
                row["ratio_marks_only"] = res["encypher"]["median"] / res["ours-marks-only"]["median"]
            rows.append(row)
            print(
                f"label+verify {lang} {len(text):>6}: "
                + ", ".join(f"{k} {v['median']:.0f} µs" for k, v in res.items())
            )
    return {"rows": rows, "peer": peer if isinstance(peer, str) else "encypher-ai " + _version("encypher-ai")}


def bench_verify(texts: dict[str, str], rounds: int) -> list[dict[str, Any]]:
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    rows = []
    for lang, full in texts.items():
        text = cut(full, 20_000)
        labeled = labeler.label(text).text
        fns = {"plain": lambda t=text: verify(t, key=KEY), "labeled": lambda t=labeled: verify(t, key=KEY)}
        res = paired(fns, rounds, 5)
        row = {"lang": lang, "chars": len(text)}
        for name, t in (("plain", text), ("labeled", labeled)):
            size = len(t.encode("utf-8"))
            row[name] = {"bytes": size, "us": res[name]["median"], "mb_s": size / res[name]["median"]}
        rows.append(row)
        print(
            f"verify {lang}: plain {row['plain']['mb_s']:.0f} MB/s, labeled {row['labeled']['mb_s']:.0f} MB/s"
        )
    return rows


SHORT = {
    "zh": [
        "好的。",
        "可以，明天上午十点见。",
        "这个问题的答案是肯定的：可以在设置页面里关闭通知，然后重新登录即可生效。",
    ],
    "en": [
        "OK.",
        "Sure, see you at ten tomorrow.",
        "Yes: you can turn notifications off on the settings page and sign in again.",
    ],
}


def cut_tokens(text: str, tokens: int) -> str:
    """The longest prefix of *text* of at most *tokens* o200k tokens, ending at a sentence when close."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return cut(text[:lo], lo)


def bench_size(texts: dict[str, str]) -> list[dict[str, Any]]:
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    rows = []
    for lang, full in texts.items():
        cases = [(t, "short") for t in SHORT[lang]]
        cases += [(cut_tokens(full, n), f"{n} tokens") for n in (50, 99, 200, 400, 1000, 2000, 4000)]
        for text, kind in cases:
            labeled = labeler.label(text).text
            before, after = count_tokens(text), count_tokens(labeled)
            rows.append(
                {
                    "lang": lang,
                    "case": kind,
                    "tokens": before,
                    "added": after - before,
                    "share": (after - before) / before,
                }
            )
            print(
                f"size {lang} {kind:>11}: {before:>5} tokens +{after - before} ({(after - before) / before:.0%})"
            )
    return rows


def bench_import(rounds: int) -> dict[str, Any]:
    py = sys.executable
    samples: dict[str, list[float]] = {"bare": [], "import": []}
    cmds = {"bare": [py, "-c", "pass"], "import": [py, "-c", "import aigclabel"]}
    for r in range(rounds):
        for name in ("bare", "import") if r % 2 == 0 else ("import", "bare"):
            t0 = time.perf_counter_ns()
            subprocess.run(cmds[name], check=True)
            samples[name].append((time.perf_counter_ns() - t0) / 1e6)
    bare, imp = statistics.median(samples["bare"]), statistics.median(samples["import"])
    out = {"bare_ms": bare, "import_ms": imp, "added_ms": imp - bare}
    print(f"import aigclabel: +{imp - bare:.1f} ms (interpreter start {bare:.1f} ms)")
    return out


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _cell(us: dict[str, dict[str, float]], key: str) -> str:
    if key not in us:
        return "not run"
    return f"{us[key]['median']:.0f} [{us[key]['p25']:.0f}–{us[key]['p75']:.0f}]"


def _cell(us: dict[str, dict[str, float]], key: str) -> str:
    if key not in us:
        return "not run"
    return f"{us[key]['median']:.0f} [{us[key]['p25']:.0f}–{us[key]['p75']:.0f}]"


def write_markdown(res: dict[str, Any], path: Path) -> None:
    lines = [
        "# Speed and size",
        "",
        f"Generated by `python bench/speed.py{' --quick' if res['quick'] else ''}` on {res['machine']}, "
        f"Python {res['python']}, aigc-label {res['version']}. Medians of interleaved rounds; "
        "p25–p75 in brackets. Measured, never asserted.",
        "",
    ]
    if "label_verify" in res:
        lv = res["label_verify"]
        lines += [
            f"## label + verify vs {lv['peer']} (embed + verify, default signed format)",
            "",
            "| text | chars | ours (default) µs | ours (marks only) µs | encypher µs | ratio default | ratio marks only |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in lv["rows"]:
            cells = " | ".join(_cell(r["us"], k) for k in ("ours", "ours-marks-only", "encypher"))
            lines.append(
                f"| {r['lang']} | {r['chars']:,} | {cells} "
                f"| {r.get('ratio', 0):.2f}× | {r.get('ratio_marks_only', 0):.2f}× |"
            )
        lines += ["", "Ratio = encypher ÷ ours: above 1, we are faster.", ""]
    if "verify" in res:
        lines += ["## verify alone", "", "| text | plain MB/s | labeled MB/s |", "|---|---:|---:|"]
        for r in res["verify"]:
            lines.append(
                f"| {r['lang']} {r['chars']:,} chars | {r['plain']['mb_s']:.0f} | {r['labeled']['mb_s']:.0f} |"
            )
        lines += ["", "MB/s of UTF-8 input (10⁶ bytes per second).", ""]
    if "size" in res:
        lines += [
            "## size at the default settings (o200k tokens, visible label included)",
            "",
            "| text | reply | tokens | added | share |",
            "|---|---|---:|---:|---:|",
        ]
        for r in res["size"]:
            lines.append(f"| {r['lang']} | {r['case']} | {r['tokens']:,} | {r['added']} | {r['share']:.1%} |")
        lines.append("")
    if "import" in res:
        i = res["import"]
        lines += [
            "## import",
            "",
            f"`import aigclabel` adds {i['added_ms']:.1f} ms to an interpreter start of {i['bare_ms']:.1f} ms "
            f"(medians of {res['import_rounds']} interleaved runs).",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke run (seconds)")
    ap.add_argument("--only", default="label,verify,size,import")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    texts = load_texts()
    res: dict[str, Any] = {
        "quick": args.quick,
        "machine": f"{platform.machine()} {platform.system()}",
        "python": platform.python_version(),
        "version": _version("aigc-label"),
    }
    rounds = 5 if args.quick else 41
    if "label" in only:
        res["label_verify"] = bench_label_verify(texts, [2000] if args.quick else [2000, 20000], rounds)
    if "verify" in only:
        res["verify"] = bench_verify(texts, rounds)
    if "size" in only:
        res["size"] = bench_size(texts)
    if "import" in only:
        res["import_rounds"] = 5 if args.quick else 41
        res["import"] = bench_import(res["import_rounds"])
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    write_markdown(res, out / "SPEED.md")
    print(f"wrote {out / 'SPEED.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
