"""
Mark format 2 next to format 1 (release 0.1.0), in one run: seal size in o200k tokens, embed and
verify time, on the same texts.

    python bench/format.py [--quick]

Format 1 is measured with release 0.1.0 itself: its source is taken from this repository's history
(``git archive``) and installed into a temporary folder; each format runs in its own subprocess with
the same measuring code, alternating, and each cell keeps the lowest median. Writes bench/results/FORMAT.md and format.json. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The commit of release 0.1.0 (format 1).
RELEASE_0_1 = "047849e"
PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "bench-secret-key-0123456789"
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
TEXTS = {"zh": "zh_luxun_nahan.txt", "en": "en_alice.txt"}


def _texts() -> dict[str, str]:
    out = {name: (HERE / "texts" / f).read_text("utf-8")[:2000] for name, f in TEXTS.items()}
    out["short"] = "好的。"
    return out


def measure(rounds: int) -> dict[str, Any]:
    """
    Embed/verify medians (µs) and the tokens the marks add, per text and key kind, with whatever
    ``aigclabel`` is importable.
    """
    from aigclabel import Labeler, LabelPolicy, verify
    from aigclabel.marks import alphabet
    from aigclabel.tokens import count_tokens

    def tokens(text: str) -> int:
        return count_tokens(text, "o200k_base")

    setups: dict[str, dict[str, Any]] = {"HS256": {"key": KEY}, "Ed25519": {"signing_key": SEED}}
    try:
        LabelPolicy(producer=PRODUCER, key=KEY, seal_form="compact")
        setups["HS256 compact"] = {"key": KEY, "seal_form": "compact"}
    except Exception:
        pass
    try:
        LabelPolicy(producer=PRODUCER, key=KEY, seal_form="micro")
        setups["HS256 micro"] = {"key": KEY, "seal_form": "micro"}
    except Exception:  # releases before the micro seal (format 3)
        pass
    results: dict[str, Any] = {}
    for setup, policy in setups.items():
        labeler = Labeler(LabelPolicy(producer=PRODUCER, placement="none", **policy))
        verify_kw = {"key": KEY} if "key" in policy else {"public_key": labeler.public_key}
        for name, text in _texts().items():
            embed, check = [], []
            for _ in range(rounds):
                t0 = time.perf_counter()
                labeled = labeler.label(text)
                t1 = time.perf_counter()
                verdict = verify(labeled.text, **verify_kw)
                t2 = time.perf_counter()
                embed.append(t1 - t0)
                check.append(t2 - t1)
            runs = [m.group() for m in alphabet.MARK_RUN.finditer(labeled.text)]
            seal = list(alphabet.CHANNEL_PART.finditer(runs[-1]))[-1].group()
            results[f"{setup}/{name}"] = {
                "status": verdict.status,
                "embed_us": statistics.median(embed) * 1e6,
                "verify_us": statistics.median(check) * 1e6,
                "seal_tokens": tokens("中文" + seal + "中文") - tokens("中文中文"),
                "mark_tokens": tokens(labeled.text) - tokens(alphabet.ANY_MARK_CHAR.sub("", labeled.text)),
            }
    return results


def _subprocess(rounds: int, pythonpath: str | None, cwd: str) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(rounds)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """
    Per cell, the lowest of the runs' medians (the least disturbed by other load on the machine).
    """
    best = runs[0]
    for run in runs[1:]:
        for key, cells in run.items():
            for field in ("embed_us", "verify_us"):
                best[key][field] = min(best[key][field], cells[field])
    return best


def measure_both(rounds: int, repeats: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    Format 2 (the installed package) and format 1 (release 0.1.0, built from this repository's
    history), each in its own subprocess, alternating *repeats* times; format 1 is ``{}`` if
    the history is not available.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src, pkg = Path(tmp, "src"), Path(tmp, "pkg")
        src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", RELEASE_0_1], capture_output=True, check=False
        )
        v1_path: str | None = str(pkg)
        if archive.returncode != 0:
            print(f"format 1 skipped: git archive {RELEASE_0_1} failed", file=sys.stderr)
            v1_path = None
        else:
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--target",
                    str(pkg),
                    str(src),
                ],
                check=True,
                capture_output=True,
            )
        v1_runs, v2_runs = [], []
        for _ in range(repeats):
            v2_runs.append(_subprocess(rounds, None, tmp))
            if v1_path is not None:
                v1_runs.append(_subprocess(rounds, v1_path, tmp))
        return (_best(v1_runs) if v1_runs else {}), _best(v2_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (CI smoke run)")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        json.dump(measure(args.measure), sys.stdout)
        return
    rounds, repeats = (20, 1) if args.quick else (200, 5)
    v1, v2 = measure_both(rounds, repeats)
    rows = [
        "| text | seal | v1 seal tokens | v2 seal tokens | v1 marks tokens | v2 marks tokens "
        "| v1 embed µs | v2 embed µs | v1 verify µs | v2 verify µs | v1 status | v2 status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for key, new in v2.items():
        setup, name = key.split("/")
        old = v1.get(key, {})

        def cell(d: dict[str, Any], field: str, fmt: str = "{:,.0f}") -> str:
            return fmt.format(d[field]) if field in d else "—"

        rows.append(
            f"| {name} | {setup} | {cell(old, 'seal_tokens')} | {cell(new, 'seal_tokens')} "
            f"| {cell(old, 'mark_tokens')} | {cell(new, 'mark_tokens')} "
            f"| {cell(old, 'embed_us')} | {cell(new, 'embed_us')} | {cell(old, 'verify_us')} "
            f"| {cell(new, 'verify_us')} | {old.get('status', '—')} | {new['status']} |"
        )
    report = "\n".join(
        [
            "# Mark format 2 next to format 1",
            "",
            f"`python bench/format.py{' --quick' if args.quick else ''}`: {rounds} rounds, medians, the lowest of "
            f"{repeats} alternating runs per format; 2,000 "
            "characters of real prose (`bench/texts`) and a two-token reply; `placement = none` (marks only). "
            "Format 1 is release 0.1.0 built from this repository's history and run in the same way. "
            "`seal tokens`: the seal alone between CJK text; `marks tokens`: everything invisible.",
            "",
            *rows,
            "",
        ]
    )
    (HERE / "results" / "FORMAT.md").write_text(report, "utf-8")
    (HERE / "results" / "format.json").write_text(json.dumps({"v1": v1, "v2": v2}, indent=1) + "\n", "utf-8")
    print(report)


if __name__ == "__main__":
    main()
