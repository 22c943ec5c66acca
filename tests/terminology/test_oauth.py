"""A terminology server behind OAuth 2.0 (cdr.terminology.oauth): tokens by the client credentials grant,
the client known by a secret or by a private_key_jwt assertion (HelseID's way), kept until shortly before
they expire and renewed after a 401; and the settings that configure it (cdr.api.config), refused whole
at start-up when they cannot work. Against the test token endpoint of :mod:`.oauth_mock` over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cdr.api.config import external_terminology, load
from cdr.errors import SettingsError
from cdr.terminology.fhir import FhirBinding, FhirError, FhirTerminologyServer
from cdr.terminology.oauth import (
    ASSERTION_LIFETIME,
    ClientCredentials,
    SigningKey,
    TokenError,
    TokenSource,
    load_signing_key,
)
from tests.terminology.fhir_mock import FDI_SURFACE, SURFACE_VALUE_SET, FhirMock, running
from tests.terminology.oauth_mock import TokenEndpoint

SURFACE = FhirBinding("ValueSet", SURFACE_VALUE_SET)
SECRET = "s3cret: with a colon, & and +"  # characters that client_secret_basic must form-encode
HELSEID_ISSUER = "https://helseid-sts.test.nhn.no"


class Clock:
    """A monotonic clock moved on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _rsa_jwk(kid: str = "cdr-terminology-2026") -> tuple[dict[str, Any], Any]:
    """A new RSA private key as a JWK (as HelseID's self-service hands it out) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.update(kid=kid, alg="RS256", use="sig")
    return jwk, key.public_key()


def _server(
    mock: FhirMock, credentials: ClientCredentials, clock: Clock | None = None
) -> FhirTerminologyServer:
    tokens = TokenSource(credentials, clock=clock or Clock())
    return FhirTerminologyServer(mock.base_url, ttl=0, pause=0, tokens=tokens)


def test_a_secret_client_gets_one_token_and_sends_it_with_every_request() -> None:
    with running(FhirMock(oauth=TokenEndpoint("cdr", secret=SECRET))) as mock:
        assert mock.oauth is not None
        server = _server(mock, ClientCredentials(mock.oauth.url, "cdr", secret=SECRET, scope="fhir:read"))
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        assert server.validate_code(SURFACE, FDI_SURFACE, "X").valid is False
        assert server.expand({"url": SURFACE_VALUE_SET})
        assert server.tokens is not None and server.tokens.fetches == 1
        assert mock.oauth.issued == ["token-1"]
        assert mock.oauth.scopes == ["fhir:read"]


def test_without_a_token_the_server_refuses_and_the_code_is_not_judged() -> None:
    with running(FhirMock(oauth=TokenEndpoint("cdr", secret=SECRET))) as mock:
        verdict = FhirTerminologyServer(mock.base_url, pause=0).validate_code(SURFACE, FDI_SURFACE, "M")
        assert verdict.valid is None
        assert "401" in verdict.message


def test_a_private_key_jwt_client_signs_a_fresh_assertion_for_each_token(tmp_path: Path) -> None:
    jwk, public = _rsa_jwk()
    key_file = tmp_path / "helseid-client.jwk.json"
    key_file.write_text(json.dumps(jwk))
    endpoint = TokenEndpoint("cdr-kommune", public_key=public, audience=HELSEID_ISSUER, expires_in=120)
    clock = Clock()
    with running(FhirMock(oauth=endpoint)) as mock:
        credentials = ClientCredentials(
            endpoint.url, "cdr-kommune", signing_key=load_signing_key(key_file), audience=HELSEID_ISSUER
        )
        server = _server(mock, credentials, clock)
        assert server.validate_code(SURFACE, FDI_SURFACE, "MO").valid is True
        clock.now += 120  # expired: a new token, with a new assertion
        assert server.validate_code(SURFACE, FDI_SURFACE, "MO").valid is True
    first, second = endpoint.assertions
    assert first["iss"] == first["sub"] == "cdr-kommune"
    assert first["aud"] == HELSEID_ISSUER
    assert first["kid"] == "cdr-terminology-2026"
    assert first["exp"] - first["iat"] == ASSERTION_LIFETIME
    assert first["jti"] != second["jti"]
    assert endpoint.issued == ["token-1", "token-2"]


def test_an_ec_key_in_pem_signs_es256_and_the_assertion_names_the_token_endpoint(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "client.pem"
    key_file.write_bytes(pem)
    signing_key = load_signing_key(key_file)
    assert signing_key.algorithm == "ES256"
    endpoint = TokenEndpoint("cdr", public_key=key.public_key())
    with running(FhirMock(oauth=endpoint)) as mock:
        server = _server(mock, ClientCredentials(endpoint.url, "cdr", signing_key=signing_key))
        assert server.validate_code(SURFACE, FDI_SURFACE, "D").valid is True
    assert endpoint.assertions[0]["aud"] == endpoint.url


def test_a_token_is_renewed_before_it_expires_not_on_every_request() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, expires_in=300)
    clock = Clock()
    with running(FhirMock(oauth=endpoint)) as mock:
        server = _server(mock, ClientCredentials(endpoint.url, "cdr", secret=SECRET), clock)
        server.validate_code(SURFACE, FDI_SURFACE, "M")
        clock.now += 269  # 31 s left: still sent
        server.validate_code(SURFACE, FDI_SURFACE, "M")
        assert endpoint.issued == ["token-1"]
        clock.now += 2  # 29 s left: renewed first
        server.validate_code(SURFACE, FDI_SURFACE, "M")
        assert endpoint.issued == ["token-1", "token-2"]


def test_a_token_the_server_stops_accepting_is_replaced_once() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET)
    with running(FhirMock(oauth=endpoint)) as mock:
        server = _server(mock, ClientCredentials(endpoint.url, "cdr", secret=SECRET))
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        endpoint.revoked.add("token-1")
        assert server.validate_code(SURFACE, FDI_SURFACE, "O").valid is True  # 401, new token, answer
        assert endpoint.issued == ["token-1", "token-2"]
        # a server that refuses every token is asked twice, not in a loop
        endpoint.revoked.update({"token-2", "token-3"})
        before = len(mock.requests)
        verdict = server.validate_code(SURFACE, FDI_SURFACE, "B")
        assert verdict.valid is None and "401" in verdict.message
        assert len(mock.requests) - before == 2


def test_a_refused_client_or_an_unreachable_token_endpoint_leaves_codes_unjudged() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET)
    with running(FhirMock(oauth=endpoint)) as mock:
        wrong = _server(mock, ClientCredentials(endpoint.url, "cdr", secret="guess"))
        verdict = wrong.validate_code(SURFACE, FDI_SURFACE, "M")
        assert verdict.valid is None
        assert "no access token for the terminology server" in verdict.message
        assert "invalid_client: wrong client id or secret" in verdict.message
        # an AQL operation: the server is unavailable (503), not the query wrong (400)
        with pytest.raises(FhirError) as raised:
            wrong.expand({"url": SURFACE_VALUE_SET})
        assert not raised.value.refused
        assert mock.requests == []  # nothing reached the FHIR server without a token
        gone = _server(mock, ClientCredentials("http://127.0.0.1:9/token", "cdr", secret=SECRET))
        assert "could not be reached" in gone.validate_code(SURFACE, FDI_SURFACE, "M").message


@pytest.mark.parametrize(
    ("token_type", "expires_in", "problem"),
    [("DPoP", 3600, "only Bearer tokens"), ("bearer", None, "")],
)
def test_what_a_token_answer_must_hold(token_type: str, expires_in: int | None, problem: str) -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, token_type=token_type, expires_in=expires_in)
    clock = Clock()
    with running(FhirMock(oauth=endpoint)):
        tokens = TokenSource(ClientCredentials(endpoint.url, "cdr", secret=SECRET), clock=clock)
        if problem:
            with pytest.raises(TokenError, match=problem):
                tokens.bearer()
            return
        assert tokens.bearer() == "token-1"  # no expires_in: kept a short while only
        clock.now += 31
        assert tokens.bearer() == "token-2"


# --------------------------------------------------------------------------------------------- settings


def _settings(**values: Any) -> dict[str, Any]:
    base = {"FHIR_TERMINOLOGY_URL": "https://terminologi.example.no/fhir"}
    return load({**base, **values})


def test_settings_build_an_oauth_client_for_the_terminology_server(tmp_path: Path) -> None:
    jwk, _ = _rsa_jwk()
    key_file = tmp_path / "client.json"
    key_file.write_text(json.dumps({"keys": [jwk]}))  # a key set holding the one private key
    terminology = external_terminology(
        _settings(
            FHIR_TERMINOLOGY_TOKEN_URL=f"{HELSEID_ISSUER}/connect/token",
            FHIR_TERMINOLOGY_CLIENT_ID="cdr-kommune",
            FHIR_TERMINOLOGY_CLIENT_KEY=str(key_file),
            FHIR_TERMINOLOGY_SCOPE="nhn:terminologi/read",
            FHIR_TERMINOLOGY_ASSERTION_AUDIENCE=HELSEID_ISSUER,
            FHIR_TERMINOLOGY_TIMEOUT_MS=2500,
        )
    )
    assert terminology is not None
    tokens = terminology.server.tokens
    assert tokens is not None
    assert tokens.timeout == 2.5
    credentials = tokens.credentials
    assert credentials.client_id == "cdr-kommune" and credentials.secret is None
    assert credentials.signing_key is not None and credentials.signing_key.key_id == "cdr-terminology-2026"
    assert credentials.scope == "nhn:terminologi/read" and credentials.audience == HELSEID_ISSUER
    # without a token endpoint requests carry no token
    plain = external_terminology(_settings())
    assert plain is not None and plain.server.tokens is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"FHIR_TERMINOLOGY_CLIENT_ID": "cdr"}, "CDR_FHIR_TERMINOLOGY_CLIENT_ID is set but"),
        (
            {"FHIR_TERMINOLOGY_URL": "", "FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token"},
            "CDR_FHIR_TERMINOLOGY_URL is not",
        ),
        ({"FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token"}, "needs CDR_FHIR_TERMINOLOGY_CLIENT_ID"),
        (
            {"FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token", "FHIR_TERMINOLOGY_CLIENT_ID": "cdr"},
            "exactly one of",
        ),
        (
            {
                "FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token",
                "FHIR_TERMINOLOGY_CLIENT_ID": "cdr",
                "FHIR_TERMINOLOGY_CLIENT_SECRET": "x",
                "FHIR_TERMINOLOGY_CLIENT_KEY": "key.pem",
            },
            "exactly one of",
        ),
        (
            {
                "FHIR_TERMINOLOGY_TOKEN_URL": "http://idp.example.no/token",
                "FHIR_TERMINOLOGY_CLIENT_ID": "cdr",
                "FHIR_TERMINOLOGY_CLIENT_SECRET": "x",
            },
            "TOKEN_URL http://idp.example.no/token is not https",
        ),
        (
            {
                "FHIR_TERMINOLOGY_URL": "http://terminologi.example.no/fhir",
                "FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token",
                "FHIR_TERMINOLOGY_CLIENT_ID": "cdr",
                "FHIR_TERMINOLOGY_CLIENT_SECRET": "x",
            },
            "URL http://terminologi.example.no/fhir is not https",
        ),
        (
            {
                "FHIR_TERMINOLOGY_TOKEN_URL": "https://idp/token",
                "FHIR_TERMINOLOGY_CLIENT_ID": "cdr",
                "FHIR_TERMINOLOGY_CLIENT_KEY": "/nonexistent/key.pem",
            },
            "CDR_FHIR_TERMINOLOGY_CLIENT_KEY: ",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_whole(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        external_terminology(_settings(**values))


def test_key_files_that_cannot_sign_are_refused_saying_why(tmp_path: Path) -> None:
    jwk, _ = _rsa_jwk()
    public_only = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
    cases = {
        "public.json": (json.dumps(public_only), "not a private key"),
        "two.json": (json.dumps({"keys": [jwk, _rsa_jwk("b")[0]]}), "holds 2 private keys"),
        "oct.json": (json.dumps({"kty": "oct", "k": "c2VjcmV0", "d": "x"}), "cannot sign"),
        "junk.pem": ("not a key", "neither a JWK nor"),
    }
    for name, (text, problem) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match=problem):
            load_signing_key(path)


def test_a_signing_key_is_what_the_assertion_is_verified_with() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    credentials = ClientCredentials("https://idp/token", "cdr", signing_key=SigningKey(key, "RS256", "k1"))
    form, headers = credentials.request(1_900_000_000.0)
    assert "Authorization" not in headers
    assert form["client_id"] == "cdr" and form["grant_type"] == "client_credentials"
    claims = jwt.decode(
        form["client_assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://idp/token",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["iss"] == "cdr" and claims["exp"] == 1_900_000_000 + ASSERTION_LIFETIME


def test_the_secret_and_the_key_stay_out_of_printed_settings() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = TokenSource(ClientCredentials("https://idp/token", "cdr", secret="hunter2"))
    signed = ClientCredentials("https://idp/token", "cdr", signing_key=SigningKey(key, "RS256", "k1"))
    assert "hunter2" not in repr(tokens) and "cdr" in repr(tokens)
    assert "RSAPrivateKey" not in repr(signed) and "_RSAPrivateKey" not in repr(SigningKey(key, "RS256"))
