"""Who is calling: the identity every request carries once it has been authenticated.

A :class:`Principal` is what the policy (may they?) and the audit trail (who did it?) need, and nothing that
depends on how the caller proved it: a HelseID token, a development password and the loopback-only ``none``
mode all end here. It is frozen so that nothing downstream can promote a caller after the fact.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class AuthMethod(StrEnum):
    """How the caller authenticated."""

    BEARER = "bearer"
    BASIC = "basic"
    NONE = "none"


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
