"""
Exceptions of the statistical watermark package.

Both derive from :class:`~aigclabel.exceptions.AIGCLabelError`::

    AIGCLabelError
    └── WatermarkError (ValueError)        an unusable profile setting, tokenizer or detector input
        ├── WatermarkTypeError (TypeError) an argument of the wrong type (bytes for text, a float token id…)
        └── VocabularyError                a token id outside ``[0, vocab_size)``, or a tokenizer whose
                                           vocabulary is larger than the profile's

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from ..exceptions import AIGCLabelError

__all__ = ["VocabularyError", "WatermarkError", "WatermarkTypeError"]


class WatermarkError(AIGCLabelError, ValueError):
    """
    A watermark profile, tokenizer or detector input cannot be used; the message says which and why.
    """


class WatermarkTypeError(WatermarkError, TypeError):
    """
    An argument has the wrong type (the message names the expected and the received type).
    """


class VocabularyError(WatermarkError):
    """
    A token id is outside the profile's vocabulary, or the tokenizer's vocabulary is larger than it.

    Attributes:
        vocab_size: the vocabulary size the value was checked against.
    """

    def __init__(self, message: str, *, vocab_size: int) -> None:
        super().__init__(message)
        self.vocab_size = vocab_size
