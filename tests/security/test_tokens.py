"""Bearer tokens: what is accepted, and every way a forged, stale or misdirected token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from cdr.security import AuthConfig, AuthConfigError, AuthUnavailable, Unauthenticated, authenticate
from cdr.security.tokens import verify_token
from tests.security.conftest import AUDIENCE, ISSUER, JwksServer, SigningKey, claims, jwks


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(token: str, config: AuthConfig, reason: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated, match=reason) as info:
        verify_token(token, config)
    assert info.value.error == "invalid_token"
    return info.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A compact JWS built without PyJWT, so that the tests can make what a library would refuse to."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


# --- accepted ------------------------------------------------------------------------------------------


def test_rsa_and_ec_tokens_from_a_jwks_file(
    file_config: AuthConfig, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    for key in (rsa_key, ec_key):
        principal = authenticate(bearer(key.sign(claims())), file_config)
        assert principal.subject == "u9e7Tbq2Yk"
        assert principal.scopes == {"cdr/ehr.read", "cdr/query"}


def test_clock_skew_within_the_leeway_is_tolerated(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    now = int(time.time())
    assert verify_token(rsa_key.sign(claims(exp=now - 10)), file_config)["sub"] == "u9e7Tbq2Yk"
    assert verify_token(rsa_key.sign(claims(nbf=now + 10, iat=now + 10)), file_config)["sub"] == "u9e7Tbq2Yk"


def test_token_without_kid_when_one_key_fits(tmp_path: Path, rsa_key: SigningKey) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(jwks(rsa_key)))
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=path)
    token = jwt.encode(claims(), rsa_key.private, algorithm="RS256")
    assert verify_token(token, config)["iss"] == ISSUER


def test_one_of_several_audiences(jwks_file: Path, rsa_key: SigningKey) -> None:
    config = AuthConfig.load(issuer=ISSUER, audience=["other-api", AUDIENCE], jwks_file=jwks_file)
    assert verify_token(rsa_key.sign(claims(aud=[AUDIENCE, "x"])), config)["aud"] == [AUDIENCE, "x"]


def test_hmac_only_when_configured_with_its_own_secret(jwks_file: Path, rsa_key: SigningKey) -> None:
    secret = "a-shared-development-secret-of-32+bytes"
    config = AuthConfig.load(
        issuer=ISSUER,
        audience=[AUDIENCE],
        jwks_file=jwks_file,
        algorithms=["RS256", "HS256"],
        hmac_secret=secret,
    )
    assert verify_token(jwt.encode(claims(), secret, algorithm="HS256"), config)["sub"] == "u9e7Tbq2Yk"
    assert verify_token(rsa_key.sign(claims()), config)["sub"] == "u9e7Tbq2Yk"


# --- refused -------------------------------------------------------------------------------------------


def test_expired(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    refused(rsa_key.sign(claims(exp=int(time.time()) - 120)), file_config, "expired")


def test_not_yet_valid(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    refused(rsa_key.sign(claims(nbf=int(time.time()) + 120)), file_config, "not valid yet")
    refused(rsa_key.sign(claims(iat=int(time.time()) + 120, nbf=None)), file_config, "not valid yet")


def test_wrong_audience_and_issuer(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    refused(rsa_key.sign(claims(aud="nhn:another-api")), file_config, "not meant for this API")
    refused(rsa_key.sign(claims(iss="https://evil.example")), file_config, "issuer")


@pytest.mark.parametrize("missing", ["exp", "iss", "aud"])
def test_registered_claims_are_required(file_config: AuthConfig, rsa_key: SigningKey, missing: str) -> None:
    refused(rsa_key.sign(claims(**{missing: None})), file_config, f"required claim {missing}")


def test_configured_required_claims(jwks_file: Path, rsa_key: SigningKey) -> None:
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=jwks_file, required_claims=["jti"])
    refused(rsa_key.sign(claims(jti=None)), config, "required claim jti")


def test_unsigned_tokens(file_config: AuthConfig) -> None:
    refused(hand_made({"alg": "none", "typ": "JWT"}, claims(), None), file_config, "'none' are not accepted")
    refused(jwt.encode(claims(), "", algorithm="none"), file_config, "'none' are not accepted")
    refused(hand_made({"typ": "JWT"}, claims(), None), file_config, "None are not accepted")


def test_alg_none_cannot_be_configured(jwks_file: Path) -> None:
    with pytest.raises(AuthConfigError, match="alg none"):
        AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=jwks_file, algorithms=["RS256", "none"])


def test_hmac_signed_with_the_public_key(
    jwks_file: Path, file_config: AuthConfig, rsa_key: SigningKey
) -> None:
    """The classic key confusion: an attacker signs HS256 with the published RSA public key as secret."""
    public_pem = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}
    forged = hand_made(header, claims(), public_pem)
    refused(forged, file_config, "'HS256' are not accepted")
    # Even where HS256 is accepted, its key is the configured secret, never a JWKS key.
    config = AuthConfig.load(
        issuer=ISSUER,
        audience=[AUDIENCE],
        jwks_file=jwks_file,
        algorithms=["RS256", "HS256"],
        hmac_secret="a-shared-development-secret-of-32+bytes",
    )
    refused(forged, config, "signature does not verify")


def test_symmetric_keys_in_a_jwks_are_ignored(tmp_path: Path) -> None:
    secret = b"published-by-mistake-published-by-mistake"
    path = tmp_path / "oct.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "k", "k": b64(secret), "alg": "HS256"}]}))
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=path, algorithms=["RS256"])
    token = hand_made({"alg": "RS256", "kid": "k"}, claims(), secret)
    refused(token, config, "key this server does not know")


def test_unknown_kid(file_config: AuthConfig, rsa_key_2: SigningKey) -> None:
    refused(rsa_key_2.sign(claims()), file_config, "kid 'rsa-2'")


def test_a_known_kid_with_another_key(
    file_config: AuthConfig, rsa_key_2: SigningKey, rsa_key: SigningKey
) -> None:
    impostor = SigningKey(rsa_key_2.private, rsa_key.kid, "RS256")
    refused(impostor.sign(claims()), file_config, "signature does not verify")


def test_kid_of_a_key_of_another_type(
    file_config: AuthConfig, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    """A token claiming RS256 under the EC key's kid finds no RSA key to verify with."""
    disguised = SigningKey(rsa_key.private, ec_key.kid, "RS256")
    refused(disguised.sign(claims()), file_config, "key this server does not know")


def test_tampered_payload(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    header, _, signature = rsa_key.sign(claims()).split(".")
    payload = b64(json.dumps(claims(sub="someone-else", scope="cdr/admin")).encode())
    refused(f"{header}.{payload}.{signature}", file_config, "signature does not verify")


def test_no_kid_with_several_candidate_keys(
    tmp_path: Path, rsa_key: SigningKey, rsa_key_2: SigningKey
) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps(jwks(rsa_key, rsa_key_2)))
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=path)
    refused(jwt.encode(claims(), rsa_key.private, algorithm="RS256"), config, "several keys")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "e30.e30", "😀.😀.😀"])
def test_malformed(file_config: AuthConfig, token: str) -> None:
    refused(token, file_config, "well-formed|header")


def test_oversized(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    refused(rsa_key.sign(claims(padding="x" * 20000)), file_config, "too large")


def test_critical_header_parameters(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    """RFC 7515: a token whose ``crit`` names extensions we do not process must be refused (PyJWT does)."""
    refused(rsa_key.sign(claims(), crit=["exp"]), file_config, "well-formed")
    refused(rsa_key.sign(claims(), crit=["b64"], b64=True), file_config, "well-formed")


def test_token_type_when_required(jwks_file: Path, rsa_key: SigningKey) -> None:
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=jwks_file, token_type="at+jwt")
    assert verify_token(rsa_key.sign(claims(), typ="at+jwt"), config)
    refused(rsa_key.sign(claims(), typ="JWT"), config, "type must be at\\+jwt")


def test_wrong_claim_types_are_refused(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    with pytest.raises(Unauthenticated, match="wrong type"):
        authenticate(bearer(rsa_key.sign(claims(scope={"a": 1}))), file_config)
    with pytest.raises(Unauthenticated, match="wrong type"):
        authenticate(
            bearer(rsa_key.sign(claims(**{"helseid://claims/identity/pid": ["1", "2"]}))), file_config
        )


def test_missing_jwks_file_is_unavailable_not_unauthenticated(tmp_path: Path, rsa_key: SigningKey) -> None:
    config = AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_file=tmp_path / "absent.json")
    with pytest.raises(AuthUnavailable):
        verify_token(rsa_key.sign(claims()), config)


# --- keys from a URL -----------------------------------------------------------------------------------


def url_config(server: JwksServer, **extra: Any) -> AuthConfig:
    return AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_url=server.url, **extra)


def test_keys_from_an_http_endpoint_are_cached(jwks_server: JwksServer, rsa_key: SigningKey) -> None:
    config = url_config(jwks_server)
    for _ in range(3):
        assert authenticate(bearer(rsa_key.sign(claims())), config).subject == "u9e7Tbq2Yk"
    assert jwks_server.requests == 1


def test_key_rotation_by_kid(jwks_server: JwksServer, rsa_key: SigningKey, rsa_key_2: SigningKey) -> None:
    config = url_config(jwks_server, jwks_min_refresh_seconds=0)
    assert authenticate(bearer(rsa_key.sign(claims())), config)
    jwks_server.document = jwks(rsa_key_2)  # the provider rotates: old key gone, new kid published
    assert authenticate(bearer(rsa_key_2.sign(claims())), config)
    assert jwks_server.requests == 2
    # The retired key is no longer accepted once the new set has been fetched.
    with pytest.raises(Unauthenticated, match="kid 'rsa-1'"):
        authenticate(bearer(rsa_key.sign(claims())), config)


def test_endpoint_down_before_any_fetch(jwks_server: JwksServer, rsa_key: SigningKey) -> None:
    jwks_server.status = 500
    with pytest.raises(AuthUnavailable):
        authenticate(bearer(rsa_key.sign(claims())), url_config(jwks_server))


def test_plain_http_jwks_only_on_loopback() -> None:
    with pytest.raises(AuthConfigError, match="https"):
        AuthConfig.load(issuer=ISSUER, audience=[AUDIENCE], jwks_url="http://helseid.example/jwks")
