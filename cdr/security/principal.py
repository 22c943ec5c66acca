"""Who is calling: the identity every request carries once it has been authenticated.

A :class:`Principal` is what the policy (may they?) and the audit trail (who did it?) need, and nothing that
depends on how the caller proved it: a HelseID token, a development password and the loopback-only ``none``
mode all end here. It is frozen so that nothing downstream can promote a caller after the fact.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuthMethod(StrEnum):
    """How the caller authenticated."""

    BEARER = "bearer"
    BASIC = "basic"
    NONE = "none"


class AttestedPurpose(BaseModel):
    """A purpose of use the identity provider attested for one patient (authorization_details entry of type
    ``cdr_patient_purpose``): the policy lets it stand in for a care relation to that patient only."""

    model_config = ConfigDict(frozen=True)

    code: str
    text: str | None = None
    patient_id: str

    def describe(self) -> str:
        return f"{self.code}: {self.text}" if self.text else self.code


class Principal(BaseModel):
    """An authenticated caller: a person using a client system, or a system on its own behalf.

    Field meanings follow HelseID: ``pid`` is the national identity number of the logged-in person (absent
    for machine-to-machine tokens), ``hpr_number`` their number in the Health Personnel Register,
    ``security_level`` the eID level (3 or 4 for persons; HelseID's ``security_level``),
    ``orgnr_parent``/``orgnr_child`` the legal entity and sub-unit (behandlingssted) the call is made for,
    ``orgnr_supplier`` the vendor of a multi-tenant client.
    """

    model_config = ConfigDict(frozen=True)

    subject: str
    auth_method: AuthMethod
    issuer: str | None = None
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    client_name: str | None = None
    name: str | None = None
    pid: str | None = None
    hpr_number: str | None = None
    security_level: int | None = None
    assurance_level: str | None = None
    orgnr_parent: str | None = None
    orgnr_child: str | None = None
    orgnr_supplier: str | None = None
    token_id: str | None = None
    expires_at: datetime | None = None
    purposes: tuple[AttestedPurpose, ...] = ()
    roles: frozenset[str] = frozenset()
    """The API areas (:class:`cdr.security.scopes.ApiArea` values) the scopes open, set by the API once the
    configured scope names are known (see :func:`cdr.security.scopes.with_roles`)."""

    @property
    def display_name(self) -> str:
        """A name for messages and the committer: the person's name, else the client's, else the subject."""
        return self.name or self.client_name or self.subject

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def committer(self) -> dict[str, Any]:
        """The PARTY_IDENTIFIED recorded as committer when a request names none: the HPR number when the
        caller is health personnel (the register that says who they are), else the token subject."""
        party: dict[str, Any] = {"_type": "PARTY_IDENTIFIED", "name": self.display_name}
        if self.auth_method is AuthMethod.NONE:
            return party
        scheme, value = ("HPR", self.hpr_number) if self.hpr_number else ("cdr", self.subject)
        party["external_ref"] = {
            "_type": "PARTY_REF",
            "id": {"_type": "GENERIC_ID", "value": value, "scheme": scheme},
            "namespace": "cdr.principal",
            "type": "PERSON",
        }
        return party

    @property
    def is_person(self) -> bool:
        """Whether a natural person is behind the call (a national id was asserted), not just a system."""
        return self.pid is not None

    @property
    def organisation(self) -> str | None:
        """The most specific organisation number of the call: the sub-unit if given, else the parent."""
        return self.orgnr_child or self.orgnr_parent

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
