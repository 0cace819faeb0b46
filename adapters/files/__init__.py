"""
The platform side for files (Art. 6): classify received files into the three tiers, add a
platform's propagation elements, verify whole trees and batches.

>>> from aigclabel.adapters.files import verify_bytes, verify_file, propagate_file, verify_batch
"""

from __future__ import annotations

from ..formats import CarrierError
from .batch import RECORD_SCHEMA, BatchSummary, record, verify_batch, verify_tree
from .propagate import PropagationError, propagate_bytes, propagate_file
from .verify_file import PROMPTS, FileVerdict, MessageVerdict, reserved_code2, verify_bytes, verify_file

__all__ = [
    "PROMPTS",
    "RECORD_SCHEMA",
    "BatchSummary",
    "CarrierError",
    "FileVerdict",
    "MessageVerdict",
    "PropagationError",
    "propagate_bytes",
    "propagate_file",
    "record",
    "reserved_code2",
    "verify_batch",
    "verify_bytes",
    "verify_file",
    "verify_tree",
]
