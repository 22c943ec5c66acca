"""DPoP-bound tokens (RFC 9449) for a terminology server behind HelseID (cdr.terminology.dpop): the token is
asked for with a proof of the client's own key, every FHIR request carries a new proof for its method, URL
and token, and a nonce a server asks for is sent; against the token endpoint and FHIR server of the test
mocks, which check each proof as RFC 9449 requires."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from cdr.api.config import external_terminology, load
from cdr.errors import SettingsError
from cdr.terminology.dpop import DpopKey, target_uri, thumbprint, token_hash
from cdr.terminology.fhir import FhirBinding, FhirTerminologyServer
from cdr.terminology.oauth import ClientCredentials, TokenError, TokenSource
from tests.terminology.fhir_mock import FDI_SURFACE, SURFACE_VALUE_SET, FhirMock, running
from tests.terminology.oauth_mock import TokenEndpoint

SURFACE = FhirBinding("ValueSet", SURFACE_VALUE_SET)
SECRET = "s3cret"


def _server(endpoint: TokenEndpoint, mock: FhirMock, dpop: DpopKey | None) -> FhirTerminologyServer:
    tokens = TokenSource(ClientCredentials(endpoint.url, "cdr", secret=SECRET), dpop=dpop)
    return FhirTerminologyServer(mock.base_url, ttl=0, pause=0, tokens=tokens)


def test_a_dpop_bound_token_is_used_with_a_new_proof_on_every_request() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, dpop=True)
    key = DpopKey()
    with running(FhirMock(oauth=endpoint)) as mock:
        server = _server(endpoint, mock, key)
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        assert server.validate_code(SURFACE, FDI_SURFACE, "X").valid is False
    token_proof, *request_proofs = endpoint.proofs
    assert endpoint.bound == {"token-1": key.thumbprint}  # the token is bound to the client's key
    assert token_proof["htm"] == "POST" and token_proof["htu"] == endpoint.url and "ath" not in token_proof
    assert [p["htm"] for p in request_proofs] == ["GET", "GET"]
    assert all(p["htu"] == f"{mock.base_url}/ValueSet/$validate-code" for p in request_proofs)
    assert all(p["ath"] == token_hash("token-1") for p in request_proofs)
    assert len({p["jti"] for p in endpoint.proofs}) == 3


def test_nonces_the_servers_ask_for_are_sent() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, dpop=True, nonce="n-token", resource_nonce="n-fhir")
    with running(FhirMock(oauth=endpoint)) as mock:
        server = _server(endpoint, mock, DpopKey())
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        assert server.validate_code(SURFACE, FDI_SURFACE, "O").valid is True
    token_proof, first, second = endpoint.proofs
    assert token_proof["nonce"] == "n-token"
    assert first["nonce"] == second["nonce"] == "n-fhir"
    assert endpoint.issued == ["token-1"]  # a nonce asked for is not a reason to drop the token


def test_without_the_key_or_with_another_one_the_token_is_useless() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, dpop=True)
    with running(FhirMock(oauth=endpoint)) as mock:
        tokens = TokenSource(ClientCredentials(endpoint.url, "cdr", secret=SECRET), dpop=DpopKey())
        token, headers = tokens.authorization("GET", f"{mock.base_url}/metadata")
        assert headers["Authorization"] == f"DPoP {token}"
        stolen = FhirTerminologyServer(mock.base_url, pause=0)  # the token without the key
        thief = TokenSource(ClientCredentials(endpoint.url, "cdr", secret="guess"), dpop=DpopKey())
        thief._token = (token, float("inf"), "DPoP")  # the token with another key's proofs
        other = FhirTerminologyServer(mock.base_url, pause=0, tokens=thief)
        assert stolen.validate_code(SURFACE, FDI_SURFACE, "M").valid is None
        refused = other.validate_code(SURFACE, FDI_SURFACE, "M")
        assert refused.valid is None and "invalid_client" in refused.message  # 401, then no new token


def test_a_bearer_only_client_refuses_a_dpop_token_and_says_how_to_take_it() -> None:
    endpoint = TokenEndpoint("cdr", secret=SECRET, token_type="DPoP")
    with running(FhirMock(oauth=endpoint)):
        tokens = TokenSource(ClientCredentials(endpoint.url, "cdr", secret=SECRET))
        with pytest.raises(TokenError, match="set CDR_FHIR_TERMINOLOGY_DPOP"):
            tokens.bearer()


def test_a_proof_names_method_url_without_query_time_and_token() -> None:
    key = DpopKey()
    proof = key.proof("GET", "https://fhir.example.no/fhir/ValueSet/$expand?url=x#f", "tok")
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"] and thumbprint(header["jwk"]) == key.thumbprint
    public = jwt.algorithms.ECAlgorithm.from_jwk(header["jwk"])
    claims: dict[str, Any] = jwt.decode(proof, public, algorithms=["ES256"])
    assert claims["htu"] == "https://fhir.example.no/fhir/ValueSet/$expand" == target_uri(claims["htu"])
    assert claims["htm"] == "GET" and claims["ath"] == token_hash("tok") and "nonce" not in claims
    assert "DpopKey(thumbprint=" in repr(key)


def test_the_setting_asks_for_dpop_and_needs_a_token_endpoint() -> None:
    base = {"FHIR_TERMINOLOGY_URL": "https://terminologi.example.no/fhir", "FHIR_TERMINOLOGY_DPOP": True}
    with pytest.raises(SettingsError, match="CDR_FHIR_TERMINOLOGY_DPOP is set but"):
        external_terminology(load(base))
    terminology = external_terminology(
        load(
            {
                **base,
                "FHIR_TERMINOLOGY_TOKEN_URL": "https://helseid-sts.nhn.no/connect/token",
                "FHIR_TERMINOLOGY_CLIENT_ID": "cdr",
                "FHIR_TERMINOLOGY_CLIENT_SECRET": "x",
            }
        )
    )
    assert terminology is not None and terminology.server.tokens is not None
    assert isinstance(terminology.server.tokens.dpop, DpopKey)
