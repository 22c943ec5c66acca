"""The HTTP headers ITS-REST gives meaning to: Prefer, ETag/If-Match, Location, Last-Modified,
openEHR-VERSION, openEHR-AUDIT_DETAILS, openEHR-TEMPLATE_ID and the item-tag headers.

openEHR-VERSION and openEHR-AUDIT_DETAILS are read in both spellings the specifications have used: ITS-REST
1.0.3's one header per attribute (``openEHR-AUDIT_DETAILS.committer: name="John Doe",
external_ref.id="..."``) and the later single header (``openehr-audit-details: committer.name="John Doe"``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from email.utils import format_datetime
from typing import Any

from flask import Response

from cdr.api.current import current_request, the_app
from cdr.api.errors import ApiError
from cdr.errors import InvalidInput, PreconditionFailed
from cdr.services.item_tags import WriteTags
from cdr.services.versions import parse_version_uid
from cdr.storage import VersionRecord, VersionUid
from cdr.storage.records import CHANGE_TYPE, LIFECYCLE_STATE, code_of

_DIGITS = re.compile(r"[0-9]+")
_PAIR = re.compile(r'\s*([A-Za-z_][\w.]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)')


def wants_representation() -> bool:
    """``Prefer: return=representation`` (the default is ``return=minimal``)."""
    prefer = current_request().headers.get("Prefer", "")
    return any(p.strip().lower() == "return=representation" for p in prefer.split(","))


def quoted(uid: str) -> str:
    return f'"{uid}"'


def if_match(required: bool = True) -> str | None:
    """The version uid ``If-Match`` names, quotes and a weak ``W/`` prefix removed.

    ITS-REST's If-Match is always one quoted version uid (the preceding version), so ``*``, lists and
    anything that is not an OBJECT_VERSION_ID are 400 here, before any lookup, on every endpoint alike; a
    well-formed uid that is not the latest version is the service's 412.
    """
    raw = current_request().headers.get("If-Match")
    if raw is None or not raw.strip():
        if required:
            raise ApiError("the If-Match header (the latest version uid) is required")
        return None
    value = raw.strip().removeprefix("W/").strip().strip('"')
    if value == "*":
        raise ApiError("If-Match '*' is not accepted: it must name the latest version uid (ITS-REST)")
    try:
        uid = VersionUid.parse(value)
    except InvalidInput:
        uid = None
    if uid is None or uid.version < 1 or not _DIGITS.fullmatch(value.rsplit("::", 1)[-1]):
        raise ApiError(f"If-Match {raw!r} is not one version uid (object_id::creating_system_id::version)")
    return str(uid)


def version_to_delete(uid_based_id: str, expected: str | None) -> str:
    """The version uid a DELETE of ``uid_based_id`` removes, given the If-Match version uid ``expected``.

    ITS-REST names the version in the path and sends no If-Match, but an origin server must evaluate one it
    gets (RFC 9110): with a version uid in the path, If-Match must name that version (412 if not); with the
    versioned object id in the path, If-Match names the version to delete, which must be the latest.
    """
    if expected is None:
        return uid_based_id
    if "::" in uid_based_id:
        if str(parse_version_uid(uid_based_id)) != expected:
            raise PreconditionFailed(f"If-Match {expected} does not name {uid_based_id}, the one to delete")
        return uid_based_id
    try:
        object_id = uuid.UUID(uid_based_id)
    except ValueError:
        return uid_based_id  # no such composition: the service's 404
    if VersionUid.parse(expected).object_id != object_id:
        raise PreconditionFailed(f"If-Match {expected} is not a version of composition {uid_based_id}")
    return expected


def absolute_url(path: str, raw: bool = False) -> str:
    """The absolute URL of ``path``: below the API base path unless ``raw`` (then ``path`` is absolute)."""
    base = "" if raw else the_app().config["BASE_PATH"]
    req = current_request()
    # scheme and Host as the request (or ProxyFix) gives them: werkzeug's host_url turns the host into an
    # IRI (unicode), which a header cannot carry, and costs ~18 us per answer doing it
    return f"{req.scheme}://{req.host}{base}{path}"


TEMPLATE_ID_HEADER = "EHRBase-Template-ID"
"""EHRbase's own header naming a composition's template; its suites expect it on composition answers."""


def set_version_headers(response: Response, record: VersionRecord, location: str | None) -> Response:
    """ETag (the version uid), Last-Modified (its commit time), for a composition its template id (EHRbase's
    ``EHRBase-Template-ID``) and, when given, Location."""
    response.headers["ETag"] = quoted(record.uid)
    response.headers["Last-Modified"] = http_date(record.commit_audit.time_committed)
    if record.kind == "COMPOSITION" and record.template_id is not None:
        response.headers[TEMPLATE_ID_HEADER] = record.template_id
    if location is not None:
        response.headers["Location"] = absolute_url(location)
    return response


def http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _PAIR.finditer(text):
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.lower()] = value
    return out


def _header_attributes(name: str) -> dict[str, str]:
    """The dotted attributes of a custom header in either spelling: ``{"committer.name": "John Doe"}``."""
    found: dict[str, str] = {}
    wanted = {name.lower(), name.lower().replace("_", "-")}
    for header, raw in current_request().headers.items():
        lowered = header.lower()
        if lowered in wanted:
            found.update(_pairs(header_text(raw)))
            continue
        head, dot, attribute = lowered.partition(".")
        attribute = attribute.replace("-", "_")  # WSGI turns the header name's "_" into "-"
        if dot and head in wanted:
            value = header_text(raw)
            pairs = _pairs(value)
            found.update({f"{attribute}.{k}": v for k, v in pairs.items()})
            if not pairs and value.strip():  # the bare value: openEHR-VERSION.lifecycle_state: incomplete
                found[attribute] = value.strip().strip('"')
    return found


def _code(group: str, attributes: dict[str, str], attribute: str) -> str | None:
    value = attributes.get(f"{attribute}.code_string") or attributes.get(f"{attribute}.value")
    value = value or attributes.get(attribute)
    if value is None:
        return None
    try:
        return code_of(group, value)
    except Exception:
        raise ApiError(f"{attribute} {value!r} is not an openEHR {group!r} code") from None


def audit_details() -> dict[str, Any]:
    """What openEHR-VERSION and openEHR-AUDIT_DETAILS ask for: committer, description, change type and
    lifecycle state (each ``None`` when not given)."""
    audit = _header_attributes("openEHR-AUDIT_DETAILS")
    version = _header_attributes("openEHR-VERSION")
    committer: dict[str, Any] | None = None
    name = audit.get("committer.name")
    ref_id = audit.get("committer.external_ref.id")
    if name is not None or ref_id is not None:
        committer = {"_type": "PARTY_IDENTIFIED"}
        if name is not None:
            committer["name"] = name
        if ref_id is not None:
            committer["external_ref"] = {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": ref_id, "scheme": "id_scheme"},
                "namespace": audit.get("committer.external_ref.namespace", "local"),
                "type": audit.get("committer.external_ref.type", "PERSON"),
            }
    return {
        "committer": committer,
        "description": audit.get("description.value") or audit.get("description"),
        "change_type": _code(CHANGE_TYPE, audit, "change_type"),
        "lifecycle_state": _code(LIFECYCLE_STATE, version, "lifecycle_state"),
    }


def template_id_header() -> str | None:
    """``openEHR-TEMPLATE_ID`` or EHRbase's ``templateId`` query parameter."""
    req = current_request()
    return req.headers.get("openEHR-TEMPLATE_ID") or req.args.get("templateId") or None


# ------------------------------------------------------------------------------------------ item tags

ITEM_TAG = "openehr-item-tag"
VERSION_ITEM_TAG = "openehr-version-item-tag"
_TAG_ATTRIBUTES = ("key", "value", "target_path")


def header_text(raw: str) -> str:
    """A header value as the client wrote it: WSGI hands header bytes over as Latin-1, so UTF-8 text (a
    Norwegian tag or committer name) is decoded back from those bytes; other bytes stay Latin-1."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def header_value(text: str) -> str:
    """``text`` as a header value: UTF-8 bytes passed through WSGI's Latin-1 (the inverse of
    :func:`header_text`)."""
    return text.encode("utf-8").decode("latin-1")


def _split_unquoted(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` where it is not inside a double-quoted string (``\\`` escapes)."""
    parts: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _tag_item(header: str, number: int, item: str) -> tuple[str, str | None, str | None]:
    attributes: dict[str, str] = {}
    where = f"{header}: tag {number} ({item.strip()!r})"
    for part in _split_unquoted(item, ","):
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not equals or name not in _TAG_ATTRIBUTES:
            raise ApiError(f"{where}: {part.strip()!r} is not one of key=, value=, target_path=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif '"' in value:
            raise ApiError(f"{where}: the {name} {value!r} has an unbalanced quote")
        if name in attributes:
            raise ApiError(f"{where}: {name} is given twice")
        attributes[name] = value
    if "key" not in attributes:
        raise ApiError(f"{where}: a tag needs a key")
    return attributes["key"], attributes.get("value"), attributes.get("target_path")


def _tags_header(name: str) -> tuple[tuple[str, str | None, str | None], ...] | None:
    """The tags of one item-tag header (``None`` when it is not sent; an empty value is an empty list)."""
    values = current_request().headers.getlist(name)
    if not values:
        return None
    text = header_text("; ".join(values))
    items = [item for item in _split_unquoted(text, ";") if item.strip()]
    return tuple(_tag_item(name, i, item) for i, item in enumerate(items, 1))


def write_tags() -> WriteTags:
    """The ``openehr-item-tag`` and ``openehr-version-item-tag`` lists a COMPOSITION or EHR_STATUS write
    sends (ITS-REST: ``key="category",value="final"; key="flag",target_path="/..."``); 400 naming the
    header and the tag for one that cannot be read."""
    return WriteTags(_tags_header(ITEM_TAG), _tags_header(VERSION_ITEM_TAG))


def _quoted_tag_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_tags(tags: tuple[tuple[str, str | None, str | None], ...]) -> str:
    """Tags in the item-tag headers' syntax, every value quoted."""
    items = []
    for key, value, path in tags:
        named = (("key", key), ("value", value), ("target_path", path))
        items.append(",".join(f"{n}={_quoted_tag_text(v)}" for n, v in named if v is not None))
    return header_value("; ".join(items))


def set_tag_headers(response: Response, tags: WriteTags) -> Response:
    """Confirm the lists a write stored (ITS-REST: the server MAY answer with them)."""
    if tags.on_object is not None:
        response.headers[ITEM_TAG] = format_tags(tags.on_object)
    if tags.on_version is not None:
        response.headers[VERSION_ITEM_TAG] = format_tags(tags.on_version)
    return response
