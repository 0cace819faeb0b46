"""
Exceptions raised by aigc-label.

Every exception derives from one root, so ``except AIGCLabelError`` catches all
of them. Where the meaning matches a built-in, the class also derives from it
(bad settings and bad input are ``ValueError``; a missing optional package is
``ImportError``)::

    AIGCLabelError
    ├── PolicyError (ValueError)          invalid LabelPolicy field, TOML file or environment variable
    │   ├── ProducerCodeError             a provider code that is not a valid TC260 code
    │   └── PolicyKeyError                a key setting, key file or key variable that is unusable
    │                                     (also a KeyMaterialError)
    ├── MetadataError (ValueError)        malformed or invalid GB 45438 Annex E metadata
    ├── KeyMaterialError (ValueError)     an unusable HMAC secret or Ed25519 key
    ├── StreamStateError (RuntimeError)   a StreamLabeler used after finish()
    ├── OptOutError                       an Art. 9 opt-out that cannot be recorded
    ├── RecordSinkError (RuntimeError)    a record sink did not acknowledge a record in time
    │   └── aigclabel.adapters.audit.AuditStoreError   the SQL store failed (unavailable, frozen, full)
    ├── aigclabel.watermark.WatermarkError (ValueError)   a bad watermark profile, parameter or input
    │   ├── WatermarkTypeError (TypeError)               an argument of the wrong type (bytes, floats…)
    │   └── VocabularyError                              token ids or logits of another vocabulary size
    └── MissingDependencyError (ImportError)  an optional extra is not installed

``verify()`` never raises for damaged text: "not found", "corrupt", "forged" and
"tampered" are answers, not exceptions. The outer layers add their own subclasses of the
same root::

    AIGCLabelError
    ├── aigclabel.middleware.AlreadyWrappedError (ValueError)
    │                                     wrap() of a client that already labels with another labeler
    ├── aigclabel.middleware.UpstreamStreamError (ConnectionError)
    │   │                                 an upstream response could not be labeled and was not
    │   │                                 released (reported to client SDKs as the HTTP library's
    │   │                                 RemoteProtocolError)
    │   └── UnlabelableResponseError      a 2xx body on a labeled endpoint the middleware cannot
    │                                     label (raised as is: wrong shape, unparseable, not JSON/SSE)
    ├── aigclabel.adapters.files.CarrierError (ValueError)
    │                                     a file that cannot be read or rewritten (hostile, too large)
    └── aigclabel.adapters.files.PropagationError
                                          a file that cannot be propagated
"""

from __future__ import annotations

__all__ = [
    "AIGCLabelError",
    "KeyMaterialError",
    "MetadataError",
    "MissingDependencyError",
    "OptOutError",
    "PolicyError",
    "PolicyKeyError",
    "ProducerCodeError",
    "StreamStateError",
]


class AIGCLabelError(Exception):
    """
    Root of every exception this package raises.
    """


class PolicyError(AIGCLabelError, ValueError):
    """
    A labeling policy setting is invalid.

    Attributes:
        field: the name of the offending field (``"producer"``, ``"label_text"``…),
            or ``None`` when the whole document is unreadable.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ProducerCodeError(PolicyError):
    """
    A provider (ContentProducer) code does not follow the TC260 coding rule.

    Attributes:
        code: the rejected code.
    """

    def __init__(self, message: str, *, code: str, field: str | None = "producer") -> None:
        super().__init__(message, field=field)
        self.code = code


class MetadataError(AIGCLabelError, ValueError):
    """
    GB 45438 Annex E metadata is malformed: not JSON, a missing or misspelled key,
    a non-string value or a value outside the allowed character set.
    """


class KeyMaterialError(AIGCLabelError, ValueError):
    """
    A key cannot be used: an HMAC secret that is too short, or an Ed25519 key
    that is not a 32-byte seed, raw public key or PEM document.
    """


class StreamStateError(AIGCLabelError, RuntimeError):
    """
    A :class:`~aigclabel.StreamLabeler` was fed or finished after ``finish()``.
    """


class MissingDependencyError(AIGCLabelError, ImportError):
    """
    An optional package is needed; the message names the extra to install.

    Attributes:
        package: the distribution to install (``"pyyaml"``, ``"python-docx"``…).
        extra: the ``aigc-label`` extra that brings it (``pip install 'aigc-label[extra]'``).
    """

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"this feature needs the {package!r} package: pip install 'aigc-label[{extra}]'")
        self.package = package
        self.extra = extra

    def __reduce__(self) -> tuple[type[MissingDependencyError], tuple[str, str]]:
        # Rebuilt from both fields, so it crosses a process pool or a pickle intact.
        return type(self), (self.package, self.extra)


class OptOutError(AIGCLabelError):
    """
    A request asked for content without the visible label (Art. 9), but no audit record
    store is configured to record who received it. Nothing was released.
    """


class PolicyKeyError(PolicyError, KeyMaterialError):
    """
    A key given as a policy setting, a key file or an ``AIGCLABEL_*`` variable cannot be used:
    a configuration error (``PolicyError``, naming the field) about key material
    (``KeyMaterialError``). The message never contains the key.

    .. versionadded:: 0.2.0
    """
