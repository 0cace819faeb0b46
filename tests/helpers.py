"""
Constants and small helpers shared by the tests (not fixtures: Hypothesis tests use them too).
"""

from __future__ import annotations

import re
from pathlib import Path

from aigclabel.marks.alphabet import ANY_MARK_CHAR

#: A real provider code quoted in the standard's notes.
PRODUCER = "001191110102MAD55U9H0F10002"
#: The HMAC secret of the default policy.
KEY = "5c2e8f1a9d4b7e3061f8a2c4d9b0e7a3"
#: The audit chain key the tests use wherever opting out is enabled (it must be set then).
CHAIN_KEY = "e4b7c1a9d3f5082b6c4e9a1d7f3b5c20"
#: The repository root (for the prose under bench/texts).
REPO = Path(__file__).resolve().parents[1]

_MARK_RUN = re.compile(f"(?:{ANY_MARK_CHAR.pattern})+")


def visible(text: str) -> str:
    """
    *text* without any character of either invisible channel.
    """
    return ANY_MARK_CHAR.sub("", text)


def mark_layout(text: str) -> list[tuple[int, int]]:
    """
    Where runs of mark characters sit: ``(offset in the visible text, run length)`` per run.
    """
    out = []
    removed = 0
    for m in _MARK_RUN.finditer(text):
        out.append((m.start() - removed, len(m.group())))
        removed += len(m.group())
    return out


def bench_text(name: str) -> str:
    """
    One of the prose samples under bench/texts (``en_alice`` or ``zh_luxun_nahan``).
    """
    return (REPO / "bench" / "texts" / f"{name}.txt").read_text(encoding="utf-8")


#: A platform's code (service extension 2xxxx: a propagation service).
PLATFORM = "001191110102MAD55U9H0F20001"
