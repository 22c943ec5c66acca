"""Keys, key sets and token minting for the authentication tests: fresh keys per session, none shipped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cdr.security import AuthConfig
from tests.local_server import serving

ISSUER = "https://helseid-sts.test.nhn.no"
AUDIENCE = "kommune:cdr"


@dataclass(frozen=True)
class SigningKey:
    """A private key, the kid it is published under, and the algorithm it signs with."""

    private: Any
    kid: str
    alg: str

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if self.alg.startswith("RS") else jwt.algorithms.ECAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


def claims(**overrides: Any) -> dict[str, Any]:
    """Registered claims of a token valid now for this API; ``None`` values remove a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "sub": "u9e7Tbq2Yk",
        "client_id": "kommune-ehr-client",
        "scope": ["cdr/ehr.read", "cdr/query"],
        "jti": "6e3b1c2a",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-1", "RS256")


@pytest.fixture(scope="session")
def rsa_key_2() -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-2", "RS256")


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP256R1()), "ec-1", "ES256")


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_key: SigningKey, ec_key: SigningKey) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(rsa_key, ec_key)), encoding="utf-8")
    return path


@pytest.fixture
def file_config(jwks_file: Path) -> AuthConfig:
    return AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=jwks_file)


@dataclass
class JwksServer:
    """A JWKS endpoint on loopback whose key set the test can change; counts the GETs it answered."""

    url: str
    document: dict[str, Any]
    requests: int = 0
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def jwks_server(rsa_key: SigningKey) -> Iterator[JwksServer]:
    state = JwksServer(url="", document=jwks(rsa_key))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.requests += 1
                body = json.dumps(state.document).encode()
                status = state.status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/openid-configuration/jwks"
    with serving(server):
        yield state
