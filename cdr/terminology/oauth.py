"""Access tokens for a terminology server that wants OAuth 2.0: the client credentials grant (RFC 6749
section 4.4), the client authenticated by a secret (``client_secret_basic``) or by a JWT signed with its own
private key (``private_key_jwt``, RFC 7523 / OpenID Connect Core section 9).

Norwegian national terminology (Helsedirektoratet's FHIR terminology service) sits behind HelseID, which
issues tokens to machine clients only with ``private_key_jwt``; a municipality's own or a vendor's server
may take a secret. Either way the repository asks for a token once, sends it on every terminology request
(``Authorization: Bearer``, or ``DPoP`` with a proof of the client's key, :mod:`cdr.terminology.dpop`),
and asks for a new one shortly before it expires or when the terminology server answers 401 (revoked, keys
rotated).

A client assertion lives :data:`ASSERTION_LIFETIME` seconds and carries a new ``jti`` each time, so that a
token endpoint which remembers ``jti`` values never sees one twice. Its audience is the token endpoint
unless configured otherwise (HelseID names its issuer, ``https://helseid-sts.nhn.no``, as the audience
it accepts).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cdr.terminology.dpop import DpopKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60
"""Seconds a client assertion is valid: long enough for clock skew, short enough not to be worth stealing."""

RENEW_BEFORE = 30.0
"""A token is renewed this many seconds before it expires (a short-lived one at half its life), so a request
never leaves with a token that expires on the way."""

DEFAULT_LIFETIME = 60.0
"""Seconds a token is used when the token endpoint does not say (``expires_in`` is only recommended)."""

MAX_TOKEN_ANSWER = 64 * 1024


class TokenError(Exception):
    """No access token: the token endpoint could not be reached, refused the client, or answered nonsense."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The client's private key for ``private_key_jwt``, with the ``kid`` the token endpoint knows it by."""

    key: Any = field(repr=False)  # a cryptography RSA or EC private key
    algorithm: str
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """Who the repository is at ``token_url``: ``client_id`` with either a ``secret`` or a ``signing_key``."""

    token_url: str
    client_id: str
    secret: str | None = field(default=None, repr=False)  # never in a log line or traceback
    signing_key: SigningKey | None = field(default=None, repr=False)
    scope: str = ""
    audience: str = ""  # of the client assertion; empty: the token endpoint

    def request(self, now: float) -> tuple[dict[str, str], dict[str, str]]:
        """The token request's form fields and headers at time ``now`` (seconds since the epoch)."""
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.signing_key is not None:
            form["client_id"] = self.client_id
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = self.assertion(now)
        else:
            # RFC 6749 section 2.3.1: both parts form-urlencoded before they are joined and base64-encoded
            pair = f"{_form(self.client_id)}:{_form(self.secret or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        return form, headers

    def assertion(self, now: float) -> str:
        """A signed client assertion (RFC 7523 section 3): the client is its issuer and subject."""
        if self.signing_key is None:
            raise ValueError("no signing key")
        issued = int(now)
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience or self.token_url,
            "jti": str(uuid.uuid4()),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
        headers = {"kid": self.signing_key.key_id} if self.signing_key.key_id else None
        return jwt.encode(claims, self.signing_key.key, algorithm=self.signing_key.algorithm, headers=headers)


def _form(text: str) -> str:
    return urllib.parse.quote_plus(text)


@dataclass
class TokenSource:
    """The current access token of ``credentials``, fetched when needed; safe across threads (one fetch at a
    time, the others wait for its token). Expiry is kept on ``clock`` (monotonic: a wall clock set back
    must not keep a dead token); assertions are dated by the wall clock, as the token endpoint reads them."""

    credentials: ClientCredentials
    timeout: float = 5.0
    clock: Callable[[], float] = time.monotonic
    dpop: DpopKey | None = None  # tokens bound to this key (RFC 9449), as HelseID issues them
    fetches: int = 0
    # the token, when to renew it, and its scheme (Bearer or DPoP)
    _token: tuple[str, float, str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bearer(self) -> str:
        """A token to send now; :class:`TokenError` when none can be had."""
        return self._current()[0]

    def authorization(self, method: str, url: str) -> tuple[str, dict[str, str]]:
        """The token for ``method url`` and the headers that carry it: ``Authorization: Bearer``, or for a
        DPoP-bound token ``Authorization: DPoP`` with a new proof in ``DPoP``."""
        token, scheme = self._current()
        headers = {"Authorization": f"{scheme} {token}"}
        if scheme == "DPoP" and self.dpop is not None:
            headers["DPoP"] = self.dpop.proof(method, url, token)
        return token, headers

    def _current(self) -> tuple[str, str]:
        with self._lock:
            held = self._token
            if held is not None and held[1] > self.clock():
                return held[0], held[2]
            token, lifetime, scheme = self._fetch()
            self._token = (token, self.clock() + max(lifetime - RENEW_BEFORE, lifetime / 2), scheme)
            return token, scheme

    def forget(self, token: str) -> None:
        """Drop ``token`` (the resource server refused it); the next :meth:`bearer` fetches a new one."""
        with self._lock:
            if self._token is not None and self._token[0] == token:
                self._token = None

    def _fetch(self, retried: bool = False) -> tuple[str, float, str]:
        self.fetches += 1
        url = self.credentials.token_url
        form, headers = self.credentials.request(time.time())
        if self.dpop is not None:
            headers["DPoP"] = self.dpop.proof("POST", url)
        body = urllib.parse.urlencode(form).encode("ascii")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                self._keep_nonce(url, answer.headers.get("DPoP-Nonce"))
                text = answer.read(MAX_TOKEN_ANSWER)
        except urllib.error.HTTPError as exc:
            error, reason = _oauth_error(exc)
            nonce = exc.headers.get("DPoP-Nonce")
            if error == "use_dpop_nonce" and nonce and self.dpop is not None and not retried:
                self.dpop.remember_nonce(url, nonce)  # the endpoint wants its nonce in the proof: once more
                return self._fetch(retried=True)
            raise TokenError(f"the token endpoint {url} refused the client ({exc.code}): {reason}") from None
        except (OSError, ValueError) as exc:
            raise TokenError(f"the token endpoint {url} could not be reached: {exc}") from None
        return _token_of(text, url, dpop=self.dpop is not None)

    def _keep_nonce(self, url: str, nonce: str | None) -> None:
        if nonce and self.dpop is not None:
            self.dpop.remember_nonce(url, nonce)

    def resource_answered(self, url: str, nonce: str | None) -> None:
        """Keep the ``DPoP-Nonce`` a resource server sent with an answer, for the next proofs to it."""
        self._keep_nonce(url, nonce)


def _oauth_error(exc: urllib.error.HTTPError) -> tuple[str, str]:
    """The ``error`` code of an RFC 6749 section 5.2 error answer and ``error: error_description`` for a
    message ('' and the HTTP reason for another answer)."""
    try:
        document = json.loads(exc.read(MAX_TOKEN_ANSWER))
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        description = document.get("error_description")
        error = document["error"]
        return error, error + (f": {description}" if isinstance(description, str) else "")
    return "", str(exc.reason)


def _token_of(text: bytes, url: str, *, dpop: bool = False) -> tuple[str, float, str]:
    """The access token, its lifetime in seconds and its scheme (``Bearer``, or ``DPoP`` when the client
    asked for a bound one) from a token endpoint's answer (RFC 6749 section 5.1, RFC 9449 section 5)."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("access_token"), str):
        raise TokenError(f"the token endpoint {url} answered without an access_token")
    kind = document.get("token_type")
    schemes = {"bearer": "Bearer", "dpop": "DPoP"} if dpop else {"bearer": "Bearer"}
    scheme = schemes.get(kind.lower()) if isinstance(kind, str) else None
    if scheme is None:
        wanted = "Bearer or DPoP tokens" if dpop else "Bearer tokens (set CDR_FHIR_TERMINOLOGY_DPOP for DPoP)"
        raise TokenError(f"the token endpoint {url} issued a {kind!r} token; only {wanted} are sent")
    lifetime = document.get("expires_in")
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)
    if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME
    return document["access_token"], float(lifetime), scheme


# ------------------------------------------------------------------------------------------- the key file

_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def load_signing_key(path: Path) -> SigningKey:
    """The private key in ``path``: a PEM file (PKCS#8 or traditional, unencrypted) or a JWK, alone or as
    the one private key of a key set (HelseID's self-service hands keys out as JWKs). The algorithm is the
    JWK's ``alg`` or follows from the key: RS256 for RSA, ES256/384/512 by the EC curve.
    :class:`ValueError` saying what is wrong with the file."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"{"):
        return _from_jwk(json.loads(data))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} holds neither a JWK nor an unencrypted PEM private key ({exc})") from None
    return SigningKey(key, _algorithm_of(key))


def _from_jwk(document: Any) -> SigningKey:
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        private = [k for k in document["keys"] if isinstance(k, dict) and "d" in k]
        if len(private) != 1:
            raise ValueError(f"the key set holds {len(private)} private keys; name a file with exactly one")
        document = private[0]
    if not isinstance(document, dict) or "d" not in document:
        raise ValueError("the JWK is not a private key (it has no 'd')")
    kty = document.get("kty")
    text = json.dumps(document)
    if kty == "RSA":
        key: Any = jwt.algorithms.RSAAlgorithm.from_jwk(text)
    elif kty == "EC":
        key = jwt.algorithms.ECAlgorithm.from_jwk(text)
    else:
        raise ValueError(f"a JWK of type {kty!r} cannot sign a client assertion (RSA or EC)")
    declared = document.get("alg")
    kid = document.get("kid")
    return SigningKey(
        key,
        declared if isinstance(declared, str) and declared else _algorithm_of(key),
        kid if isinstance(kid, str) and kid else None,
    )


def _algorithm_of(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGORITHMS:
        return _EC_ALGORITHMS[key.curve.name]
    raise ValueError(f"a {type(key).__name__} cannot sign a client assertion (RSA, or EC on P-256/384/521)")
