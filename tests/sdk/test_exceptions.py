"""
The exception tree: one root, built-in bases where the meaning matches.
"""

from __future__ import annotations

import aigclabel
import pytest
from aigclabel import (
    AIGCLabelError,
    KeyMaterialError,
    MetadataError,
    MissingDependencyError,
    OptOutError,
    PolicyError,
    ProducerCodeError,
    StreamStateError,
)


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (PolicyError, ValueError),
        (ProducerCodeError, PolicyError),
        (MetadataError, ValueError),
        (KeyMaterialError, ValueError),
        (StreamStateError, RuntimeError),
        (MissingDependencyError, ImportError),
        (OptOutError, AIGCLabelError),
    ],
)
def test_hierarchy(cls: type[Exception], base: type[Exception]) -> None:
    """
    Each exception derives from the root and from the built-in that matches its meaning.
    """
    assert issubclass(cls, AIGCLabelError)
    assert issubclass(cls, base)


def test_every_exported_exception_has_the_root() -> None:
    """
    Every exported exception class is an AIGCLabelError.
    """
    exported = [getattr(aigclabel, n) for n in aigclabel.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]

    assert all(issubclass(e, AIGCLabelError) for e in errors)


def test_missing_dependency_names_the_extra() -> None:
    """
    MissingDependencyError carries the package and the pip extra to install.
    """
    err = MissingDependencyError("python-docx", "docx")

    assert ("python-docx", "docx") == (err.package, err.extra)
    assert "pip install 'aigc-label[docx]'" in str(err)


def test_policy_error_carries_field() -> None:
    """
    PolicyError carries the offending field (None when the whole document is at fault).
    """
    assert ("placement", None) == (PolicyError("x", field="placement").field, PolicyError("x").field)


def test_producer_code_error_carries_code() -> None:
    """
    ProducerCodeError carries the rejected code and defaults its field to producer.
    """
    err = ProducerCodeError("bad", code="XYZ")

    assert ("XYZ", "producer") == (err.code, err.field)
