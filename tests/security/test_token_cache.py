"""The verified-token cache: a token's signature is checked once, its lifetime at every use, and nothing it
did not verify is ever accepted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cdr.security import AuthConfig, Unauthenticated, authenticate
from cdr.security.tokens import VerifiedTokens
from tests.security.conftest import SigningKey, claims


class CountingKeys:
    """A key source that counts the lookups, i.e. the signature checks, made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lookups = 0

    def key(self, kid: str | None, alg: str) -> Any:
        self.lookups += 1
        return self.inner.key(kid, alg)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _config(file_config: AuthConfig, **changes: Any) -> tuple[AuthConfig, CountingKeys]:
    config = AuthConfig.load(**{**file_config.model_dump(), **changes})
    keys = CountingKeys(config.key_source)
    config.use_key_source(keys)
    return config, keys


def test_a_token_is_verified_once_and_then_served_from_the_cache(
    file_config: AuthConfig, rsa_key: SigningKey
) -> None:
    config, keys = _config(file_config)
    tokens = VerifiedTokens(config)
    token = rsa_key.sign(claims())
    first = tokens.verify(token)
    first["sub"] = "changed by the caller"
    assert tokens.verify(token)["sub"] == "u9e7Tbq2Yk"  # a copy each time
    assert authenticate({"Authorization": f"Bearer {token}"}, config, tokens).subject == "u9e7Tbq2Yk"
    assert keys.lookups == 1


def test_a_cache_of_another_configuration_is_not_used(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    config, keys = _config(file_config)
    other, _ = _config(file_config)
    token = rsa_key.sign(claims())
    tokens = VerifiedTokens(other)
    tokens.verify(token)
    for _ in range(2):
        authenticate({"Authorization": f"Bearer {token}"}, config, tokens)
    assert keys.lookups == 2


def test_a_forged_token_is_refused_even_when_its_claims_were_cached(
    file_config: AuthConfig, rsa_key: SigningKey, rsa_key_2: SigningKey
) -> None:
    config, keys = _config(file_config)
    tokens = VerifiedTokens(config)
    body = claims()
    good = rsa_key.sign(body)
    tokens.verify(good)
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    forged = SigningKey(rsa_key_2.private, rsa_key.kid, "RS256").sign(body)  # right kid, wrong key
    for token in (tampered, forged, tampered):
        with pytest.raises(Unauthenticated, match="signature"):
            tokens.verify(token)
    assert keys.lookups == 4  # every refused token was checked, none was remembered


def test_expiry_is_checked_at_every_use(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    config, keys = _config(file_config, leeway_seconds=5)
    clock = Clock()
    tokens = VerifiedTokens(config, clock=clock)
    token = rsa_key.sign(claims(exp=int(clock.now) + 60))
    tokens.verify(token)
    clock.now += 60 + 4  # within the leeway
    assert tokens.verify(token)["sub"] == "u9e7Tbq2Yk"
    clock.now += 2
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)
    assert keys.lookups == 1


def test_not_before_is_checked_at_every_use(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    config, _ = _config(file_config, leeway_seconds=5)
    clock = Clock()
    tokens = VerifiedTokens(config, clock=clock)
    token = rsa_key.sign(claims(nbf=int(clock.now)))
    tokens.verify(token)
    clock.now -= 60  # the clock was stepped back
    with pytest.raises(Unauthenticated, match="not valid yet"):
        tokens.verify(token)


def test_entries_are_verified_afresh_after_the_key_cache_time(
    file_config: AuthConfig, rsa_key: SigningKey
) -> None:
    config, keys = _config(file_config, jwks_cache_seconds=100)
    clock = Clock()
    tokens = VerifiedTokens(config, clock=clock)
    token = rsa_key.sign(claims(exp=int(clock.now) + 3600))
    tokens.verify(token)
    clock.now += 99
    tokens.verify(token)
    assert keys.lookups == 1
    clock.now += 1
    tokens.verify(token)  # the real clock says the token is still valid: verified again, then cached
    assert keys.lookups == 2


def test_no_caching_when_the_key_cache_time_is_zero(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    config, keys = _config(file_config, jwks_cache_seconds=0)
    tokens = VerifiedTokens(config)
    token = rsa_key.sign(claims())
    for _ in range(3):
        tokens.verify(token)
    assert keys.lookups == 3


def test_the_cache_is_bounded(file_config: AuthConfig, rsa_key: SigningKey) -> None:
    config, keys = _config(file_config)
    tokens = VerifiedTokens(config, size=2)
    a, b, c = (rsa_key.sign(claims(sub=name)) for name in "abc")
    for token in (a, b, c):
        tokens.verify(token)
    assert keys.lookups == 3
    tokens.verify(c)
    tokens.verify(b)
    assert keys.lookups == 3
    assert tokens.verify(a)["sub"] == "a"  # the least recently used was dropped
    assert keys.lookups == 4


def test_the_api_reuses_a_verified_token(
    file_config: AuthConfig, rsa_key: SigningKey, tmp_path: Path
) -> None:
    from cdr.api import create_app
    from cdr.storage import Storage

    config, keys = _config(file_config)
    app = create_app({"STORAGE": Storage.open(f"sqlite:///{tmp_path / 'cdr.db'}"), "AUTH": config})
    token = rsa_key.sign(claims())
    client = app.test_client()
    for _ in range(3):
        got = client.get(
            "/openehr/v1/definition/template/adl1.4", headers={"Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 200
    assert keys.lookups == 1
