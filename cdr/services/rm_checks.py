"""RM-level checks of bodies that have no template (EHR_STATUS, FOLDER): every missing mandatory attribute
and broken invariant, each with its JSON pointer, so that a 400 names every problem at once."""

from __future__ import annotations

from cdr.rm.base import RMObject
from cdr.rm.invariants import check, missing_mandatory
from cdr.rm.walk import walk
from cdr.services.errors import InvalidContent, Issue


def rm_issues(obj: RMObject) -> list[Issue]:
    """Every mandatory attribute missing and every invariant broken anywhere in ``obj``."""
    issues: list[Issue] = []
    for path, node in walk(obj):
        for name in missing_mandatory(node):
            issues.append(Issue(f"{path}/{name}", "REQUIRED", f"{node.rm_type}.{name} is mandatory"))
        for broken in check(node):
            where = f"{path}/{broken.attribute}" if broken.attribute else path or "/"
            issues.append(Issue(where, "RM_INVARIANT", f"{node.rm_type} {broken.name}: {broken.message}"))
    return issues


def require_valid(obj: RMObject, what: str) -> None:
    """:class:`InvalidContent` (400) listing every RM issue of ``obj``."""
    issues = rm_issues(obj)
    if issues:
        listed = "; ".join(f"{i.path}: {i.message}" for i in issues)
        raise InvalidContent(f"invalid {what}: {listed}", issues)
