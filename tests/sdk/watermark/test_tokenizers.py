"""
Tokenizers behind one protocol: tiktoken's public encodings offline, any tiktoken-format BPE
file with its pattern, and Hugging Face tokenizers built here (no downloads).
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import numpy as np
import pytest
from aigclabel.tokens import get_encoding
from aigclabel.watermark import (
    HFTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    WatermarkError,
    WatermarkTypeError,
    hf_tokenizer,
    load_tiktoken_ranks,
    tiktoken_tokenizer,
)

SAMPLE = "Hello, world! 你好，世界。 <|endoftext|> tokens\n\n  spaced"
PATTERN = r"""\w+| ?[^\w\s]+|\s+"""


@pytest.mark.parametrize(("name", "vocab_size"), [("o200k_base", 200_019), ("cl100k_base", 100_277)])
def test_builtin_encodings_load_offline(name: str, vocab_size: int) -> None:
    """The named encodings come from the bundled files and encode like tiktoken's encode_ordinary."""
    tok = tiktoken_tokenizer(name)
    assert isinstance(tok, Tokenizer)
    assert vocab_size == tok.vocab_size
    expected = get_encoding(name).encode_ordinary(SAMPLE)  # type: ignore[arg-type]
    assert expected == tok.encode(SAMPLE)
    assert expected == tok.encode_array(SAMPLE).tolist()


def test_special_token_text_is_plain_text() -> None:
    """'<|endoftext|>' in a text is encoded as ordinary text, never as the special id."""
    tok = tiktoken_tokenizer("o200k_base")
    assert 199_999 not in tok.encode_array("a <|endoftext|> b").tolist()


def write_bpe(path: Path, compress: bool = False) -> None:
    ranks = {bytes([b]): b for b in range(256)}
    for merged in (b"he", b"ll", b"llo", b"hello"):
        ranks[merged] = len(ranks)
    body = "".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in ranks.items()).encode()
    path.write_bytes(gzip.compress(body) if compress else body)


@pytest.mark.parametrize("compress", [False, True])
def test_tiktoken_file_with_its_pattern(tmp_path: Path, compress: bool) -> None:
    """A tiktoken-format file (plain or gzipped) with its regex and special tokens gives a tokenizer."""
    path = tmp_path / ("tiny.tiktoken.gz" if compress else "tiny.tiktoken")
    write_bpe(path, compress)
    tok = tiktoken_tokenizer(path, pattern=PATTERN, special_tokens={"<|end|>": 260})
    assert 261 == tok.vocab_size
    assert [259, 32, 104, 258] == tok.encode("hello hllo")
    assert 300 == tiktoken_tokenizer(str(path), pattern=PATTERN, vocab_size=300).vocab_size
    assert 260 == len(load_tiktoken_ranks(path))


def test_tiktoken_file_needs_a_pattern(tmp_path: Path) -> None:
    """Without its pre-tokenisation pattern a file is refused (guessing would split text wrongly)."""
    path = tmp_path / "tiny.tiktoken"
    write_bpe(path)
    with pytest.raises(WatermarkError, match="pattern"):
        tiktoken_tokenizer(path)


def test_unknown_name_or_missing_file_is_refused(tmp_path: Path) -> None:
    """A name that is neither built in nor a file raises WatermarkError."""
    with pytest.raises(WatermarkError, match="neither"):
        tiktoken_tokenizer("p50k_base")
    with pytest.raises(WatermarkError):
        tiktoken_tokenizer(tmp_path / "missing.tiktoken", pattern=PATTERN)
    with pytest.raises(WatermarkTypeError):
        tiktoken_tokenizer(12)  # type: ignore[arg-type]


def test_malformed_file_names_the_line(tmp_path: Path) -> None:
    """A line that is not 'base64 rank' raises WatermarkError with its number."""
    path = tmp_path / "bad.tiktoken"
    path.write_text("aGU= 0\nnot base64!! x\n")
    with pytest.raises(WatermarkError, match="line 2"):
        tiktoken_tokenizer(path, pattern=PATTERN)


def bpe_tokenizer() -> object:
    """A byte-level BPE tokenizer trained here on a few sentences (no download)."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"], show_progress=False)
    corpus = [
        "the quick brown fox jumps over the lazy dog",
        "statistical watermarks live in word choice",
    ] * 20
    tok.train_from_iterator(corpus, trainer=trainer)
    return tok


def test_hf_tokenizers_tokenizer_is_wrapped() -> None:
    """A tokenizers.Tokenizer encodes without special tokens and counts added tokens in its vocabulary."""
    raw = bpe_tokenizer()
    tok = hf_tokenizer(raw)
    assert isinstance(tok, HFTokenizer)
    assert isinstance(tok, Tokenizer)
    assert raw.get_vocab_size(with_added_tokens=True) == tok.vocab_size  # type: ignore[attr-defined]
    ids = tok.encode("the lazy fox")
    assert ids == raw.encode("the lazy fox", add_special_tokens=False).ids  # type: ignore[attr-defined]
    assert "the lazy fox" == raw.decode(ids)  # type: ignore[attr-defined]


def test_transformers_tokenizer_is_wrapped() -> None:
    """A transformers fast tokenizer gives the same ids as its backend, without BOS/EOS."""
    from transformers import PreTrainedTokenizerFast

    raw = bpe_tokenizer()
    fast = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>")
    tok = hf_tokenizer(fast)
    assert len(fast) == tok.vocab_size
    assert raw.encode("quick brown dog", add_special_tokens=False).ids == tok.encode("quick brown dog")  # type: ignore[attr-defined]


def test_other_objects_are_refused() -> None:
    """An object that is no Hugging Face tokenizer raises WatermarkTypeError."""
    with pytest.raises(WatermarkTypeError):
        hf_tokenizer(object())


def test_wrapper_reprs_name_the_vocabulary() -> None:
    """Reprs show the encoding and the vocabulary size (useful in logs)."""
    assert "o200k_base" in repr(tiktoken_tokenizer("o200k_base"))
    assert "vocab_size=" in repr(hf_tokenizer(bpe_tokenizer()))
    assert isinstance(tiktoken_tokenizer("cl100k_base"), TiktokenTokenizer)
    assert np.issubdtype(tiktoken_tokenizer("cl100k_base").encode_array("x").dtype, np.integer)
