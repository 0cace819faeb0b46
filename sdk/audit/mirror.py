"""
Transitional alias of :mod:`aigclabel.adapters.audit` (the SQL store moved out of the core).

Kept only until the last callers import from ``aigclabel.adapters.audit``; it imports
nothing until a name is used, and the core never uses it.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    return getattr(importlib.import_module("aigclabel.adapters.audit"), name)
