"""
The platform side for files (Art. 6): verify docx, Markdown, HTML, plain-text and PDF
files into the three tiers, add a platform's propagation elements, verify whole trees.

>>> from aigclabel.adapters.files import verify_file, propagate_file, verify_tree
"""

from __future__ import annotations

from .batch import BatchSummary, verify_tree
from .carriers import CarrierError
from .propagate import PropagationError, propagate_file
from .verify_file import PROMPTS, FileVerdict, reserved_code2, verify_file

__all__ = [
    "PROMPTS",
    "BatchSummary",
    "CarrierError",
    "FileVerdict",
    "PropagationError",
    "propagate_file",
    "reserved_code2",
    "verify_file",
    "verify_tree",
]
