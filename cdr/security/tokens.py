"""Bearer token verification: signature, algorithm, issuer, audience and lifetime, before any claim is read.

The order matters. The algorithm is checked against the configured list *before* a key is chosen, and the
key comes from the source that fits the algorithm: HMAC algorithms only ever get the configured shared secret,
asymmetric ones only ever a public key from the JWKS. That is what defeats the classic attacks: ``alg: none``
(refused outright) and "HMAC signed with the public key" (the public key is never handed to HMAC). PyJWT then
verifies the signature and the registered claims with a small leeway for clock skew.

The signature check is most of a request's authentication cost and a client reuses its token for minutes, so
:class:`VerifiedTokens` keeps the claims of tokens that passed :func:`verify_token`, keyed by the token's
SHA-256, and re-checks only the lifetime at each use.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import jwt

from cdr.security.config import HMAC_ALGORITHMS, AuthConfig
from cdr.security.errors import Unauthenticated

T = TypeVar("T")

ALWAYS_REQUIRED = ("exp", "iss", "aud")


def _refuse(config: AuthConfig, description: str) -> Unauthenticated:
    return Unauthenticated(description, realm=config.realm)


def _header(token: str, config: AuthConfig) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _refuse(config, "the token is not a well-formed JWT") from exc
    if not isinstance(header, dict):
        raise _refuse(config, "the token header is not a JSON object")
    return header


def verify_token(token: str, config: AuthConfig) -> dict[str, Any]:
    """The claims of ``token`` once it has passed every check, else :class:`Unauthenticated` saying why.

    Checks: size, well-formedness (PyJWT refuses unknown ``crit`` extensions), ``alg`` among
    ``config.algorithms`` (never ``none``), ``typ`` when configured, signature with the key for ``kid``,
    ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` within ``config.leeway_seconds``, and presence of
    ``exp``, ``iss``, ``aud`` and ``config.required_claims``.
    """
    if len(token) > config.max_token_bytes:
        raise _refuse(config, "the token is too large")
    header = _header(token, config)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in config.algorithms:
        raise _refuse(config, f"tokens signed with {alg!r} are not accepted")
    if config.token_type is not None and str(header.get("typ", "")).lower() != config.token_type.lower():
        raise _refuse(config, f"the token type must be {config.token_type}")

    if alg in HMAC_ALGORITHMS:
        assert config.hmac_secret is not None  # the config refuses HMAC algorithms without a secret
        key: Any = config.hmac_secret.get_secret_value().encode("utf-8")
    else:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _refuse(config, "the token's kid is not a string")
        key = config.key_source.key(kid, alg)

    required = list(dict.fromkeys((*ALWAYS_REQUIRED, *config.required_claims)))
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=list(config.audience),
            issuer=config.issuer,
            leeway=config.leeway_seconds,
            options={"require": required, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _refuse(config, "the token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _refuse(config, "the token is not valid yet (nbf or iat in the future)") from exc
    except jwt.InvalidAudienceError as exc:
        raise _refuse(config, "the token is not meant for this API (aud)") from exc
    except jwt.InvalidIssuerError as exc:
        raise _refuse(config, "the token comes from an issuer this server does not trust (iss)") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise _refuse(config, f"the token lacks the required claim {exc.claim}") from exc
    except jwt.InvalidSignatureError as exc:
        raise _refuse(config, "the token signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise _refuse(config, "the token cannot be verified") from exc
    return claims


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: dict[str, Any]
    not_before: float  # nbf - leeway (or -inf)
    expires: float  # exp + leeway
    fresh_until: float  # verified at + jwks_cache_seconds
    derived: dict[Callable[..., Any], Any] = field(default_factory=dict)  # see VerifiedTokens.derive


class VerifiedTokens:
    """The claims of tokens :func:`verify_token` accepted under ``config``, for reuse until they expire.

    Only a token that passed every check is stored, under the SHA-256 of its exact text, so a token differing
    in any byte is verified afresh. At each use its ``exp`` and ``nbf`` are checked against the clock again
    (with the configured leeway) and a token outside them is refused as :func:`verify_token` refuses it. An
    entry is verified afresh ``jwks_cache_seconds`` after its verification (no caching when that is 0), the
    time within which a key withdrawn from the key set stops being trusted anyway. At most ``size`` tokens
    are kept, the least recently used dropped first.
    """

    def __init__(self, config: AuthConfig, size: int = 1024, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.size = size
        self._clock = clock
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` (a copy), from the cache when it holds them, else from :func:`verify_token`
        (then cached); :class:`Unauthenticated` as that raises it."""
        return dict(self._entry(token).claims)

    def derive(self, token: str, build: Callable[[Mapping[str, Any]], T]) -> T:
        """``build(claims)`` of ``token``, checked as :meth:`verify` checks it on every call, but built once
        per cached verification: a client reuses its token for every request, and turning the same claims
        into the same principal each time was a tenth of a read's security cost. ``build`` must be pure."""
        entry = self._entry(token)
        if build not in entry.derived:
            entry.derived[build] = build(entry.claims)
        return cast(T, entry.derived[build])

    def _entry(self, token: str) -> _Verified:
        key = hashlib.sha256(token.encode("utf-8")).digest()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now >= entry.fresh_until:
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            claims = verify_token(token, self.config)
            return self._remember(key, claims, now)
        if now >= entry.expires:
            raise _refuse(self.config, "the token has expired")
        if now < entry.not_before:
            raise _refuse(self.config, "the token is not valid yet (nbf or iat in the future)")
        return entry

    def _remember(self, key: bytes, claims: dict[str, Any], now: float) -> _Verified:
        """The entry of freshly verified ``claims``, kept unless caching is off."""
        max_age = self.config.jwks_cache_seconds
        leeway = self.config.leeway_seconds
        nbf = claims.get("nbf")
        entry = _Verified(
            claims=claims,
            not_before=float(nbf) - leeway if isinstance(nbf, int | float) else float("-inf"),
            expires=float(claims["exp"]) + leeway,
            fresh_until=now + max_age,
        )
        if max_age <= 0 or self.size <= 0:
            return entry
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry
