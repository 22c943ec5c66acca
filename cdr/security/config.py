"""Authentication settings: declared once, validated when loaded, so that an unsafe server never starts.

An :class:`AuthConfig` is built once per app (``create_app``) and passed to every
:func:`cdr.security.identity.authenticate` call; it keeps the JWKS key cache, so that keys are fetched
once and re-fetched on rotation, not per request. :func:`AuthConfig.from_env` reads the ``CDR_AUTH*``
variables listed in :data:`AUTH_SETTINGS` (and in docs/security.md).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from cdr.security.errors import AuthConfigError
from cdr.security.jwks import JwksFile, JwksUrl, KeySource
from cdr.security.passwords import is_password_hash
from cdr.security.scopes import ScopeNames

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


class AuthMode(StrEnum):
    """``jwt``: OAuth2 bearer tokens (HelseID); ``basic``: users from config, for development; ``none``: no
    authentication at all, only on loopback."""

    JWT = "jwt"
    BASIC = "basic"
    NONE = "none"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine.

    ``0.0.0.0``, ``::`` and the empty host listen on every interface, so they are *not* loopback.
    """
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BasicUser(BaseModel):
    """A development user: a scrypt hash (see :func:`cdr.security.passwords.hash_password`) and scopes, and
    the identity HelseID would state for them (HPR number, national id, organisation and unit numbers), so
    that the need-to-know policy can find a basis for them (a care relation, their own record)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    password_hash: str
    scopes: frozenset[str] = frozenset()
    name: str | None = None
    hpr_number: str | None = Field(default=None, pattern=r"^[0-9]{1,9}$")
    pid: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    orgnr_parent: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    orgnr_child: str | None = Field(default=None, pattern=r"^[0-9]{9}$")

    @model_validator(mode="after")
    def _hashed(self) -> BasicUser:
        if not is_password_hash(self.password_hash):
            raise ValueError(
                "password_hash must be a scrypt hash from hash_password(), never a plaintext password"
            )
        return self


class AuthConfig(BaseModel):
    """How callers are authenticated. See docs/security.md for each setting and its environment variable."""

    model_config = ConfigDict(frozen=True)

    mode: AuthMode = AuthMode.JWT
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    jwks_url: str | None = None
    jwks_file: Path | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    hmac_secret: SecretStr | None = None
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    required_claims: tuple[str, ...] = ()
    token_type: str | None = None
    max_token_bytes: int = Field(default=16384, ge=1024)
    jwks_cache_seconds: int = Field(default=300, ge=0)
    jwks_min_refresh_seconds: int = Field(default=30, ge=0)
    jwks_max_stale_seconds: int = Field(default=3600, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    scopes: ScopeNames = ScopeNames()
    basic_users: dict[str, BasicUser] = Field(default_factory=dict)
    realm: str = "cdr"

    _key_source: KeySource | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> AuthConfig:
        if self.mode is AuthMode.JWT:
            self._check_jwt()
        if self.mode is AuthMode.BASIC and not self.basic_users:
            raise ValueError("CDR_AUTH=basic needs at least one user (CDR_AUTH_BASIC_USERS_FILE)")
        return self

    def _check_jwt(self) -> None:
        if not self.issuer:
            raise ValueError("CDR_AUTH=jwt needs the token issuer (CDR_AUTH_ISSUER)")
        if not self.audience:
            raise ValueError("CDR_AUTH=jwt needs the audience this API is registered as (CDR_AUTH_AUDIENCE)")
        for alg in self.algorithms:
            if alg.lower() == "none":
                raise ValueError("unsigned tokens (alg none) are never accepted: they prove nothing")
            if alg not in ASYMMETRIC_ALGORITHMS | HMAC_ALGORITHMS:
                raise ValueError(f"unknown signing algorithm {alg!r}")
        if not self.algorithms:
            raise ValueError("no signing algorithm accepted")
        if HMAC_ALGORITHMS & set(self.algorithms):
            secret = self.hmac_secret.get_secret_value() if self.hmac_secret else ""
            if len(secret.encode("utf-8")) < 32:
                raise ValueError("HMAC algorithms need CDR_AUTH_HMAC_SECRET of at least 32 bytes")
        if ASYMMETRIC_ALGORITHMS & set(self.algorithms):
            if (self.jwks_url is None) == (self.jwks_file is None):
                raise ValueError("give exactly one of CDR_AUTH_JWKS_URL and CDR_AUTH_JWKS_FILE")
            if self.jwks_url is not None:
                parts = urlsplit(self.jwks_url)
                if parts.scheme != "https" and not (
                    parts.scheme == "http" and is_loopback(parts.hostname or "")
                ):
                    raise ValueError("the JWKS URL must use https (plain http only on loopback, for tests)")

    @property
    def key_source(self) -> KeySource:
        """The JWKS keys for asymmetric tokens, created on first use and cached with this config."""
        if self._key_source is None:
            if self.jwks_url is not None:
                self._key_source = JwksUrl(
                    self.jwks_url,
                    cache_seconds=self.jwks_cache_seconds,
                    min_refresh_seconds=self.jwks_min_refresh_seconds,
                    max_stale_seconds=self.jwks_max_stale_seconds,
                    timeout_seconds=self.jwks_timeout_seconds,
                )
            elif self.jwks_file is not None:
                self._key_source = JwksFile(self.jwks_file)
            else:
                raise AuthConfigError("no JWKS configured (CDR_AUTH_JWKS_URL or CDR_AUTH_JWKS_FILE)")
        return self._key_source

    def use_key_source(self, source: KeySource) -> None:
        """Use ``source`` for signing keys instead of one built from the settings (tests, custom caches)."""
        self._key_source = source

    @classmethod
    def load(cls, **values: Any) -> AuthConfig:
        """Build and validate; :class:`AuthConfigError` lists every problem (instead of a pydantic error)."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
                f"{err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            )
            raise AuthConfigError(f"authentication settings: {problems}") from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AuthConfig:
        """Read the ``CDR_AUTH*`` variables (see :data:`AUTH_SETTINGS`); unset ones keep their defaults."""
        values: dict[str, Any] = {}
        for setting in AUTH_SETTINGS:
            raw = environ.get(setting.env)
            if raw is None or raw == "":
                continue
            values[setting.field] = _LIST_SEP.split(raw.strip()) if setting.is_list else raw
        users_file = environ.get("CDR_AUTH_BASIC_USERS_FILE")
        if users_file:
            values["basic_users"] = _read_users(Path(users_file))
        scope_names = {
            area: environ[f"CDR_AUTH_SCOPE_{area.upper()}"]
            for area in ScopeNames.model_fields
            if environ.get(f"CDR_AUTH_SCOPE_{area.upper()}")
        }
        if scope_names:
            values["scopes"] = ScopeNames(**scope_names)
        return cls.load(**values)


class AuthSetting(NamedTuple):
    """One environment variable of the authentication settings."""

    env: str
    field: str
    help: str
    is_list: bool = False


AUTH_SETTINGS = (
    AuthSetting("CDR_AUTH", "mode", "jwt (default), basic (development users) or none (loopback only)"),
    AuthSetting("CDR_AUTH_ISSUER", "issuer", "expected iss of tokens, e.g. https://helseid-sts.nhn.no"),
    AuthSetting("CDR_AUTH_AUDIENCE", "audience", "accepted aud values (comma-separated)", True),
    AuthSetting(
        "CDR_AUTH_JWKS_URL", "jwks_url", "https URL of the issuer's JWKS (keys cached, rotated by kid)"
    ),
    AuthSetting("CDR_AUTH_JWKS_FILE", "jwks_file", "JWKS from a local file instead of a URL"),
    AuthSetting(
        "CDR_AUTH_ALGORITHMS", "algorithms", "accepted signing algorithms (default RS256,ES256)", True
    ),
    AuthSetting(
        "CDR_AUTH_HMAC_SECRET", "hmac_secret", "shared secret when HS256/384/512 are explicitly accepted"
    ),
    AuthSetting(
        "CDR_AUTH_LEEWAY", "leeway_seconds", "clock skew tolerated on exp/nbf/iat, seconds (default 30)"
    ),
    AuthSetting(
        "CDR_AUTH_REQUIRED_CLAIMS",
        "required_claims",
        "claims every token must carry besides exp, iss, aud",
        True,
    ),
    AuthSetting(
        "CDR_AUTH_TOKEN_TYPE", "token_type", "required JWT typ header, e.g. at+jwt (default: not checked)"
    ),
    AuthSetting(
        "CDR_AUTH_JWKS_CACHE", "jwks_cache_seconds", "seconds a fetched JWKS is used before refetching"
    ),
)

_LIST_SEP = re.compile(r"\s*,\s*")


def _read_users(path: Path) -> dict[str, BasicUser]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuthConfigError(f"cannot read the Basic users file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise AuthConfigError(f"{path}: expected an object of user name to {{password_hash, scopes}}")
    try:
        return {str(name): BasicUser.model_validate(entry) for name, entry in data.items()}
    except ValidationError as exc:
        raise AuthConfigError(f"{path}: {exc}") from exc
