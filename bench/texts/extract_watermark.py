"""
Rebuild the watermark calibration texts from the wordcloud 1.9.6 sdist.

Usage (from the repository root):

    pip download --no-deps --no-binary wordcloud wordcloud==1.9.6
    tar xzf wordcloud-1.9.6.tar.gz
    python bench/texts/extract_watermark.py wordcloud-1.9.6

``en_alice.txt`` and ``zh_luxun_nahan.txt`` (built by ``extract.py``) hold the first
21,000 characters of each book; this script writes the rest of each book, cleaned by the
same rules (``extract.py``'s ``english`` and ``chinese`` without the length limit), plus
the United States Constitution. See SOURCES_WATERMARK.md for the exact edits.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import extract  # the sibling script that built the first part of each book

HERE = Path(__file__).resolve().parent


def rest_of(full: str, head_file: str) -> str:
    """
    *full* after the text already in *head_file* (which must be its prefix).
    """
    head = (HERE / head_file).read_text("utf-8")
    if not full.startswith(head):
        raise SystemExit(f"{head_file} is not a prefix of the rebuilt book: wrong source?")
    return full[len(head) :]


def english_rest(root: Path) -> str:
    full = extract.english(root)
    # The last paragraph is Project Gutenberg's end line, not Carroll's text.
    lines = [line for line in full.split("\n") if not line.startswith("End of Project Gutenberg")]
    return rest_of("\n".join(lines), "en_alice.txt")


def chinese_rest(root: Path) -> str:
    full = extract.chinese(root)
    lines = full.split("\n")
    # extract.py drops the editors' notes that start with "注释" or "□注释"; the last story's
    # notes start with "□ 注释" (a space between), followed by the web page's trailer.
    for i, line in enumerate(lines):
        if re.match(r"^\W*\s*注释", line):
            lines = lines[:i]
            break
    # One paragraph of the source starts with a stray HTML line break and indentation.
    text = re.sub(r"^<br/>\s*", "", "\n".join(lines) + "\n", flags=re.MULTILINE)
    return rest_of(text, "zh_luxun_nahan.txt")


def constitution(root: Path) -> str:
    raw = (root / "examples" / "constitution.txt").read_text(encoding="utf-8-sig")
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", raw.replace("\r\n", "\n"))]
    return "\n".join(p for p in paras if p) + "\n"


def main() -> None:
    root = Path(sys.argv[1])
    extract.TARGET = sys.maxsize  # whole books: extract.py stops after 21,000 characters
    (HERE / "en_alice_rest.txt").write_text(english_rest(root), encoding="utf-8")
    (HERE / "zh_luxun_nahan_rest.txt").write_text(chinese_rest(root), encoding="utf-8")
    (HERE / "en_constitution.txt").write_text(constitution(root), encoding="utf-8")


if __name__ == "__main__":
    main()
