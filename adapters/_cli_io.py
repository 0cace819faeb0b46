"""
Input helpers shared by the command-line modules: reading text, keys and reporting bad input.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

__all__ = ["BadInput", "read_key", "read_text"]


class BadInput(Exception):
    """
    Unreadable or invalid input; the commands report it and exit 3.
    """


def read_text(source: str, stdin: TextIO | None) -> str:
    """
    The UTF-8 text of *source* (a path, or ``-`` for standard input); a leading BOM is dropped.
    """
    try:
        if source == "-":
            if stdin is None:
                raise BadInput("no standard input to read")
            data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
        else:
            data = Path(source).read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {source!r}: {exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{source!r} is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def read_key(path: str | None, *, env: str = "AIGCLABEL_KEY") -> str | None:
    """
    The key in file *path*, stripped; or the environment variable *env* when *path* is ``None``.
    """
    if path is None:
        return os.environ.get(env)
    try:
        return Path(path).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read key file {path!r}: {exc}") from exc
