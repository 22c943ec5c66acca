"""DPoP (RFC 9449): access tokens bound to a key the client proves it holds, on every request.

HelseID issues DPoP-bound tokens, and Norsk Helsenett's APIs require them: a stolen token is useless without
the key. The client makes an EC P-256 key of its own (one per process, never stored: a token bound to it
lives minutes), sends its public half in a signed proof with the token request, and signs a new proof for
each request that carries the token (``DPoP`` header: the method, the URL without query, the time, a unique
``jti`` and a hash of the token). A server may ask for a nonce of its own in the proofs
(``use_dpop_nonce`` with a ``DPoP-Nonce`` header); the last nonce each server gave is kept and sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.parse
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

PROOF_TYPE = "dpop+jwt"
ALGORITHM = "ES256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict[str, Any]) -> str:
    """The JWK thumbprint of an EC public key (RFC 7638): SHA-256 over its required members, in order.

    >>> thumbprint({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "kid": "ignored"})
    'RDgNRYDb79jbk-P-ajJnMZumfDir5astRaQ6H-xiOCM'
    """
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _b64url(hashlib.sha256(canonical).digest())


def token_hash(access_token: str) -> str:
    """``ath``: the base64url SHA-256 of the access token a proof goes with."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def target_uri(url: str) -> str:
    """``htu``: the request URL without its query and fragment."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class DpopKey:
    """The client's proof-of-possession key, with the nonces servers asked for (safe across threads)."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        self.public_jwk = {name: public[name] for name in ("kty", "crv", "x", "y")}
        self.thumbprint = thumbprint(self.public_jwk)
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DpopKey(thumbprint={self.thumbprint!r})"

    def remember_nonce(self, url: str, nonce: str) -> None:
        """Keep the nonce the server at ``url`` gave, for the next proofs sent to it."""
        with self._lock:
            self._nonces[_origin(url)] = nonce

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        """A new proof for ``method url`` (with ``access_token``'s hash when one goes with it)."""
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": target_uri(url),
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        with self._lock:
            nonce = self._nonces.get(_origin(url))
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": PROOF_TYPE, "jwk": self.public_jwk}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers=headers)
