"""Thin adapters: one object per system under test, all with the same shape.

Every adapter imports its library lazily inside ``setup()``; a library that is
missing or broken makes ``setup()`` raise :class:`Unavailable` with a reason,
and the runner records that reason instead of crashing.

Adapter contract (all text in, text/bools out):

    setup()                -> None, or raise Unavailable(reason)
    embed(text)            -> marked text
    verify(text)           -> True when the system's own verifier decodes a
                              verified mark (key/signature checked)
    edit_detected(text)    -> True when the system's own verifier flags the
                              (edited) text as altered

Peers are only *called*; none of their code is copied here.  encypher-ai is
AGPL-3.0, so it must stay an optional, separately installed dependency.
"""

from __future__ import annotations

import abc
import logging
import warnings

HMAC_KEY = "bench-secret-key-0123456789"
PRODUCER = "001191110102MAD55U9H0F10002"
# Fixed 32-byte Ed25519 seed so runs are reproducible (benchmark only, not a secret).
ED25519_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PEER_MESSAGE = b"bench-mark-01"  # payload for peers that carry a caller message


class Unavailable(Exception):
    """The system cannot run here; str(exc) is the reason recorded in results."""


def _ed25519_pair():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except Exception as exc:  # pragma: no cover - depends on environment
        raise Unavailable(f"cryptography not importable: {exc}") from exc
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(ED25519_SEED_HEX))
    pk = sk.public_key()
    raw_pk = pk.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sk, pk, raw_pk


class Adapter(abc.ABC):
    """
    One system under test: set up, embed, verify, and whether it notices an edited word.
    """

    name = "?"
    library = "?"
    license = "?"
    variant = ""  # short description of the configuration used
    is_ours = False

    @abc.abstractmethod
    def setup(self) -> None: ...

    def version(self) -> str:
        return "?"

    @abc.abstractmethod
    def embed(self, text: str) -> str: ...

    @abc.abstractmethod
    def verify(self, text: str) -> bool: ...

    @abc.abstractmethod
    def edit_detected(self, text: str) -> bool: ...


def _dist_version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


# --------------------------------------------------------------------------
# ours
# --------------------------------------------------------------------------
class Ours(Adapter):
    """aigclabel, marks only (``placement="none"``) unless ``visible=True``."""

    library = "aigc-label"
    license = "this project"
    is_ours = True

    def __init__(self, mode: str = "hmac", visible: bool = False):
        self.mode = mode
        self.visible = visible
        self.name = f"ours-{mode}" + ("+label" if visible else "")
        self.variant = f"{mode}, " + (
            "default placement (visible label + marks)" if visible else 'placement="none" (marks only)'
        )

    def setup(self) -> None:
        try:
            import aigclabel
            from aigclabel import Labeler, LabelPolicy, verify
        except Exception as exc:
            raise Unavailable(f"import aigclabel failed: {type(exc).__name__}: {exc}") from exc
        self._verify_fn = verify
        kw = {"producer": PRODUCER, "key": HMAC_KEY}
        if not self.visible:
            kw["placement"] = "none"
        self._vkw = {"key": HMAC_KEY}
        if self.mode == "ed25519":
            _, _, raw_pk = _ed25519_pair()
            kw["signing_key"] = ED25519_SEED_HEX
            self._vkw["public_key"] = raw_pk.hex()
        try:
            self._lab = Labeler(LabelPolicy(**kw))
        except Exception as exc:
            raise Unavailable(f"LabelPolicy/Labeler rejected config: {type(exc).__name__}: {exc}") from exc
        self._version = getattr(aigclabel, "__version__", None) or _dist_version("aigc-label")

    def version(self) -> str:
        return self._version

    def embed(self, text: str) -> str:
        return self._lab.label(text).text

    def result(self, text: str):
        return self._verify_fn(text, **self._vkw)

    def verify(self, text: str) -> bool:
        v = self.result(text)
        return v.mark_id is not None and v.status in ("intact", "valid")

    def edit_detected(self, text: str) -> bool:
        return self.result(text).status == "tampered"


# --------------------------------------------------------------------------
# encypher-ai (AGPL-3.0): UnicodeMetadata.embed_metadata / verify_metadata
# --------------------------------------------------------------------------
class Encypher(Adapter):
    """Default signed format of ``UnicodeMetadata.embed_metadata``.

    The installed signature defaults to ``metadata_format="manifest"`` and
    ``target=whitespace`` (one block of variation selectors after the first
    whitespace), Ed25519-signed.  ``fmt="c2pa"`` is the C2PA text-manifest
    variant with a hard binding (content hash), which is what detects edits.
    """

    library = "encypher-ai"
    license = "AGPL-3.0"

    def __init__(self, fmt: str | None = None):
        self.fmt = fmt
        self.name = "encypher" if fmt is None else f"encypher-{fmt}"
        self.variant = (
            "embed_metadata defaults (format=manifest, target=whitespace), Ed25519"
            if fmt is None
            else f"metadata_format={fmt!r}, Ed25519"
        )

    def setup(self) -> None:
        try:
            from encypher.core.unicode_metadata import UnicodeMetadata
        except Exception as exc:
            raise Unavailable(f"import encypher failed: {type(exc).__name__}: {exc}") from exc
        # encypher logs every call at INFO through a console handler; silence it
        # so the timings measure the library, not terminal output.
        logging.getLogger("encypher").setLevel(logging.CRITICAL)
        self._um = UnicodeMetadata
        self._sk, self._pk, _ = _ed25519_pair()
        self._kw = {} if self.fmt is None else {"metadata_format": self.fmt}

    def version(self) -> str:
        return _dist_version("encypher-ai")

    def embed(self, text: str) -> str:
        return self._um.embed_metadata(text, private_key=self._sk, signer_id="bench-signer", **self._kw)

    def _verify(self, text: str):
        pk = self._pk
        return self._um.verify_metadata(text, public_key_resolver=lambda _sid: pk)

    def verify(self, text: str) -> bool:
        try:
            ok, signer, _payload = self._verify(text)
        except Exception:
            return False
        return bool(ok) and signer == "bench-signer"

    def edit_detected(self, text: str) -> bool:
        try:
            ok, signer, _payload = self._verify(text)
        except Exception:
            return True  # a verifier error on an edited text counts as a flag
        return signer is not None and not ok


# --------------------------------------------------------------------------
# text_blind_watermark (MIT): TextBlindWatermark(pwd).add_wm_rnd / extract
# --------------------------------------------------------------------------
class TextBlind(Adapter):
    name = "text_blind_watermark"
    library = "text_blind_watermark"
    license = "MIT"
    variant = "TextBlindWatermark(pwd).add_wm_rnd (README usage), 13-byte message"

    def setup(self) -> None:
        try:
            from text_blind_watermark import TextBlindWatermark
        except Exception as exc:
            raise Unavailable(f"import text_blind_watermark failed: {type(exc).__name__}: {exc}") from exc
        self._twm = TextBlindWatermark(pwd=HMAC_KEY.encode())

    def version(self) -> str:
        return _dist_version("text_blind_watermark")

    def embed(self, text: str) -> str:
        return self._twm.add_wm_rnd(text=text, wm=PEER_MESSAGE)

    def verify(self, text: str) -> bool:
        # No MAC: "verified" means the keyed XOR decodes to the exact message.
        try:
            return self._twm.extract(text) == PEER_MESSAGE
        except Exception:
            return False

    def edit_detected(self, text: str) -> bool:
        # The mark is not bound to the text, so the only possible flag is a
        # mark that no longer decodes.
        return not self.verify(text)


# --------------------------------------------------------------------------
# glyphmark (Apache-2.0): Watermarker(key).embed / detect
# --------------------------------------------------------------------------
class Glyphmark(Adapter):
    library = "glyphmark"
    license = "Apache-2.0"

    def __init__(self, bind_content: bool = False):
        self.bind = bind_content
        self.name = "glyphmark" + ("-bound" if bind_content else "")
        self.variant = "Watermarker(key) defaults: hmac, density=medium, word-safe, decoys" + (
            ", bind_content=True" if bind_content else ""
        )

    def setup(self) -> None:
        try:
            import glyphmark
        except Exception as exc:
            raise Unavailable(f"import glyphmark failed: {type(exc).__name__}: {exc}") from exc
        warnings.filterwarnings("ignore", module="glyphmark")
        self._wm = glyphmark.Watermarker(key=HMAC_KEY.encode(), bind_content=self.bind)

    def version(self) -> str:
        return _dist_version("glyphmark")

    def embed(self, text: str) -> str:
        return self._wm.embed(text).text

    def verify(self, text: str) -> bool:
        try:
            return bool(self._wm.detect(text).detected)
        except Exception:
            return False

    def edit_detected(self, text: str) -> bool:
        try:
            d = self._wm.detect(text)
        except Exception:
            return True
        if not d.detected:
            return True
        cm = d.content_match  # None when the mark is not content-bound
        return cm is not None and cm < 1.0


def all_adapters() -> list[Adapter]:
    """Systems in table order: ours first (reference = ours-hmac), then peers."""
    return [
        Ours("hmac"),
        Ours("ed25519"),
        Encypher(),
        Encypher("c2pa"),
        TextBlind(),
        Glyphmark(),
        Glyphmark(bind_content=True),
    ]


def visible_label_adapters() -> list[Adapter]:
    """Our default labeler (visible label + marks), for the visible-label cost."""
    return [Ours("hmac", visible=True)]
