"""OAuth2 scopes per API area, and the one check every entry point makes before doing anything.

The scope only says which *part* of the API a client was granted (coarse, decided when the client was
registered with the identity provider); whether this caller may see this patient's record is the policy's
question, asked afterwards. Scopes do not imply one another: ``admin`` does not grant ``read``, so a client
gets exactly the parts it was registered for. Scope names are configurable because each deployment registers
its API under its own name at HelseID (e.g. ``kommune:cdr/ehr.read``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from cdr.security.errors import Forbidden
from cdr.security.principal import Principal


class ApiArea(StrEnum):
    """The parts of the API a scope can open."""

    READ = "read"  # EHRs, EHR_STATUS, compositions, folders, contributions: GET
    WRITE = "write"  # the same: POST, PUT, DELETE
    QUERY = "query"  # AQL, ad hoc and stored
    DEFINITION = "definition"  # templates and stored queries: upload, delete
    ADMIN = "admin"  # the admin API
    PATIENT = "patient"  # a patient's own record and access log (self-service)
    RELATIONS = "relations"  # care relations: create, list, end
    RESEARCH = "research"  # de-identified research; never EHR-level reads


class ScopeNames(BaseModel):
    """The scope string that opens each :class:`ApiArea`."""

    model_config = ConfigDict(frozen=True)

    read: str = "cdr/ehr.read"
    write: str = "cdr/ehr.write"
    query: str = "cdr/query"
    definition: str = "cdr/definition"
    admin: str = "cdr/admin"
    patient: str = "cdr/patient"
    relations: str = "cdr/care_relation"
    research: str = "cdr/research"

    def for_area(self, area: ApiArea) -> str:
        return str(getattr(self, area.value))

    def all(self) -> frozenset[str]:
        return frozenset(self.for_area(area) for area in ApiArea)


DEFAULT_SCOPES = ScopeNames()


def require_scope(principal: Principal, area: ApiArea, scopes: ScopeNames = DEFAULT_SCOPES) -> None:
    """Raise :class:`Forbidden` (403, ``insufficient_scope``) unless ``principal`` holds the area's scope."""
    needed = scopes.for_area(area)
    if not principal.has_scope(needed):
        raise Forbidden(f"this requires the scope {needed} ({area.value} access)", required_scope=needed)


def with_roles(principal: Principal, scopes: ScopeNames = DEFAULT_SCOPES) -> Principal:
    """``principal`` with ``roles`` set to the areas its scopes open under the configured scope names, so
    that the policy can ask for an area without knowing how this deployment names its scopes."""
    roles = frozenset(area.value for area in ApiArea if principal.has_scope(scopes.for_area(area)))
    return principal.model_copy(update={"roles": roles})
