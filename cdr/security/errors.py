"""Authentication and authorisation errors, each carrying its HTTP status and ``WWW-Authenticate`` challenge.

They subclass :class:`cdr.errors.CdrError` so that the API's single error handler renders them like every
other error; the challenge header is built here because its grammar (RFC 6750 section 3, RFC 7617) is part
of getting authentication right, not of HTTP plumbing.
"""

from __future__ import annotations

from typing import ClassVar

from cdr.errors import CdrError

# RFC 6750: error_description and scope values are limited to printable ASCII without '"' and '\'.
_ALLOWED = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def _quoted(text: str) -> str:
    return '"' + "".join(c if c in _ALLOWED else "?" for c in text) + '"'


class Unauthenticated(CdrError):
    """The request carries no credentials, or credentials that do not identify anybody (HTTP 401).

    ``error`` is the RFC 6750 error code: ``None`` when no credentials were sent at all (the client should
    simply authenticate), ``"invalid_token"`` when a token or password was refused. ``description`` says why,
    in words safe to show the caller: it never echoes the token.
    """

    status: ClassVar[int] = 401

    def __init__(
        self,
        description: str,
        *,
        error: str | None = "invalid_token",
        scheme: str = "Bearer",
        realm: str = "cdr",
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error = error
        self.scheme = scheme
        self.realm = realm

    @property
    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` header value for the 401 response."""
        params = [f"realm={_quoted(self.realm)}"]
        if self.scheme.lower() == "basic":
            params.append('charset="UTF-8"')
        elif self.error is not None:
            params.append(f"error={_quoted(self.error)}")
            params.append(f"error_description={_quoted(self.description)}")
        return f"{self.scheme} " + ", ".join(params)


class Forbidden(CdrError):
    """The caller is known but may not do this (HTTP 403); ``required_scope`` names the missing scope."""

    status: ClassVar[int] = 403

    def __init__(self, message: str, *, required_scope: str | None = None, realm: str = "cdr") -> None:
        super().__init__(message)
        self.required_scope = required_scope
        self.realm = realm

    @property
    def www_authenticate(self) -> str | None:
        """RFC 6750 ``insufficient_scope`` challenge when a scope is missing, else no header."""
        if self.required_scope is None:
            return None
        return (
            f'Bearer realm={_quoted(self.realm)}, error="insufficient_scope", '
            f"error_description={_quoted(self.message)}, scope={_quoted(self.required_scope)}"
        )


class AuthUnavailable(CdrError):
    """Tokens cannot be checked right now because the signing keys cannot be loaded (HTTP 503).

    Kept apart from :class:`Unauthenticated` so that an identity provider outage does not tell every client
    that its token is bad.
    """

    status: ClassVar[int] = 503


class AuthConfigError(CdrError):
    """The authentication settings are unusable or unsafe; raised at start-up, before serving anything."""
