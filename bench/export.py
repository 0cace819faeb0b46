"""Export time per format for a 5,000-character answer (median of repeats).

    python bench/export.py            # full run
    python bench/export.py --quick    # CI smoke run, well under 15 s

The answer is Markdown as an LLM writes it (headings, a list, a table, a code block) around
Chinese prose from bench/texts, labeled once; each format's export of that LabeledText is
timed. Writes bench/results/EXPORT.md and export.json (bench/results/quick/ with --quick).
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aigclabel import Labeler, LabelPolicy
from aigclabel.adapters.export import FORMATS, export

HERE = Path(__file__).resolve().parent
PRODUCER = "001191110102MAD55U9H0F10002"
CHARS = 5_000


def answer(chars: int = CHARS) -> str:
    prose = (HERE / "texts" / "zh_luxun_nahan.txt").read_text("utf-8").split()
    head = (
        "# 回答\n\n## 要点\n\n- 第一点：**重要**内容\n- 第二点：*补充*说明\n\n"
        "| 项目 | 说明 |\n|---|---|\n| 甲 | 一 |\n| 乙 | 二 |\n\n"
        '```python\nprint("hello")\n```\n\n详见[链接](https://example.com/)。\n\n'
    )
    out, i = [head], 0
    while sum(map(len, out)) < chars:
        out.append(prose[i % len(prose)][:300] + "\n\n")
        i += 1
    return "".join(out)[:chars]


def run(repeats: int) -> dict[str, Any]:
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key="bench secret, not for production"))
    text = answer()
    labeled = labeler.label(text, text_format="markdown")
    rows: dict[str, Any] = {}
    for fmt in FORMATS:
        export(labeled, fmt)  # warm-up: imports, font discovery
        times = []
        size = 0
        for _ in range(repeats):
            t = time.perf_counter()
            size = len(export(labeled, fmt))
            times.append(time.perf_counter() - t)
        rows[fmt] = {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, "bytes": size}
    return {"chars": len(text), "repeats": repeats, "formats": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats; results to bench/results/quick/")
    args = ap.parse_args()
    result = run(3 if args.quick else 15)
    result["when"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    result["python"] = sys.version.split()[0]
    result["machine"] = f"{platform.system()} {platform.machine()}"
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    lines = [
        "# Export time per format",
        "",
        f"A {result['chars']:,}-character Markdown answer, labeled once, exported {result['repeats']} times "
        f"per format (`python bench/export.py`); {result['python']}, {result['machine']}, {result['when']}.",
        "",
        "| format | median ms | min ms | file bytes |",
        "|---|---:|---:|---:|",
    ]
    for fmt, row in result["formats"].items():
        lines.append(f"| {fmt} | {row['median_ms']:.2f} | {row['min_ms']:.2f} | {row['bytes']:,} |")
    lines += [
        "",
        "pdf includes loading and subsetting the CJK font; docx includes writing docProps/custom.xml.",
        "",
    ]
    (out / "EXPORT.md").write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
