"""Password hashes for the development Basic mode: scrypt from the standard library, never plaintext.

The stored form is ``scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`` (salt and hash in unpadded base64url), so the
cost can be raised later without invalidating existing entries. scrypt is memory-hard, which is what makes a
leaked configuration file expensive to brute-force; comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cdr.numerals import is_digits

_PREFIX = "scrypt"
_DEFAULT_LOG2_N = 15  # n = 32768, r = 8: 32 MiB and a few tens of milliseconds per check
_MAX_LOG2_N = 20
_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r * p + (1 << 20),
        dklen=_KEY_BYTES,
    )


def hash_password(password: str, *, log2_n: int = _DEFAULT_LOG2_N, r: int = 8, p: int = 1) -> str:
    """A salted scrypt hash of ``password`` in the stored form (put this in the users file, not the password).

    >>> hash_password("secret", log2_n=4).startswith("scrypt$4$8$1$")
    True
    """
    if not 1 <= log2_n <= _MAX_LOG2_N:
        raise ValueError(f"log2_n must be between 1 and {_MAX_LOG2_N}")
    salt = os.urandom(16)
    return "$".join(
        (_PREFIX, str(log2_n), str(r), str(p), _b64(salt), _b64(_scrypt(password, salt, log2_n, r, p)))
    )


def is_password_hash(stored: str) -> bool:
    """Whether ``stored`` has the stored form (used to refuse plaintext passwords in configuration)."""
    parts = stored.split("$")
    return (
        len(parts) == 6
        and parts[0] == _PREFIX
        and all(is_digits(part) for part in parts[1:4])
        and 1 <= int(parts[1]) <= _MAX_LOG2_N
        and 1 <= int(parts[2]) <= 64
        and 1 <= int(parts[3]) <= 16
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; ``False`` for a malformed stored value, never an exception."""
    if not is_password_hash(stored):
        return False
    _, log2_n, r, p, salt, expected = stored.split("$")
    try:
        salt_bytes, expected_bytes = _unb64(salt), _unb64(expected)
    except ValueError:
        return False
    actual = _scrypt(password, salt_bytes, int(log2_n), int(r), int(p))
    return hmac.compare_digest(actual, expected_bytes)
