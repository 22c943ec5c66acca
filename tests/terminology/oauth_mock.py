"""An OAuth 2.0 token endpoint for tests (client credentials grant), served by :mod:`.fhir_mock` at
``/token``: it authenticates the client by ``client_secret_basic`` or by a ``private_key_jwt`` assertion,
checked as an authorization server must (signature with the client's registered public key, ``iss`` and
``sub`` the client, ``aud``, ``exp``, a ``jti`` never seen before), and issues bearer tokens that the FHIR
mock then requires. Tokens can be revoked to see the client fetch a new one.

With ``dpop`` it issues DPoP-bound tokens (RFC 9449) only against a valid proof, and checks the proof that
must come with every use of the token (the key the token is bound to, the method and URL, the token's hash,
a fresh ``jti``); ``nonce`` / ``resource_nonce`` make it ask for a nonce of its own first."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(body, status=status, mimetype="application/json")


class _NonceWanted(Exception):
    pass


def _b64url_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _hash(token: str) -> str:
    return _b64url_sha256(token.encode("ascii"))


def _unauthorized(error: str) -> Response:
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]})
    answer = Response(body, status=401, mimetype="application/fhir+json")
    answer.headers["WWW-Authenticate"] = f'DPoP error="{error}"' if error else 'Bearer error="invalid_token"'
    return answer


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
    dpop: bool = False
    nonce: str | None = None  # the nonce the token endpoint wants in proofs
    resource_nonce: str | None = None  # the nonce the FHIR server wants in proofs
    bound: dict[str, str] = field(default_factory=dict)  # token -> thumbprint of the key it is bound to
    proofs: list[dict[str, Any]] = field(default_factory=list)  # the claims of every accepted proof
    _seen_jti: set[str] = field(default_factory=set)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def accepts(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme == "Bearer" and token in self.issued and token not in self.revoked

    def refusal(self, request: Request) -> Response | None:
        """Why a FHIR request may not have an answer (a 401), or None: a live token, and with ``dpop`` a
        valid proof of the key it is bound to."""
        if not self.dpop:
            return None if self.accepts(request.headers.get("Authorization", "")) else _unauthorized("")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "DPoP" or token not in self.bound or token in self.revoked:
            return _unauthorized("a DPoP-bound token is required")
        try:
            jkt = self._check_proof(request, token, self.resource_nonce)
        except _NonceWanted:
            answer = _unauthorized("use_dpop_nonce")
            answer.headers["DPoP-Nonce"] = str(self.resource_nonce)
            return answer
        except ValueError as exc:
            return _unauthorized(str(exc))
        return None if jkt == self.bound[token] else _unauthorized("the proof is of another key")

    def _check_proof(self, request: Request, access_token: str | None, nonce: str | None) -> str:
        """The thumbprint of the key that signed the request's DPoP proof; ValueError saying what is wrong."""
        proof = request.headers.get("DPoP", "")
        if not proof:
            raise ValueError("no DPoP proof")
        header = jwt.get_unverified_header(proof)
        jwk = header.get("jwk")
        if header.get("typ") != "dpop+jwt" or not isinstance(jwk, dict) or "d" in jwk:
            raise ValueError("not a DPoP proof")
        key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
        claims = jwt.decode(
            proof, key, algorithms=["ES256"], options={"require": ["jti", "htm", "htu", "iat"]}
        )
        if claims["htm"] != request.method or claims["htu"] != request.base_url:
            raise ValueError(f"the proof is for {claims['htm']} {claims['htu']}")
        if abs(time.time() - claims["iat"]) > 60 or claims["jti"] in self._seen_jti:
            raise ValueError("a stale or replayed proof")
        if access_token is not None and claims.get("ath") != _hash(access_token):
            raise ValueError("the proof is for another token")
        if nonce is not None and claims.get("nonce") != nonce:
            raise _NonceWanted
        self._seen_jti.add(claims["jti"])
        self.proofs.append(claims)
        members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
        return _b64url_sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8"))

    def answer(self, request: Request) -> Response:
        if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
            return _error(400, "invalid_request", "POST a form")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "only client_credentials")
        refusal = self._authenticate(request)
        if refusal:
            return _error(401, "invalid_client", refusal)
        jkt = None
        if self.dpop:
            try:
                jkt = self._check_proof(request, None, self.nonce)
            except _NonceWanted:
                answer = _error(400, "use_dpop_nonce", "use the nonce in DPoP-Nonce")
                answer.headers["DPoP-Nonce"] = str(self.nonce)
                return answer
            except (ValueError, jwt.InvalidTokenError) as exc:
                return _error(400, "invalid_dpop_proof", str(exc))
        self.scopes.append(form.get("scope", ""))
        token = f"token-{next(self._numbers)}"
        self.issued.append(token)
        if jkt is not None:
            self.bound[token] = jkt
        token_type = "DPoP" if self.dpop else self.token_type
        document: dict[str, Any] = {"access_token": token, "token_type": token_type}
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
