"""
The public API: one curated, sorted, complete ``__all__`` with documented objects.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import types

import aigclabel
import pytest


def _isort_key(name: str) -> tuple[int, str]:
    """
    Constants, then classes, then everything else (the order ruff's RUF022 keeps).
    """
    if name.isupper():
        return 0, name
    if name[0].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted() -> None:
    """
    __all__ is sorted: constants, classes, then functions, each alphabetically.
    """
    assert sorted(aigclabel.__all__, key=_isort_key) == aigclabel.__all__


def test_all_has_no_duplicates() -> None:
    """
    Every name is listed once.
    """
    assert len(set(aigclabel.__all__)) == len(aigclabel.__all__)


@pytest.mark.parametrize("name", aigclabel.__all__)
def test_every_exported_name_is_importable(name: str) -> None:
    """
    Every name in __all__ exists on the package.
    """
    assert hasattr(aigclabel, name)


def test_every_public_name_is_exported() -> None:
    """
    Every public, non-module attribute of the package is listed in __all__.
    """
    public = {
        name
        for name, value in vars(aigclabel).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__ import annotations
    }

    assert set() == public - set(aigclabel.__all__)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in aigclabel.__all__
        if inspect.isclass(getattr(aigclabel, n)) or callable(getattr(aigclabel, n))
    ],
)
def test_every_exported_object_has_a_docstring(name: str) -> None:
    """
    Every exported class and function has its own docstring.
    """
    assert (getattr(aigclabel, name).__doc__ or "").strip()


@pytest.mark.parametrize("name", [n for n in aigclabel.__all__ if inspect.isclass(getattr(aigclabel, n))])
def test_every_public_method_has_a_docstring(name: str) -> None:
    """
    Public methods and properties defined on exported classes are documented.
    """
    cls = getattr(aigclabel, name)
    undocumented = [
        attr
        for attr, value in vars(cls).items()
        if not attr.startswith("_")
        and (inspect.isfunction(value) or isinstance(value, property | classmethod | staticmethod))
        and not (inspect.getdoc(getattr(cls, attr)) or "").strip()
    ]

    assert [] == undocumented


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in aigclabel.__all__
        if inspect.isclass(getattr(aigclabel, n)) or inspect.isfunction(getattr(aigclabel, n))
    ],
)
def test_exports_claim_the_package_as_module(name: str) -> None:
    """
    Exported classes and functions report ``aigclabel`` as their module (for reprs and docs).
    """
    assert "aigclabel" == getattr(aigclabel, name).__module__


def test_version_is_a_string() -> None:
    """
    __version__ is a PEP 440 style string.
    """
    assert isinstance(aigclabel.__version__, str)
    assert aigclabel.__version__[0].isdigit()


def test_version_is_the_installed_distributions() -> None:
    """
    ``__version__`` and the package metadata (what pip, the benches and bug reports show) agree.
    """
    assert aigclabel.__version__ == importlib.metadata.version("aigc-label")


def test_no_public_function_shadows_a_public_module() -> None:
    """
    ``aigclabel.verify`` is the function; no module of that name hides behind it (and likewise for
    every other exported name).
    """
    import importlib.util

    shadowed = [
        name for name in aigclabel.__all__ if importlib.util.find_spec(f"aigclabel.{name}") is not None
    ]

    assert [] == shadowed
