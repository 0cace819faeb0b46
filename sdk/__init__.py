"""
aigc-label: label AI-generated text for GB 45438-2025 and the EU AI Act.

>>> from aigclabel import Labeler, LabelPolicy, verify
>>> key = "5c2e8f1a9d4b7e3061f8a2c4d9b0e7a3"  # yours comes from a secret store
>>> labeler = Labeler(LabelPolicy(producer="001191110102MAD55U9H0F10002", key=key))
>>> labeled = labeler.label("大模型生成的回答……")
>>> verify(labeled.text, key=key).tier
'confirmed'
"""

from __future__ import annotations

import contextlib
import importlib
import typing

if typing.TYPE_CHECKING:  # the names below load on first use (PEP 562): `import aigclabel` stays cheap
    from .audit.sink import RecordSinkError
    from .canonical import canonical_text
    from .context import LabelContext, current_context, request_context
    from .exceptions import (
        AIGCLabelError,
        KeyMaterialError,
        MetadataError,
        MissingDependencyError,
        OptOutError,
        PolicyError,
        PolicyKeyError,
        ProducerCodeError,
        StreamStateError,
    )
    from .explicit import DEFAULT_LABEL_TEXT, ExplicitLabel, is_compliant_label_text
    from .keyring import Keyring, KeyringEntry, KeyringError
    from .labeler import LabeledText, Labeler, OptOutDecision, StreamLabeler
    from .metadata import AIGCMetadata
    from .optout import OptOut
    from .policy import LabelPolicy
    from .producer import validate_producer_code
    from .ui import UIDisclosure
    from .verification import (
        ChannelEvidence,
        Evidence,
        MappingResolver,
        Resolver,
        SealEvidence,
        Verdict,
        verify,
    )

__version__ = "0.3.0.dev0"

__all__ = [
    "DEFAULT_LABEL_TEXT",
    "AIGCLabelError",
    "AIGCMetadata",
    "ChannelEvidence",
    "Evidence",
    "ExplicitLabel",
    "KeyMaterialError",
    "Keyring",
    "KeyringEntry",
    "KeyringError",
    "LabelContext",
    "LabelPolicy",
    "LabeledText",
    "Labeler",
    "MappingResolver",
    "MetadataError",
    "MissingDependencyError",
    "OptOut",
    "OptOutDecision",
    "OptOutError",
    "PolicyError",
    "PolicyKeyError",
    "ProducerCodeError",
    "RecordSinkError",
    "Resolver",
    "SealEvidence",
    "StreamLabeler",
    "StreamStateError",
    "UIDisclosure",
    "Verdict",
    "__version__",
    "canonical_text",
    "current_context",
    "is_compliant_label_text",
    "request_context",
    "validate_producer_code",
    "verify",
]

# Where each public name lives; loaded on first access and cached in the package namespace.
_HOMES: dict[str, str] = {
    "RecordSinkError": ".audit.sink",
    "canonical_text": ".canonical",
    **dict.fromkeys(("LabelContext", "current_context", "request_context"), ".context"),
    **dict.fromkeys(
        (
            "AIGCLabelError",
            "KeyMaterialError",
            "MetadataError",
            "MissingDependencyError",
            "OptOutError",
            "PolicyError",
            "PolicyKeyError",
            "ProducerCodeError",
            "StreamStateError",
        ),
        ".exceptions",
    ),
    **dict.fromkeys(("DEFAULT_LABEL_TEXT", "ExplicitLabel", "is_compliant_label_text"), ".explicit"),
    **dict.fromkeys(("Keyring", "KeyringEntry", "KeyringError"), ".keyring"),
    **dict.fromkeys(("LabeledText", "Labeler", "OptOutDecision", "StreamLabeler"), ".labeler"),
    "AIGCMetadata": ".metadata",
    "OptOut": ".optout",
    "LabelPolicy": ".policy",
    "validate_producer_code": ".producer",
    "UIDisclosure": ".ui",
    **dict.fromkeys(
        ("ChannelEvidence", "Evidence", "MappingResolver", "Resolver", "SealEvidence", "Verdict", "verify"),
        ".verification",
    ),
}


def __getattr__(name: str) -> typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home, __name__)
    # Every public name of that module at once, shown under its public path in reprs and docs
    # (aigclabel.Labeler, not aigclabel.labeler.Labeler).
    for public, where in _HOMES.items():
        if where == home:
            value = getattr(module, public)
            if isinstance(value, type) or callable(value):
                with contextlib.suppress(AttributeError, TypeError):
                    value.__module__ = __name__
            globals()[public] = value
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
