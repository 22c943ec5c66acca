"""An OAuth 2.0 token endpoint for tests (client credentials grant), served by :mod:`.fhir_mock` at
``/token``: it authenticates the client by ``client_secret_basic`` or by a ``private_key_jwt`` assertion,
checked as an authorization server must (signature with the client's registered public key, ``iss`` and
``sub`` the client, ``aud``, ``exp``, a ``jti`` never seen before), and issues bearer tokens that the FHIR
mock then requires. Tokens can be revoked to see the client fetch a new one."""

from __future__ import annotations

import base64
import itertools
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(body, status=status, mimetype="application/json")


@dataclass
class TokenEndpoint:
    """One registered client: ``client_id`` with a ``secret`` or a ``public_key`` (private_key_jwt)."""

    client_id: str
    secret: str | None = None
    public_key: Any = None
    audience: str = ""  # the aud an assertion must name; empty: this endpoint's URL
    expires_in: int | None = 3600
    token_type: str = "Bearer"
    url: str = ""
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    assertions: list[dict[str, Any]] = field(default_factory=list)  # the claims of every accepted assertion
    scopes: list[str] = field(default_factory=list)
    _seen_jti: set[str] = field(default_factory=set)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def accepts(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme == "Bearer" and token in self.issued and token not in self.revoked

    def answer(self, request: Request) -> Response:
        if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
            return _error(400, "invalid_request", "POST a form")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "only client_credentials")
        refusal = self._authenticate(request)
        if refusal:
            return _error(401, "invalid_client", refusal)
        self.scopes.append(form.get("scope", ""))
        token = f"token-{next(self._numbers)}"
        self.issued.append(token)
        document: dict[str, Any] = {"access_token": token, "token_type": self.token_type}
        if self.expires_in is not None:
            document["expires_in"] = self.expires_in
        return Response(json.dumps(document), mimetype="application/json")

    def _authenticate(self, request: Request) -> str:
        """Why the client is not who it says, or ''."""
        if self.secret is not None:
            scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Basic":
                return "client_secret_basic expected"
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
            if (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)) != (
                self.client_id,
                self.secret,
            ):
                return "wrong client id or secret"
            return ""
        form = request.form
        if form.get("client_assertion_type") != ASSERTION_TYPE or form.get("client_id") != self.client_id:
            return "private_key_jwt expected"
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                self.public_key,
                algorithms=["RS256", "ES256", "ES384"],
                audience=self.audience or self.url,
                issuer=self.client_id,
                options={"require": ["exp", "jti", "sub", "iat"]},
            )
        except jwt.InvalidTokenError as exc:
            return f"client assertion refused: {exc}"
        if claims["sub"] != self.client_id:
            return "the assertion's sub is not the client"
        if claims["jti"] in self._seen_jti:
            return "the assertion's jti was used before"
        self._seen_jti.add(claims["jti"])
        header = jwt.get_unverified_header(form["client_assertion"])
        self.assertions.append({**claims, "kid": header.get("kid")})
        return ""
