"""Security: who calls (:mod:`identity`), may they (policy, to come) and what they did (audit, to come).

The verbs most callers need are re-exported here; see docs/security.md for the threat model and the seams.
"""

from cdr.security.config import AuthConfig, AuthMode, BasicUser
from cdr.security.errors import AuthConfigError, AuthUnavailable, Forbidden, Unauthenticated
from cdr.security.identity import authenticate, check_auth_mode
from cdr.security.norwegian_ids import PersonId, parse_person_id, validate_subject_id
from cdr.security.principal import AuthMethod, Principal
from cdr.security.scopes import ApiArea, ScopeNames, require_scope

__all__ = [
    "ApiArea",
    "AuthConfig",
    "AuthConfigError",
    "AuthMethod",
    "AuthMode",
    "AuthUnavailable",
    "BasicUser",
    "Forbidden",
    "PersonId",
    "Principal",
    "ScopeNames",
    "Unauthenticated",
    "authenticate",
    "check_auth_mode",
    "parse_person_id",
    "require_scope",
    "validate_subject_id",
]
