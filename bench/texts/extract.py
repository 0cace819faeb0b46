"""Rebuild the benchmark texts from the wordcloud 1.9.6 sdist.

Usage (from the repository root):

    pip download --no-deps --no-binary wordcloud wordcloud==1.9.6
    tar xzf wordcloud-1.9.6.tar.gz
    python bench/texts/extract.py wordcloud-1.9.6

Only whitespace/layout is normalised; see SOURCES.md for the exact edits.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 21_000  # characters kept per language (>= 20,000 needed)


def english(root: Path) -> str:
    raw = (root / "examples" / "alice.txt").read_text(encoding="utf-8-sig")
    start = raw.index("CHAPTER I. Down the Rabbit-Hole")
    end = raw.index("*** END OF THIS PROJECT GUTENBERG EBOOK")
    body = raw[start:end].replace("\r\n", "\n")
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
    return _take([p for p in paras if p])


def chinese(root: Path) -> str:
    raw = (root / "examples" / "wc_cn" / "CalltoArms.txt").read_text(encoding="utf-8-sig")
    raw = raw.replace("\r\n", "\n")
    # The file is split into numbered web sections; drop the markers.  When the
    # character before a marker is repeated right after it, keep one copy.
    raw = re.sub(r"(.)\n\s*_分节阅读_\d+\s*\n\s*\1", r"\1", raw)
    raw = re.sub(r"\n\s*_分节阅读_\d+\s*\n\s*", "", raw)
    paras: list[str] = []
    in_notes = False
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        s = line.strip().strip("\u3000").strip()
        # Editors' footnote markers: ①..⑳ and ⑴..⒇
        s = re.sub(r"[\u2460-\u2473\u2474-\u2487]", "", s)
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if nxt.startswith("-----"):          # a story heading
            in_notes = False
            paras.append(re.sub(r"[（(]\d+[)）]$", "", s))
            continue
        if not s or s.startswith(("-----", "迅：", "_分节阅读_")):
            continue
        if re.match(r"^\W?注释", s):             # editors' notes: not Lu Xun's text
            in_notes = True
        if in_notes:
            continue
        paras.append(s)
    return _take(paras)


def _take(paras: list[str]) -> str:
    out, n = [], 0
    for p in paras:
        out.append(p)
        n += len(p) + 1
        if n >= TARGET:
            break
    return "\n".join(out) + "\n"


def main() -> None:
    root = Path(sys.argv[1])
    (HERE / "en_alice.txt").write_text(english(root), encoding="utf-8")
    (HERE / "zh_luxun_nahan.txt").write_text(chinese(root), encoding="utf-8")


if __name__ == "__main__":
    main()
