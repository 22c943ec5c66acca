"""Who is calling: the request's :class:`~cdr.services.context.Principal` and its :class:`RequestContext`.

Until the security issue brings real identities, the only distinction is the admin role, granted by the
configured API key (``X-API-Key`` or ``Authorization: Bearer``) or Basic auth user, or (with no credentials
configured and ``ADMIN_LOOPBACK`` on) to clients on the loopback interface. Credentials that are sent but
wrong are refused (401) rather than silently downgraded to anonymous. A security layer replaces
:func:`identify` and the policy; handlers and services already receive the context it builds.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from flask import Flask

from cdr.api.current import current_request, request_globals, the_app
from cdr.api.headers import audit_details
from cdr.security.principal import AuthMethod
from cdr.services.context import ADMIN_ROLE, ANONYMOUS, Principal, RequestContext, RolePolicy
from cdr.services.errors import Unauthenticated

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _admin(name: str) -> Principal:
    return Principal(subject=name, auth_method=AuthMethod.NONE, name=name, roles=frozenset({ADMIN_ROLE}))


def identify() -> Principal:
    """The principal of the current request: the one :mod:`cdr.api.security` authenticated, else the
    legacy admin-role rules of the module docstring (which that module applies when authentication is off)."""
    authenticated: Principal | None = request_globals().get("cdr_principal")
    if authenticated is not None:
        return authenticated
    req = current_request()
    config = the_app().config
    key, user, password = config.get("ADMIN_API_KEY"), config.get("ADMIN_USER"), config.get("ADMIN_PASSWORD")
    sent_key = req.headers.get("X-API-Key")
    header = req.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        sent_key = header[7:].strip()
    if sent_key is not None:
        if key and _same(sent_key, key):
            return _admin("admin")
        raise Unauthenticated("the API key is not valid")
    basic = req.authorization
    if basic is not None and basic.type == "basic":
        if user and password and _same(basic.username or "", user) and _same(basic.password or "", password):
            return _admin(user)
        raise Unauthenticated(f"unknown user or wrong password for {basic.username!r}")
    if not (key or user) and config.get("ADMIN_LOOPBACK") and req.remote_addr in _LOOPBACK:
        return _admin("anonymous")
    return ANONYMOUS


_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_AUDIT_DETAILS: dict[str, Any] = {
    "committer": None,
    "description": None,
    "change_type": None,
    "lifecycle_state": None,
}


def request_context() -> RequestContext:
    """The context of the current request, built once per request."""
    glob = request_globals()
    ctx: RequestContext | None = glob.get("cdr_ctx")
    if ctx is None:
        req, app = current_request(), the_app()
        # only a write commits: a read's request skips two passes over its headers (~4% of a read's CPU)
        headers = _NO_AUDIT_DETAILS if req.method in _READS else audit_details()
        ctx = RequestContext(
            principal=identify(),
            committer=headers["committer"],
            description=headers["description"],
            change_type=headers["change_type"],
            lifecycle_state=headers["lifecycle_state"],
            request_id=req.headers.get("X-Request-Id") or uuid.uuid4().hex,
            access_log=app.extensions.get("cdr_access_log"),
            policy=glob.get("cdr_policy") or RolePolicy(),
        )
        glob.cdr_ctx = ctx
    return ctx


def init_app(app: Flask) -> None:
    """Reserve the access-log slot: the security layer installs its log as ``cdr_access_log``."""
    app.extensions.setdefault("cdr_access_log", None)
