"""Errors the use cases add to :mod:`cdr.errors`; each carries what a client needs to fix its request.

The API layer picks the HTTP status from the class (``cdr/api/errors.py``); nothing here knows HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdr.errors import CdrError, Conflict, InvalidInput, Unavailable


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a request body: where (a data path or JSON pointer), which rule, and prose."""

    path: str
    code: str
    message: str
    constraint_path: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"path": self.path, "code": self.code, "message": self.message}
        if self.constraint_path:
            out["constraint_path"] = self.constraint_path
        return out


class Forbidden(CdrError):
    """The policy does not let the caller do this."""


class Unauthenticated(CdrError):
    """The request carries credentials that do not identify anybody."""


class Unprocessable(CdrError):
    """Well-formed, but the content cannot be accepted (ITS-REST 422)."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


class TerminologyUnavailable(Unavailable):
    """A code bound to an external value set could not be checked (the terminology server did not answer)
    and the configuration says such data waits rather than goes in unchecked: nothing was committed, and the
    same request may succeed later (503)."""

    def __init__(self, message: str, issues: list[Issue]) -> None:
        super().__init__(message)
        self.issues = issues


class TemplateViolation(Unprocessable):
    """Data that breaks its operational template; ``issues`` lists every problem with its path."""


class UnknownTemplate(Unprocessable):
    """Data that names a template that has not been uploaded."""


class TemplateInUse(Unprocessable):
    """A template that versions use cannot be deleted or replaced (EHRbase answers 422 "is used by")."""


class InvalidContent(InvalidInput):
    """A body that does not satisfy the RM (missing mandatory attributes, broken invariants): every issue."""

    def __init__(self, message: str, issues: list[Issue]) -> None:
        super().__init__(message)
        self.issues = issues


class EhrNotModifiable(Conflict):
    """A write to an EHR whose EHR_STATUS has ``is_modifiable = false``."""


class NotLatestVersion(Conflict):
    """A delete names a version that is not the latest (ITS-REST answers 409 with the latest in ETag)."""

    def __init__(self, message: str, latest_uid: str) -> None:
        super().__init__(message)
        self.latest_uid = latest_uid
