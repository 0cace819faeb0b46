"""
Input helpers shared by the command-line modules: reading text, keys and reporting bad input.

Bad text input raises :class:`BadInput`; a bad key file or key variable raises
:class:`~aigclabel.exceptions.PolicyKeyError` (a configuration error). Both exit 3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from aigclabel.exceptions import KeyMaterialError, PolicyKeyError
from aigclabel.keymaterial import normalise_key_text

__all__ = ["BadInput", "read_key", "read_stdin", "read_text"]


class BadInput(Exception):
    """
    Unreadable or invalid input; the commands report it and exit 3.
    """


def read_stdin(stdin: TextIO | None) -> bytes:
    """
    The bytes of standard input (decoding is the verifier's: lenient, with findings).

    Raises:
        BadInput: there is no standard input to read, or it cannot be read.
    """
    if stdin is None:
        raise BadInput("no standard input to read")
    try:
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read standard input: {exc.strerror}") from exc


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


def read_key(path: str | None, *, env: str = "AIGCLABEL_KEY", field: str = "key") -> str | None:
    """
    The key in file *path*, or in the environment variable *env* when *path* is ``None``
    (``None`` when that is unset), normalised by the one rule of :mod:`aigclabel.keymaterial`
    (a leading BOM and trailing line breaks dropped; surrounding whitespace refused), so that
    the same key gives the same bytes from a file, a variable or a TOML policy.

    Raises:
        PolicyKeyError: the file is missing, unreadable or not UTF-8, or the key is empty or
            breaks the rule. The message names the file or variable, never the key.
    """
    source = f"${env}" if path is None else f"key file {path!r}"
    text: str | None = None
    problem: str | None = None
    if path is None:
        text = os.environ.get(env)
        if text is None:
            return None
    else:
        # The key bytes must not reach an exception: a UnicodeDecodeError holds them all,
        # so the error is raised outside the handlers.
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            problem = f"cannot read {source}: {exc.strerror or type(exc).__name__}"
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if problem is not None or text is None:
        raise PolicyKeyError(f"{field}: {problem}", field=field)
    try:
        return normalise_key_text(text, field=f"{field} ({source})")
    except KeyMaterialError as exc:
        message = str(exc)
    raise PolicyKeyError(message, field=field)
