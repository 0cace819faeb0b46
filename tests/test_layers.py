"""
Folders are layers: the SDK core imports nothing from the outer layers or from LLM client libraries.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aigclabel
import aigclabel.middleware
import pytest

SDK = Path(aigclabel.__file__).resolve().parent
MIDDLEWARE = Path(aigclabel.middleware.__file__).resolve().parent
FORBIDDEN_TOP = {
    "openai",
    "anthropic",
    "httpx",
    "httpx2",
    "langchain",
    "langchain_core",
    "middleware",
    "adapters",
}
FORBIDDEN_INNER = {"aigclabel.middleware", "aigclabel.adapters"}
# In an installed wheel the outer layers live inside the package folder; they are not the core.
SDK_FILES = sorted(
    p for p in SDK.rglob("*.py") if p.relative_to(SDK).parts[0] not in ("middleware", "adapters")
)
MIDDLEWARE_FILES = sorted(MIDDLEWARE.glob("*.py"))


def _module_name(path: Path) -> str:
    if path.is_relative_to(MIDDLEWARE):
        parts = ["aigclabel", "middleware", *path.relative_to(MIDDLEWARE).with_suffix("").parts]
    else:
        parts = ["aigclabel", *path.relative_to(SDK).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """
    Absolute names of every module *path* imports (relative imports resolved).
    """
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out.add(prefix)
            out.update(f"{prefix}.{alias.name}" for alias in node.names)
    return out


def _forbidden(name: str) -> bool:
    return name.split(".")[0] in FORBIDDEN_TOP or any(
        name == inner or name.startswith(inner + ".") for inner in FORBIDDEN_INNER
    )


def test_sdk_files_found() -> None:
    """
    The check sees the SDK's modules (guards against a vacuous pass).
    """
    assert {"labeler.py", "verification.py", "placement.py"} <= {p.name for p in SDK_FILES}


@pytest.mark.parametrize("path", SDK_FILES, ids=lambda p: str(p.relative_to(SDK)))
def test_sdk_module_imports_point_inward(path: Path) -> None:
    """
    No SDK module imports middleware, adapters, openai, anthropic, httpx or langchain.
    """
    assert [] == sorted(name for name in _imports(path) if _forbidden(name))


@pytest.mark.parametrize("path", MIDDLEWARE_FILES, ids=lambda p: p.name)
def test_middleware_imports_only_the_core(path: Path) -> None:
    """
    The middleware imports the core and HTTP libraries, never adapters or a provider SDK.
    """
    bad = sorted(
        name
        for name in _imports(path)
        if name.split(".")[0] in ("openai", "anthropic", "langchain", "langchain_core", "adapters")
        or name.startswith("aigclabel.adapters")
    )

    assert [] == bad


def test_relative_import_resolution() -> None:
    """
    The checker resolves ``from ..x import y`` inside aigclabel.marks to aigclabel.x.
    """
    assert "aigclabel.producer" in _imports(SDK / "marks" / "packet.py")


def test_importing_the_package_loads_no_client_library() -> None:
    """
    ``import aigclabel`` loads no LLM client or HTTP library and neither outer layer.
    """
    code = (
        "import sys, aigclabel\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FORBIDDEN_TOP)!r} or m.startswith(('aigclabel.middleware', 'aigclabel.adapters')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert "" == out.strip()
