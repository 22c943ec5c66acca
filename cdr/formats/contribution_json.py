"""The canonical JSON body of a contribution commit (ITS-REST ``POST /ehr/{ehr_id}/contribution``).

In the REST API a contribution is sent with its versions inline: ``{"audit": AUDIT_DETAILS, "versions":
[ORIGINAL_VERSION, ...]}``, where the RM CONTRIBUTION only holds OBJECT_REFs to versions. So the body is not
an RM object; this module reads it into the audit and the ORIGINAL_VERSIONs (each with its ``data``), with
errors located by JSON pointer from the body's root like every canonical JSON error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json
from cdr.rm import AuditDetails, HierObjectId, OriginalVersion


@dataclass(frozen=True, slots=True)
class ContributionPayload:
    """A contribution as committed: its audit, the versions in order, and the uid when the client set one."""

    audit: AuditDetails | None
    versions: list[OriginalVersion]
    uid: HierObjectId | None = None


_KEYS = frozenset({"_type", "uid", "audit", "versions"})


def _nested(data: Any, rm_type: str, prefix: str, strict: bool) -> Any:
    """Parse a part of the body, re-rooting its error path under ``prefix``."""
    try:
        return parse_json(data, rm_type, strict=strict)
    except FormatError as exc:
        inner = "" if exc.path == "/" else exc.path
        raise FormatError(prefix + inner, exc.reason) from None


def parse_contribution_json(
    data: str | bytes | dict[str, Any], *, strict: bool = True
) -> ContributionPayload:
    """Read a REST contribution body; ``strict`` as in :func:`parse_json` (unknown attributes rejected)."""
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FormatError("/", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FormatError("/", "a contribution must be a JSON object")
    type_name = data.get("_type")
    if type_name is not None and type_name != "CONTRIBUTION":
        raise FormatError("/_type", f"_type {type_name!r} is not CONTRIBUTION")
    if strict:
        for key in data:
            if key not in _KEYS:
                raise FormatError(f"/{key}", f"unknown attribute {key!r} of a contribution")
    versions_data = data.get("versions")
    if versions_data is None:
        versions_data = []
    if not isinstance(versions_data, list):
        raise FormatError("/versions", "versions must be an array of ORIGINAL_VERSION")
    audit = None if data.get("audit") is None else _nested(data["audit"], "AUDIT_DETAILS", "/audit", strict)
    uid = None if data.get("uid") is None else _nested(data["uid"], "HIER_OBJECT_ID", "/uid", strict)
    versions = [
        _nested(version, "ORIGINAL_VERSION", f"/versions/{i}", strict)
        for i, version in enumerate(versions_data)
    ]
    return ContributionPayload(audit=audit, versions=versions, uid=uid)
