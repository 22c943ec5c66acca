"""Signing keys for bearer tokens: a JSON Web Key Set from a URL (cached, refreshed on rotation) or a file.

Identity providers rotate keys by publishing the new key (new ``kid``) before signing with it, so an unknown
``kid`` means "refetch", but at most once per ``min_refresh_seconds``: otherwise anyone could make us hammer
the provider by sending tokens with random ``kid`` values. When the provider is unreachable we keep using the
keys we have for ``max_stale_seconds``, because refusing every caller during a provider hiccup is worse than
trusting keys that were valid minutes ago; after that, :class:`AuthUnavailable`.

Only public keys usable for signatures are taken from a key set: symmetric (``oct``) keys are ignored,
because a JWKS is public and a symmetric key in it would let anybody mint tokens.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import jwt

from cdr.security.errors import AuthUnavailable, Unauthenticated

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1 << 20

# Which key types and curves may verify which algorithm (RFC 7518 section 3, RFC 8037).
_KTY_FOR_ALG: dict[str, tuple[str, str | None]] = {
    **{alg: ("RSA", None) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}


class KeySource(Protocol):
    """Finds the public key that verifies a token signed with ``alg`` under key id ``kid``."""

    def key(self, kid: str | None, alg: str) -> Any: ...


def _fits(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether a JWK may verify signatures made with ``alg`` (type, curve, declared alg and use agree)."""
    wanted = _KTY_FOR_ALG.get(alg)
    if wanted is None or jwk.get("kty") != wanted[0]:
        return False
    if wanted[1] is not None and jwk.get("crv") != wanted[1]:
        return False
    if "alg" in jwk and jwk["alg"] != alg:
        return False
    return jwk.get("use", "sig") == "sig"


def parse_jwks(data: Any) -> list[dict[str, Any]]:
    """The usable public signing keys of a JWKS document (RFC 7517 section 5), or :class:`ValueError`."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError('a JWKS is an object with a "keys" array')
    keys = [k for k in data["keys"] if isinstance(k, dict) and k.get("kty") in {"RSA", "EC", "OKP"}]
    return [k for k in keys if k.get("use", "sig") == "sig"]


class _KeyIndex:
    """Selection of a key from a parsed key set, shared by the file and URL sources."""

    def __init__(self, jwks: list[dict[str, Any]]) -> None:
        self.jwks = jwks
        self._built: dict[tuple[int, str], Any] = {}

    def find(self, kid: str | None, alg: str) -> Any | None:
        if kid is not None:
            candidates = [i for i, k in enumerate(self.jwks) if k.get("kid") == kid and _fits(k, alg)]
        else:
            # A token without kid is only unambiguous when exactly one key could have signed it.
            candidates = [i for i, k in enumerate(self.jwks) if _fits(k, alg)]
            if len(candidates) > 1:
                raise Unauthenticated("the token names no signing key (kid) and several keys could apply")
        if not candidates:
            return None
        index = candidates[0]
        if (index, alg) not in self._built:
            try:
                self._built[(index, alg)] = jwt.PyJWK(self.jwks[index], algorithm=alg).key
            except jwt.PyJWTError as exc:
                log.warning("JWKS key %r cannot be used for %s: %s", self.jwks[index].get("kid"), alg, exc)
                return None
        return self._built[(index, alg)]


class JwksFile:
    """Keys from a JWKS file, re-read when the file changes (rotation by replacing the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._index = _KeyIndex([])
        self._lock = threading.Lock()

    def _load(self) -> _KeyIndex:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                if stamp != self._stamp:
                    self._index = _KeyIndex(parse_jwks(json.loads(self.path.read_text(encoding="utf-8"))))
                    self._stamp = stamp
                return self._index
        except (OSError, ValueError) as exc:
            raise AuthUnavailable(f"cannot read the signing keys from {self.path}: {exc}") from exc

    def key(self, kid: str | None, alg: str) -> Any:
        found = self._load().find(kid, alg)
        if found is None:
            raise Unauthenticated(f"the token is signed with a key this server does not know (kid {kid!r})")
        return found


def fetch_json(url: str, timeout: float) -> Any:
    """GET ``url`` and parse the JSON body (at most :data:`MAX_JWKS_BYTES`)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # https enforced by AuthConfig
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("the JWKS document is too large")
    return json.loads(body)


class JwksUrl:
    """Keys from a JWKS URL, cached for ``cache_seconds``, refetched early when an unknown ``kid`` appears."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300,
        min_refresh_seconds: float = 30,
        max_stale_seconds: float = 3600,
        timeout_seconds: float = 5.0,
        fetch: Callable[[str, float], Any] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.max_stale_seconds = max_stale_seconds
        self.timeout_seconds = timeout_seconds
        self._fetch = fetch
        self._clock = clock
        self._index: _KeyIndex | None = None
        self._fetched_at = 0.0  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = threading.Lock()

    def _refresh(self, now: float) -> None:
        """Fetch the key set (caller holds the lock); on failure keep the old one and remember the attempt."""
        self._attempted_at = now
        try:
            index = _KeyIndex(parse_jwks(self._fetch(self.url, self.timeout_seconds)))
        except Exception as exc:  # network, HTTP and parse errors alike: the old keys stay
            log.warning("cannot fetch the JWKS from %s: %s", self.url, exc)
            return
        self._index, self._fetched_at = index, now

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh_seconds

    def _current(self, now: float) -> _KeyIndex:
        with self._lock:
            expired = self._index is None or now - self._fetched_at >= self.cache_seconds
            if expired and (self._index is None or self._may_attempt(now)):
                self._refresh(now)
            if self._index is None:
                raise AuthUnavailable("the identity provider's signing keys cannot be fetched")
            if now - self._fetched_at >= self.cache_seconds + self.max_stale_seconds:
                raise AuthUnavailable(
                    "the identity provider's signing keys are stale and cannot be refreshed"
                )
            return self._index

    def key(self, kid: str | None, alg: str) -> Any:
        now = self._clock()
        found = self._current(now).find(kid, alg)
        if found is None and kid is not None:
            with self._lock:
                if self._may_attempt(now):
                    self._refresh(now)
                index = self._index
            found = index.find(kid, alg) if index is not None else None
        if found is None:
            raise Unauthenticated(f"the token is signed with a key this server does not know (kid {kid!r})")
        return found
