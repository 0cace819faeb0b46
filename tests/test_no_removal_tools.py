"""
Art. 10 ¶2: nobody may provide tools or services that delete, hide or tamper with labels. The
package offers no public function or method whose purpose is to remove, strip, hide or blank a
label or a mark, and what is documented as the one narrow exception (history hygiene: this
provider's own marks dropped from turns sent back upstream to the model, not a release of
content) keeps every other producer's marks (tests/middleware/test_wrap_openai.py).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

_VERB = (
    r"(remove|strip|delete|erase|hide|conceal|unlabel(?!able)|blank|scrub|sanitize|sanitise|clean|drop|wipe)"
)
_OBJECT = r"(label|mark|aigc|watermark|seal|packet)"
_TOOL = re.compile(rf"{_VERB}.*{_OBJECT}|{_OBJECT}.*{_VERB}|unlabel(?!able)|demark", re.IGNORECASE)
_OPTIONAL = ("aigclabel.adapters.engines",)  # imported only with their extras


def _modules() -> set[str]:
    # Each package of the package-dir mapping is walked from its own folder.
    found = {"aigclabel"}
    for root in ("aigclabel", "aigclabel.middleware", "aigclabel.adapters"):
        package = importlib.import_module(root)
        found.add(root)
        found.update(info.name for info in pkgutil.walk_packages(package.__path__, f"{root}."))
    return {
        m for m in found if not m.startswith(_OPTIONAL) and not any(p.startswith("_") for p in m.split("."))
    }


def _public_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for module_name in sorted(_modules()):
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            names[f"{module_name}.{name}"] = name
            if inspect.isclass(obj):
                for attr in vars(obj):
                    if not attr.startswith("_"):
                        names[f"{module_name}.{name}.{attr}"] = attr
    return names


def test_no_public_function_removes_or_hides_a_label() -> None:
    """No public name in the package reads as a tool to remove, strip or hide labels or marks."""
    names = _public_names()
    assert len(names) > 300  # the walk found the package
    assert [] == sorted(full for full, name in names.items() if _TOOL.search(name))
