"""From headers to a Principal: HelseID claims, Basic users, the none mode, scopes, challenges, settings."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from cdr.security import (
    ApiArea,
    AuthConfig,
    AuthConfigError,
    AuthMethod,
    AuthMode,
    AuthUnavailable,
    BasicUser,
    Forbidden,
    ScopeNames,
    Unauthenticated,
    authenticate,
    check_auth_mode,
    require_scope,
)
from cdr.security.jwks import JwksUrl
from cdr.security.passwords import hash_password, verify_password
from tests.security.conftest import AUDIENCE, ISSUER, SigningKey, claims, jwks

# --- HelseID claims ------------------------------------------------------------------------------------

HELSEID_PERSON = {
    "helseid://claims/identity/pid": "13116900216",
    "helseid://claims/identity/security_level": "4",
    "helseid://claims/identity/assurance_level": "high",
    "helseid://claims/hpr/hpr_number": "565501872",
    "helseid://claims/client/client_name": "Kommunal journal",
    "helseid://claims/client/claims/orgnr_parent": "912159523",
    "helseid://claims/client/claims/orgnr_child": "922734046",
    "name": "Lege Legesen",
    "scope": "openid cdr/ehr.read cdr/ehr.write",
}


def test_a_helseid_user_token(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    token = rsa_key.sign(claims(**HELSEID_PERSON))
    principal = authenticate({"authorization": f"Bearer {token}"}, file_config)
    assert principal.auth_method is AuthMethod.BEARER
    assert principal.issuer == ISSUER
    assert (principal.pid, principal.hpr_number, principal.name) == (
        "13116900216",
        "565501872",
        "Lege Legesen",
    )
    assert (principal.security_level, principal.assurance_level) == (4, "high")
    assert (principal.orgnr_parent, principal.orgnr_child, principal.organisation) == (
        "912159523",
        "922734046",
        "922734046",
    )
    assert (principal.client_id, principal.client_name) == ("kommune-ehr-client", "Kommunal journal")
    assert principal.scopes == {"openid", "cdr/ehr.read", "cdr/ehr.write"}
    assert principal.is_person and principal.token_id == "6e3b1c2a"
    assert principal.expires_at is not None
    with pytest.raises(Exception, match="frozen"):
        principal.scopes = frozenset({"cdr/admin"})  # type: ignore[misc]


def test_a_machine_to_machine_token(file_config: AuthConfig, ec_key: SigningKey) -> None:
    token = ec_key.sign(claims(sub=None, **{"helseid://claims/client/claims/orgnr_parent": "912159523"}))
    principal = authenticate({"Authorization": f"Bearer {token}"}, file_config)
    assert principal.subject == "kommune-ehr-client"
    assert not principal.is_person and principal.organisation == "912159523"


def test_organisation_from_authorization_details(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    details = [
        {"type": "something_else"},
        {
            "type": "helseid_authorization",
            "practitioner_role": {
                "organization": {
                    "identifier": {
                        "system": "urn:oid:1.0.6523",
                        "type": "ENH",
                        "value": "NO:ORGNR:912159523:922734046",
                    }
                }
            },
        },
    ]
    principal = authenticate(
        {"Authorization": f"Bearer {rsa_key.sign(claims(authorization_details=details))}"}, file_config
    )
    assert (principal.orgnr_parent, principal.orgnr_child) == ("912159523", "922734046")


def test_a_token_naming_nobody(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    with pytest.raises(Unauthenticated, match="neither a subject"):
        authenticate(
            {"Authorization": f"Bearer {rsa_key.sign(claims(sub=None, client_id=None))}"}, file_config
        )


def test_security_level_must_be_a_number(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    token = rsa_key.sign(claims(**{"helseid://claims/identity/security_level": "high"}))
    with pytest.raises(Unauthenticated, match="security_level"):
        authenticate({"Authorization": f"Bearer {token}"}, file_config)


# --- scopes --------------------------------------------------------------------------------------------


def test_require_scope(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    principal = authenticate(
        {"Authorization": f"Bearer {rsa_key.sign(claims(**HELSEID_PERSON))}"}, file_config
    )
    require_scope(principal, ApiArea.READ)
    require_scope(principal, ApiArea.WRITE)
    for area in (ApiArea.QUERY, ApiArea.DEFINITION, ApiArea.ADMIN, ApiArea.PATIENT):
        with pytest.raises(Forbidden) as info:
            require_scope(principal, area)
        assert info.value.status == 403
        assert info.value.www_authenticate is not None
        assert 'error="insufficient_scope"' in info.value.www_authenticate
        assert f'scope="{ScopeNames().for_area(area)}"' in info.value.www_authenticate


def test_scope_names_are_configurable(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    names = ScopeNames(read="kommune:cdr/read")
    token = rsa_key.sign(claims(scope="kommune:cdr/read"))
    principal = authenticate({"Authorization": f"Bearer {token}"}, file_config)
    require_scope(principal, ApiArea.READ, names)
    with pytest.raises(Forbidden):
        require_scope(principal, ApiArea.READ)


def test_admin_does_not_imply_other_scopes(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    principal = authenticate(
        {"Authorization": f"Bearer {rsa_key.sign(claims(scope='cdr/admin'))}"}, file_config
    )
    require_scope(principal, ApiArea.ADMIN)
    with pytest.raises(Forbidden):
        require_scope(principal, ApiArea.READ)


# --- challenges ----------------------------------------------------------------------------------------


def test_no_credentials_gets_a_plain_challenge(file_config: AuthConfig) -> None:
    with pytest.raises(Unauthenticated) as info:
        authenticate({}, file_config)
    assert info.value.status == 401
    assert info.value.www_authenticate == 'Bearer realm="cdr"'


def test_an_invalid_token_gets_invalid_token(file_config: AuthConfig) -> None:
    with pytest.raises(Unauthenticated) as info:
        authenticate({"Authorization": "Bearer abc"}, file_config)
    assert info.value.www_authenticate == (
        'Bearer realm="cdr", error="invalid_token", error_description="the token is not a well-formed JWT"'
    )


def test_challenge_text_cannot_break_the_header() -> None:
    header = Unauthenticated('kid "x\\" injected\r\nSet-Cookie: a=b').www_authenticate
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 6


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Basic dXNlcjpwYXNz", "expects Bearer"),
        ("DPoP abc", "expects Bearer"),
        ("Bearer ", "authentication required|empty"),
        ("Bearer", "empty"),
    ],
)
def test_wrong_schemes(file_config: AuthConfig, value: str, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        authenticate({"Authorization": value}, file_config)


# --- Basic ---------------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def basic_config() -> AuthConfig:
    users = {
        "kari": BasicUser(
            password_hash=hash_password("s3cret:with colon", log2_n=4), scopes=frozenset({"cdr/query"})
        ),
        "ola": BasicUser(password_hash=hash_password("pw", log2_n=4), name="Ola Nordmann"),
    }
    return AuthConfig.load(mode="basic", basic_users=users)


def test_basic_users(basic_config: AuthConfig) -> None:
    kari = authenticate(basic("kari", "s3cret:with colon"), basic_config)
    assert (kari.subject, kari.auth_method, kari.scopes) == ("kari", AuthMethod.BASIC, {"cdr/query"})
    assert authenticate(basic("ola", "pw"), basic_config).name == "Ola Nordmann"


@pytest.mark.parametrize(
    "headers",
    [
        basic("kari", "wrong"),
        basic("kari", ""),
        basic("nobody", "s3cret:with colon"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
    ],
)
def test_basic_refusals(basic_config: AuthConfig, headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as info:
        authenticate(headers, basic_config)
    assert info.value.www_authenticate == 'Basic realm="cdr", charset="UTF-8"'


def test_basic_refuses_plaintext_passwords_in_configuration() -> None:
    with pytest.raises(AuthConfigError, match="never a plaintext password"):
        AuthConfig.load(mode="basic", basic_users={"kari": {"password_hash": "s3cret"}})


def test_password_hashes() -> None:
    stored = hash_password("correct horse", log2_n=4)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert hash_password("correct horse", log2_n=4) != stored  # salted
    assert not verify_password("x", "scrypt$4$8$1$!!$!!")
    assert not verify_password("x", "plaintext")


# --- the none mode -------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_none_mode_on_loopback(host: str) -> None:
    assert check_auth_mode("none", host) is AuthMode.NONE


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "cdr.kommune.no", "127.0.0.1.nip.io"])
def test_none_mode_elsewhere_is_refused(host: str) -> None:
    with pytest.raises(AuthConfigError, match="loopback"):
        check_auth_mode("none", host)


def test_other_modes_and_unknown_modes() -> None:
    assert check_auth_mode("JWT", "0.0.0.0") is AuthMode.JWT
    assert check_auth_mode("basic", "0.0.0.0") is AuthMode.BASIC
    with pytest.raises(AuthConfigError, match="expected one of"):
        check_auth_mode("off", "127.0.0.1")


def test_none_mode_principal_holds_every_scope() -> None:
    principal = authenticate({}, AuthConfig.load(mode="none"))
    assert principal.auth_method is AuthMethod.NONE
    for area in ApiArea:
        require_scope(principal, area)


# --- JWKS caching with a controlled clock --------------------------------------------------------------


class FakeProvider:
    """A JWKS fetch function and a clock the test moves by hand."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document: dict[str, Any] | None = document
        self.now = 1000.0
        self.fetches = 0

    def fetch(self, url: str, timeout: float) -> Any:
        self.fetches += 1
        if self.document is None:
            raise OSError("connection refused")
        return self.document

    def clock(self) -> float:
        return self.now


def test_unknown_kids_refetch_at_most_once_per_interval(rsa_key: SigningKey) -> None:
    provider = FakeProvider(jwks(rsa_key))
    source = JwksUrl("https://idp/jwks", min_refresh_seconds=30, fetch=provider.fetch, clock=provider.clock)
    assert source.key("rsa-1", "RS256") is not None
    provider.now += 31
    for kid in ("random-1", "random-2", "random-3"):
        with pytest.raises(Unauthenticated):
            source.key(kid, "RS256")
    assert provider.fetches == 2  # the first fetch, then one refetch for all three unknown kids


def test_cache_expiry_and_stale_keys(rsa_key: SigningKey) -> None:
    provider = FakeProvider(jwks(rsa_key))
    source = JwksUrl(
        "https://idp/jwks",
        cache_seconds=300,
        min_refresh_seconds=30,
        max_stale_seconds=600,
        fetch=provider.fetch,
        clock=provider.clock,
    )
    source.key("rsa-1", "RS256")
    provider.now += 299
    source.key("rsa-1", "RS256")
    assert provider.fetches == 1
    provider.now += 1
    source.key("rsa-1", "RS256")
    assert provider.fetches == 2
    provider.document = None  # the provider goes down: the keys we have stay usable for a while
    provider.now += 301
    assert source.key("rsa-1", "RS256") is not None
    provider.now += 600
    with pytest.raises(AuthUnavailable, match="stale"):
        source.key("rsa-1", "RS256")


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"audience": [AUDIENCE], "jwks_url": "https://idp/jwks"}, "issuer"),
        ({"issuer": ISSUER, "jwks_url": "https://idp/jwks"}, "audience"),
        ({"issuer": ISSUER, "audience": [AUDIENCE]}, "exactly one of"),
        (
            {"issuer": ISSUER, "audience": [AUDIENCE], "jwks_url": "https://i/j", "jwks_file": "j.json"},
            "exactly one of",
        ),
        (
            {"issuer": ISSUER, "audience": [AUDIENCE], "algorithms": ["HS256"], "hmac_secret": "short"},
            "32 bytes",
        ),
        (
            {"issuer": ISSUER, "audience": [AUDIENCE], "jwks_url": "https://i/j", "algorithms": ["XS1"]},
            "unknown",
        ),
        (
            {"issuer": ISSUER, "audience": [AUDIENCE], "jwks_url": "https://i/j", "leeway_seconds": 3600},
            "leeway",
        ),
        ({"mode": "basic"}, "at least one user"),
    ],
)
def test_unusable_settings(values: dict[str, Any], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        AuthConfig.load(**values)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps({"kari": {"password_hash": hash_password("pw", log2_n=4), "scopes": ["cdr/query"]}})
    )
    config = AuthConfig.from_env(
        {
            "CDR_AUTH": "jwt",
            "CDR_AUTH_ISSUER": ISSUER,
            "CDR_AUTH_AUDIENCE": f"{AUDIENCE}, other",
            "CDR_AUTH_JWKS_URL": "https://helseid-sts.test.nhn.no/.well-known/openid-configuration/jwks",
            "CDR_AUTH_ALGORITHMS": "RS256,PS256",
            "CDR_AUTH_LEEWAY": "10",
            "CDR_AUTH_SCOPE_READ": "kommune:cdr/read",
            "CDR_AUTH_BASIC_USERS_FILE": str(users),
            "UNRELATED": "ignored",
        }
    )
    assert config.audience == (AUDIENCE, "other")
    assert config.algorithms == ("RS256", "PS256")
    assert config.leeway_seconds == 10
    assert config.scopes.read == "kommune:cdr/read" and config.scopes.write == "cdr/ehr.write"
    assert set(config.basic_users) == {"kari"}
    with pytest.raises(AuthConfigError, match="CDR_AUTH_ISSUER"):
        AuthConfig.from_env({"CDR_AUTH": "jwt"})


def test_basic_users_carry_a_helseid_like_identity() -> None:
    entry = {
        "password_hash": hash_password("pw", log2_n=4),
        "scopes": ["cdr/ehr.read"],
        "hpr_number": "9144900",
        "orgnr_parent": "912159523",
        "orgnr_child": "922734046",
    }
    config = AuthConfig.load(
        mode="basic", basic_users={"nina": entry, "pia": {**entry, "pid": "13116900216"}}
    )
    nina = authenticate(basic("nina", "pw"), config)
    assert (nina.hpr_number, nina.orgnr_parent, nina.orgnr_child, nina.pid) == (
        "9144900",
        "912159523",
        "922734046",
        None,
    )
    assert authenticate(basic("pia", "pw"), config).pid == "13116900216"
    for wrong in ({"hpr_number": "HPR-1"}, {"orgnr_child": "123"}, {"hpr_nummer": "9144900"}):
        with pytest.raises(AuthConfigError):
            AuthConfig.load(mode="basic", basic_users={"x": {**entry, **wrong}})
