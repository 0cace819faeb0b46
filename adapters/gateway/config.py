"""
What a gateway serves: the upstream, the default labeling policy, tenants, and its settings.

A :class:`GatewayConfig` is built in code or loaded from TOML with :meth:`GatewayConfig.load`:

* the **policy file** is a :class:`~aigclabel.LabelPolicy` file (top-level keys or an
  ``[aigclabel]`` table); beside an ``[aigclabel]`` table it may hold a ``[gateway]`` table with
  the gateway's own settings (the fields of :class:`GatewayConfig` other than ``upstream``,
  ``policy`` and ``tenants``);
* the optional **tenants file** maps gateway keys to tenants, each labeling with the default
  policy overridden by its own settings (at least its own ``producer`` and ``key``), and may hold
  a ``[gateway]`` table too (it wins over the policy file's)::

      [gateway]
      user_header = "x-end-user"
      consent_store = "/var/lib/aigc/consent.db"

      [tenants."gw-3f9c…"]            # the key callers send as their bearer / x-api-key
      name = "shop"
      upstream_key = "sk-…"           # replaces the caller's key upstream
      producer = "001191110102MAD55U9H0F10002"
      key = "…"

Every problem is a :class:`GatewayConfigError` (an :class:`~aigclabel.AIGCLabelError` and a
``ValueError``) naming the file and the setting; gateway keys and secrets never appear in
errors or reprs.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aigclabel.exceptions import AIGCLabelError
from aigclabel.policy import LabelPolicy
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

__all__ = ["GatewayConfig", "GatewayConfigError", "Tenant"]


class GatewayConfigError(AIGCLabelError, ValueError):
    """
    A gateway setting, policy file or tenants file that cannot be used.

    Attributes:
        field: the setting concerned (``"upstream"``, ``"tenants.shop.key"``…), or ``None``.

    .. versionadded:: 0.3.0
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Tenant(BaseModel):
    """
    One tenant: who it is, the key the gateway sends upstream for it, and how it labels.

    Attributes:
        name: a short name for logs and metrics (never the gateway key).
        upstream_key: the API key sent upstream in place of the caller's gateway key
            (``None``: no key is sent).
        policy: the tenant's labeling policy (its producer code and keys).

    .. versionadded:: 0.3.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(min_length=1, max_length=128)
    upstream_key: SecretStr | None = None
    policy: LabelPolicy


class GatewayConfig(BaseModel):
    """
    Everything one gateway process needs. Frozen; secrets are ``SecretStr``.

    Attributes:
        upstream: the upstream's base URL (``http://`` or ``https://``, no ``/v1``).
        policy: the labeling policy when there are no tenants.
        tenants: gateway key → :class:`Tenant`. Empty: the caller's own ``Authorization`` /
            ``x-api-key`` is forwarded and :attr:`policy` labels. Otherwise every caller must
            present a gateway key (else 401).
        user_header: the request header that names the end user (recorded, and looked up in
            the consent store), e.g. ``"x-end-user"``; ``None``: no per-user identity.
        trusted_control: pass callers' ``x-aigc-*`` control headers (user, opt-out…) and a
            body's ``"watermarking"`` through; only for callers inside the operator's trust
            boundary. Default: stripped.
        consent_store: an :class:`~aigclabel.adapters.asgi.SQLiteConsentStore` file: a user
            named by :attr:`user_header` whose recorded opt-out is under an agreement version
            the policy accepts gets content without the visible label (Art. 9), recorded first.
            With tenants, consent is looked up as ``<tenant name>:<user>``.
        connect_timeout: seconds to connect to the upstream.
        read_timeout: seconds the upstream may stay silent (before the first byte and between
            two chunks) before the gateway answers 504 or ends the stream.
        write_timeout: seconds to send a request body upstream.
        pool_timeout: seconds to wait for a free upstream connection.
        max_connections: upstream connections per process and tenant.
        shutdown_timeout: seconds in-flight requests and streams get to finish on shutdown.
        max_body_bytes: the largest request body accepted (413 above).
        send_buffer_bytes: the kernel send buffer of each caller connection (``SO_SNDBUF`` on
            the listening socket, inherited by accepted ones; ``None``: the kernel's autotuning,
            up to several MiB). It bounds how far the gateway reads, labels and writes ahead of
            a slow reader: the default 256 KiB is ample for token streams on any link and keeps
            a stalled stream's footprint small. Set by :func:`~.server.serve`.

    .. versionadded:: 0.3.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    upstream: str
    policy: LabelPolicy
    tenants: Mapping[str, Tenant] = Field(default_factory=dict)
    user_header: str | None = None
    trusted_control: bool = False
    consent_store: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=300.0, gt=0)
    write_timeout: float = Field(default=30.0, gt=0)
    pool_timeout: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    shutdown_timeout: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    send_buffer_bytes: int | None = Field(default=256 * 1024, ge=4096)

    @field_validator("upstream")
    @classmethod
    def _check_upstream(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host, not {value!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must not carry credentials, a query or a fragment")
        return value.rstrip("/")

    @field_validator("user_header")
    @classmethod
    def _check_header(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().lower()
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ValueError(f"must be an HTTP header name, not {value!r}")
        if name in ("authorization", "x-api-key", "host", "cookie") or name.startswith("x-aigc-"):
            raise ValueError(f"{value!r} cannot name the end user")
        return name

    @field_validator("tenants")
    @classmethod
    def _check_tenants(cls, value: Mapping[str, Tenant]) -> Mapping[str, Tenant]:
        names: set[str] = set()
        for key, tenant in value.items():
            if len(key) < 16 or key != key.strip():
                raise ValueError(f"the gateway key of tenant {tenant.name!r} is shorter than 16 characters")
            if tenant.name in names:
                raise ValueError(f"two tenants are named {tenant.name!r}")
            names.add(tenant.name)
        return dict(value)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield (name, [t.name for t in value.values()]) if name == "tenants" else (name, value)

    @classmethod
    def create(cls, **settings: Any) -> GatewayConfig:
        """
        :class:`GatewayConfig` ``(**settings)``, every validation problem a :class:`GatewayConfigError`.
        """
        try:
            return cls(**settings)
        except ValidationError as exc:
            raise _config_error(exc, "gateway settings") from None

    @classmethod
    def load(
        cls,
        policy_file: str | Path,
        *,
        upstream: str,
        tenants_file: str | Path | None = None,
        **settings: Any,
    ) -> GatewayConfig:
        """
        Load a configuration from TOML files; keyword *settings* win over the files' ``[gateway]`` tables.

        Args:
            policy_file: the default policy (and optionally a ``[gateway]`` table).
            upstream: the upstream's base URL.
            tenants_file: gateway keys → tenants (and optionally a ``[gateway]`` table).
            settings: other :class:`GatewayConfig` fields (``None`` values are ignored).

        Raises:
            GatewayConfigError: a file is missing, unreadable, not TOML, or holds an unknown or
                invalid setting (the message names the file and the setting).
        """
        doc = _read(policy_file, "policy file")
        gateway = _table(doc.pop("gateway", {}), policy_file, "gateway")
        table = doc.get("aigclabel", doc)
        if not isinstance(table, dict):
            raise GatewayConfigError(f"policy file {str(policy_file)!r}: [aigclabel] must be a table")
        try:
            policy = LabelPolicy(**table)
        except (ValidationError, ValueError, TypeError) as exc:
            raise _config_error(exc, f"policy file {str(policy_file)!r}") from None
        tenants: dict[str, Tenant] = {}
        if tenants_file is not None:
            tdoc = _read(tenants_file, "tenants file")
            gateway.update(_table(tdoc.pop("gateway", {}), tenants_file, "gateway"))
            entries = _table(tdoc.pop("tenants", None), tenants_file, "tenants")
            if tdoc:
                raise GatewayConfigError(
                    f"tenants file {str(tenants_file)!r}: unknown table or key {sorted(tdoc)[0]!r} "
                    '(expected [gateway] and [tenants."<gateway key>"])'
                )
            for index, (key, entry) in enumerate(entries.items()):
                tenants[key] = _tenant(entry, policy, tenants_file, index)
        gateway.update({k: v for k, v in settings.items() if v is not None})
        for name in ("upstream", "policy", "tenants"):
            if name in gateway:
                raise GatewayConfigError(f"[gateway] cannot set {name!r}", field=name)
        try:
            return cls(upstream=upstream, policy=policy, tenants=tenants, **gateway)
        except ValidationError as exc:
            raise _config_error(exc, "gateway settings") from None


def _read(path: str | Path, what: str) -> dict[str, Any]:
    where = f"{what} {str(path)!r}"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GatewayConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GatewayConfigError(f"{where} is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message only: the document (keys included) stays out of the exception chain.
        raise GatewayConfigError(f"{where} is not valid TOML: {exc}") from None


def _table(value: object, path: str | Path, name: str) -> dict[str, Any]:
    if value is None:
        raise GatewayConfigError(f"tenants file {str(path)!r} has no [{name}] table", field=name)
    if not isinstance(value, dict):
        raise GatewayConfigError(f"{str(path)!r}: [{name}] must be a table", field=name)
    return dict(value)


def _tenant(entry: object, policy: LabelPolicy, path: str | Path, index: int) -> Tenant:
    where = f"tenants file {str(path)!r}"
    if not isinstance(entry, dict):
        raise GatewayConfigError(f"{where}: tenant #{index + 1} must be a table", field="tenants")
    entry = dict(entry)
    name = entry.pop("name", None)
    if not isinstance(name, str) or not name:
        raise GatewayConfigError(f"{where}: tenant #{index + 1} has no name", field="tenants")
    upstream_key = entry.pop("upstream_key", None)
    if upstream_key is not None and not isinstance(upstream_key, str):
        raise GatewayConfigError(f"{where}: tenant {name!r}: upstream_key must be a string", field="tenants")
    for required in ("producer", "key"):
        if required not in entry:
            raise GatewayConfigError(
                f"{where}: tenant {name!r} must set its own {required!r}", field=f"tenants.{name}.{required}"
            )
    base = {field: getattr(policy, field) for field in policy.model_fields_set}
    try:
        tenant_policy = LabelPolicy(**{**base, **entry})
        key = SecretStr(upstream_key) if upstream_key is not None else None
        return Tenant(name=name, upstream_key=key, policy=tenant_policy)
    except (ValidationError, ValueError, TypeError) as exc:
        raise _config_error(exc, f"{where}: tenant {name!r}") from None


def _config_error(exc: Exception, where: str) -> GatewayConfigError:
    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            location = ".".join(str(part) for part in error["loc"]) or "(root)"
            problems.append(f"{location}: {error['msg']}")
        return GatewayConfigError(f"{where}: {'; '.join(problems)}", field=str(exc.errors()[0]["loc"][0]))
    return GatewayConfigError(f"{where}: {exc}", field=getattr(exc, "field", None))
