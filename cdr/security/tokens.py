"""Bearer token verification: signature, algorithm, issuer, audience and lifetime, before any claim is read.

The order matters. The algorithm is checked against the configured list *before* a key is chosen, and the
key comes from the source that fits the algorithm: HMAC algorithms only ever get the configured shared secret,
asymmetric ones only ever a public key from the JWKS. That is what defeats the classic attacks: ``alg: none``
(refused outright) and "HMAC signed with the public key" (the public key is never handed to HMAC). PyJWT then
verifies the signature and the registered claims with a small leeway for clock skew.
"""

from __future__ import annotations

from typing import Any

import jwt

from cdr.security.config import HMAC_ALGORITHMS, AuthConfig
from cdr.security.errors import Unauthenticated

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
