"""
Batch verify throughput (files/s, MB/s) over a generated directory of mixed files.

    python bench/verify_files.py            # 1,000 files -> bench/results/VERIFY_FILES.md
    python bench/verify_files.py --quick    # 100 files   -> bench/results/quick/VERIFY_FILES.md

The files (docx, md, html, txt and pdf in equal parts; a quarter with metadata, a quarter
with labeled text and marks, a quarter with a visible phrase only, a quarter plain) are
generated into a temporary directory, then verified by one process and by a process pool.
"""

from __future__ import annotations

import argparse
import html
import io
import os
import platform
import sys
import tempfile
from pathlib import Path

import docx
from aigclabel import AIGCMetadata, Labeler, LabelPolicy
from aigclabel.adapters.files import verify_tree
from aigclabel.adapters.formats import set_label
from fpdf import FPDF

PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "a bench provider secret"
ROOT = Path(__file__).resolve().parent
PARA = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。" * 6


def _pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def _docx_bytes(text: str) -> bytes:
    d = docx.Document()
    for para in text.split("\n"):
        d.add_paragraph(para)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def generate(root: Path, n: int) -> None:
    """Write *n* mixed files under *root* (ten sub-directories)."""
    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    labeled = labeler.label("\n\n".join([PARA] * 4))
    meta = AIGCMetadata.first_write(producer=PRODUCER, produce_id="bench-0001")
    ascii_text = "Hangzhou is the capital of Zhejiang province. " * 40
    cache: dict[tuple[str, int], bytes] = {}
    for i in range(n):
        fmt = ("docx", "md", "html", "txt", "pdf")[i % 5]
        kind = (i // 5) % 4
        key = (fmt, kind)
        if key not in cache:
            if fmt == "pdf":  # core PDF fonts are Latin-1: English text, metadata in the Info dict
                text = ascii_text + ("\nAI-generated content" if kind == 2 else "")
                data = _pdf_bytes(text)
                cache[key] = set_label(data, "pdf", meta.to_dict("bare")) if kind in (0, 1) else data
            else:
                text = [PARA, labeled.text, PARA + "\n\n本内容由人工智能生成", PARA][kind]
                m = meta if kind == 0 else labeled.metadata if kind == 1 else None
                if fmt == "docx":
                    data = _docx_bytes(text)
                elif fmt == "html":
                    body = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p)
                    data = f"<html><head><title>t</title></head><body>{body}</body></html>".encode()
                else:
                    data = text.encode()
                cache[key] = (
                    set_label(data, fmt, m.to_dict("bare")) if m is not None and fmt != "txt" else data
                )
        sub = root / f"d{i % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:05d}.{fmt}").write_bytes(cache[key])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="100 files, results under bench/results/quick/")
    parser.add_argument("--files", type=int, default=None)
    args = parser.parse_args()
    n = args.files or (100 if args.quick else 1000)
    workers = min(4, os.cpu_count() or 1)
    out_dir = ROOT / "results" / ("quick" if args.quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, n)
        verify_tree(root, key=KEY, progress=False)  # warm caches and imports
        for w in (1, workers):
            s = verify_tree(root, key=KEY, progress=False, workers=w)
            rows.append((w, s))
            print(
                f"workers={w}: {s.files} files, {s.files_per_s:.1f} files/s, {s.mb_per_s:.2f} MB/s",
                file=sys.stderr,
            )
    lines = [
        "# Batch verify throughput (`bench/verify_files.py`)",
        "",
        f"{n} mixed files (docx, md, html, txt, pdf; metadata / labeled text / phrase only / plain), "
        f"{rows[0][1].bytes / 2**20:.1f} MB in total; Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs.",
        "",
        "| workers | files | errors | seconds | files/s | MB/s | confirmed | possible | suspected | none |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w, s in rows:
        t = s.by_tier
        lines.append(
            f"| {w} | {s.files} | {s.errors} | {s.seconds:.2f} | {s.files_per_s:.1f} | {s.mb_per_s:.2f} | "
            f"{t['confirmed']} | {t['possible']} | {t['suspected']} | {t['none']} |"
        )
    (out_dir / "VERIFY_FILES.md").write_text("\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
