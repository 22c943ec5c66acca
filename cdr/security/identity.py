"""Who calls: one flask-independent function from request headers to a :class:`Principal`.

The API plugs :func:`authenticate` into a ``before_request`` hook and :func:`check_auth_mode` into server
start; AQL and the CLI can call the same function, so a caller is identified identically everywhere. The
modes (see :class:`AuthMode`):

- ``jwt``: ``Authorization: Bearer <token>``, verified by :func:`cdr.security.tokens.verify_token` and mapped
  from HelseID claims by :func:`cdr.security.helseid.principal_from_claims`;
- ``basic``: ``Authorization: Basic``, users and scrypt hashes from configuration, for development;
- ``none``: everybody is the anonymous developer holding every scope; the server refuses to start in this mode
  unless it listens on loopback only.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping

from cdr.security.config import AuthConfig, AuthMode, BasicUser, is_loopback
from cdr.security.errors import AuthConfigError, Unauthenticated
from cdr.security.helseid import principal_from_claims
from cdr.security.passwords import hash_password, verify_password
from cdr.security.principal import AuthMethod, Principal
from cdr.security.tokens import VerifiedTokens, verify_token


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user name is unknown, so that a wrong name costs as much as a wrong password."""
    return hash_password("not a password")


def check_auth_mode(mode: str, host: str) -> AuthMode:
    """The mode named by ``CDR_AUTH`` if the server may start with it listening on ``host``, else
    :class:`AuthConfigError`. ``none`` is only allowed on loopback (127.0.0.0/8, ::1, localhost): anywhere
    else every patient's record would be open to the network.
    """
    try:
        parsed = AuthMode(mode.strip().lower())
    except ValueError:
        raise AuthConfigError(f"CDR_AUTH={mode!r}: expected one of jwt, basic, none") from None
    if parsed is AuthMode.NONE and not is_loopback(host):
        raise AuthConfigError(
            "CDR_AUTH=none turns authentication off, which is only allowed when the server listens on "
            f"loopback; {host!r} is reachable from other machines"
        )
    return parsed


def _authorization(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization")
    if value is None:  # plain dicts are case-sensitive; HTTP header names are not
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    return value


def anonymous_principal(config: AuthConfig) -> Principal:
    """The caller in ``none`` mode: a developer on this machine, holding every configured scope."""
    return Principal(
        subject="anonymous", auth_method=AuthMethod.NONE, scopes=config.scopes.all(), name="anonymous"
    )


def _basic(credentials: str, config: AuthConfig) -> Principal:
    def refuse(description: str) -> Unauthenticated:
        return Unauthenticated(description, scheme="Basic", realm=config.realm)

    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise refuse("the Basic credentials are not base64 of user:password") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise refuse("the Basic credentials are not base64 of user:password")
    user: BasicUser | None = config.basic_users.get(username)
    ok = verify_password(password, user.password_hash if user else _dummy_hash())
    if user is None or not ok:
        raise refuse("wrong user name or password")
    return Principal(
        subject=username,
        auth_method=AuthMethod.BASIC,
        scopes=user.scopes,
        name=user.name or username,
        hpr_number=user.hpr_number,
        pid=user.pid,
        orgnr_parent=user.orgnr_parent,
        orgnr_child=user.orgnr_child,
    )


def authenticate(
    headers: Mapping[str, str], config: AuthConfig, tokens: VerifiedTokens | None = None
) -> Principal:
    """The caller identified by the request ``headers``, or :class:`Unauthenticated` (401) saying why.

    ``tokens``, when it belongs to ``config``, spares the signature check of a bearer token it has verified.

    Raises :class:`cdr.security.errors.AuthUnavailable` (503) when tokens cannot be checked because the
    signing keys cannot be loaded. Never looks at anything but the ``Authorization`` header.
    """
    if config.mode is AuthMode.NONE:
        return anonymous_principal(config)
    expected = "Bearer" if config.mode is AuthMode.JWT else "Basic"
    value = _authorization(headers)
    if value is None or not value.strip():
        raise Unauthenticated("authentication required", error=None, scheme=expected, realm=config.realm)
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != expected.lower():
        raise Unauthenticated(
            f"this server expects {expected} credentials, not {scheme[:20]}",
            scheme=expected,
            realm=config.realm,
        )
    if not credentials:
        raise Unauthenticated(f"empty {expected} credentials", scheme=expected, realm=config.realm)
    if config.mode is AuthMode.BASIC:
        return _basic(credentials, config)
    if tokens is not None and tokens.config is config:
        return tokens.derive(credentials, principal_from_claims)
    return principal_from_claims(verify_token(credentials, config))
