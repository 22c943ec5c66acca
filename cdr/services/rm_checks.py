"""RM-level checks of bodies that have no template (EHR_STATUS, FOLDER): every missing mandatory attribute,
each with its JSON pointer, so that a 400 names every problem at once.

Class invariants are checked only on request: EHRbase accepts, and its suites send, directories whose DV_TEXT
values hold line breaks or whose item ids are not UUIDs, which ``Value_valid`` and ``Root_valid`` reject.
"""

from __future__ import annotations

from cdr.rm.base import RMObject
from cdr.rm.invariants import check, missing_mandatory
from cdr.rm.walk import walk
from cdr.services.errors import InvalidContent, Issue
from cdr.template.validation.rm_rules import TEMPORAL_TYPES


def rm_issues(obj: RMObject, invariants: bool = False) -> list[Issue]:
    """Every mandatory attribute missing (and, with ``invariants``, every invariant broken) in ``obj``.

    A date, time or duration that is not ISO 8601 is always reported (INVALID_DATE_TIME): it cannot be read
    at all, and EHRbase refuses it with a 400 when it deserialises the body, as it does in compositions.
    """
    issues: list[Issue] = []
    for path, node in walk(obj):
        for name in missing_mandatory(node):
            issues.append(Issue(f"{path}/{name}", "REQUIRED", f"{node.rm_type}.{name} is mandatory"))
        if not invariants and node.rm_type not in TEMPORAL_TYPES:
            continue
        for broken in check(node):
            where = f"{path}/{broken.attribute}" if broken.attribute else path or "/"
            if node.rm_type in TEMPORAL_TYPES and broken.name == "Value_valid":
                issues.append(Issue(where, "INVALID_DATE_TIME", f"{node.rm_type} {broken.message}"))
            elif invariants:
                issues.append(Issue(where, "RM_INVARIANT", f"{node.rm_type} {broken.name}: {broken.message}"))
    return issues


def require_valid(obj: RMObject, what: str) -> None:
    """:class:`InvalidContent` (400) listing every RM issue of ``obj``."""
    issues = rm_issues(obj)
    if issues:
        listed = "; ".join(f"{i.path}: {i.message}" for i in issues)
        raise InvalidContent(f"invalid {what}: {listed}", issues)
