"""From verified HelseID token claims to a :class:`Principal`.

Claim names are HelseID's (Norsk helsenett's claim reference): person claims under ``helseid://claims/identity/``
and ``helseid://claims/hpr/``, client claims under ``helseid://claims/client/``. Organisation numbers come
from ``orgnr_parent`` / ``orgnr_child`` / ``orgnr_supplier``, which HelseID sets after checking the
``authorization_details`` (type ``helseid_authorization``) a client sends; if an access token carries that
structure itself and no ``orgnr_*`` claims, its ``NO:ORGNR:<parent>[:<child>]`` value is used instead. The
token is already verified, so these are the issuer's assertions; we only insist on their JSON types, so that
a list where a string belongs cannot slip through to the policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cdr.security.errors import Unauthenticated
from cdr.security.principal import AttestedPurpose, AuthMethod, Principal

PID = "helseid://claims/identity/pid"
SECURITY_LEVEL = "helseid://claims/identity/security_level"
ASSURANCE_LEVEL = "helseid://claims/identity/assurance_level"
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
CLIENT_NAME = "helseid://claims/client/client_name"
ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
ORGNR_SUPPLIER = "helseid://claims/client/claims/orgnr_supplier"
AUTHORIZATION_DETAILS = "authorization_details"
HELSEID_AUTHORIZATION = "helseid_authorization"
PATIENT_PURPOSE = "cdr_patient_purpose"

_ORGNR_VALUE = re.compile(r"NO:ORGNR:(\d{9})(?::(\d{9}))?", re.ASCII)


def _str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unauthenticated(f"the token claim {name} has the wrong type")
    return str(value)


def parse_scopes(value: Any) -> frozenset[str]:
    """OAuth2 ``scope``: a space-separated string (RFC 8693) or, as HelseID issues it, a list of strings."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return frozenset(s for s in value if s)
    raise Unauthenticated("the token claim scope has the wrong type")


def parse_security_level(value: Any) -> int | None:
    """HelseID's ``security_level`` ("3", "4"; numbers accepted too)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise Unauthenticated("the token claim security_level is not a number")


def orgnr_from_authorization_details(value: Any) -> tuple[str | None, str | None]:
    """(parent, child) from a ``helseid_authorization`` structure, one object or a list of them.

    >>> orgnr_from_authorization_details({"type": "helseid_authorization", "practitioner_role": {
    ...     "organization": {"identifier": {"value": "NO:ORGNR:912159523:922734046"}}}})
    ('912159523', '922734046')
    """
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != HELSEID_AUTHORIZATION:
            continue
        org = entry.get("practitioner_role", {})
        for step in ("organization", "identifier"):
            org = org.get(step, {}) if isinstance(org, dict) else {}
        identifier = org.get("value") if isinstance(org, dict) else None
        match = _ORGNR_VALUE.fullmatch(identifier) if isinstance(identifier, str) else None
        if match:
            return match.group(1), match.group(2)
    return None, None


def purposes_from_authorization_details(value: Any) -> tuple[AttestedPurpose, ...]:
    """Purposes attested for named patients: ``authorization_details`` entries of type
    ``cdr_patient_purpose`` with ``purpose`` (a purpose-of-use code), optional ``text`` and ``patient`` (the
    patient's national id). Malformed entries refuse the token rather than being skipped silently.

    >>> purposes_from_authorization_details([{"type": "cdr_patient_purpose", "purpose": "TREAT",
    ...     "patient": "13116900216"}])[0].patient_id
    '13116900216'
    """
    entries = value if isinstance(value, list) else [value]
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != PATIENT_PURPOSE:
            continue
        code, text, patient = entry.get("purpose"), entry.get("text"), entry.get("patient")
        if not (isinstance(code, str) and code and isinstance(patient, str) and patient):
            raise Unauthenticated("a cdr_patient_purpose entry needs purpose and patient strings")
        if text is not None and not isinstance(text, str):
            raise Unauthenticated("the text of a cdr_patient_purpose entry must be a string")
        found.append(AttestedPurpose(code=code, text=text, patient_id=patient))
    return tuple(found)


def principal_from_claims(
    claims: Mapping[str, Any], *, auth_method: AuthMethod = AuthMethod.BEARER
) -> Principal:
    """The :class:`Principal` a verified token describes; :class:`Unauthenticated` if it names nobody."""
    client_id = _str(claims, "client_id")
    subject = _str(claims, "sub") or client_id
    if not subject:
        raise Unauthenticated("the token names neither a subject (sub) nor a client (client_id)")
    parent, child = _str(claims, ORGNR_PARENT), _str(claims, ORGNR_CHILD)
    if parent is None and child is None and AUTHORIZATION_DETAILS in claims:
        parent, child = orgnr_from_authorization_details(claims[AUTHORIZATION_DETAILS])
    exp = claims.get("exp")
    return Principal(
        subject=subject,
        auth_method=auth_method,
        issuer=_str(claims, "iss"),
        scopes=parse_scopes(claims.get("scope")),
        client_id=client_id,
        client_name=_str(claims, CLIENT_NAME) or _str(claims, "client_name"),
        name=_str(claims, "name"),
        pid=_str(claims, PID),
        hpr_number=_str(claims, HPR_NUMBER),
        security_level=parse_security_level(claims.get(SECURITY_LEVEL)),
        assurance_level=_str(claims, ASSURANCE_LEVEL),
        orgnr_parent=parent,
        orgnr_child=child,
        orgnr_supplier=_str(claims, ORGNR_SUPPLIER),
        token_id=_str(claims, "jti"),
        expires_at=datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None,
        purposes=purposes_from_authorization_details(claims.get(AUTHORIZATION_DETAILS)),
    )
