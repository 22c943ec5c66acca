"""ITEM_TAG requests and responses (ITS-REST ``/tags``).

A PUT body is a JSON array of UPDATE_ITEM_TAG objects (``key``, optional ``value`` and ``target_path``, no
other member); an answer is an array of ITEM_TAG documents with the ``target`` and ``owner_id`` OBJECT_REFs
(namespace ``local``; the target a HIER_OBJECT_ID for a versioned object, an OBJECT_VERSION_ID for a version).

EHRbase's experimental ``/item_tag`` API has a flatter tag of its own: ``id``, ``owner_id`` (the EHR id),
``target`` (the versioned object id), ``target_type``, ``target_path``, ``key`` and ``value``, the ids bare
uuids. Its PUT takes such tags (members it does not know are passed over, as EHRbase does), its DELETE an
array of ids or of tags with their ``id``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields

from cdr.api.errors import ApiError, UnsupportedMediaType
from cdr.api.representation import content_type, is_json
from cdr.services.errors import Issue, Unprocessable
from cdr.services.item_tags import TagInput, TagUpdate
from cdr.storage.item_tags import OBJECT, ItemTag


class UpdateItemTag(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True)
    value = fields.String(load_default=None)
    target_path = fields.String(load_default=None)


def _json_array(what: str) -> list[Any]:
    mimetype = content_type()
    if mimetype and not is_json(mimetype):
        raise UnsupportedMediaType(f"Content-Type {mimetype!r}: tags are sent as application/json")
    raw = request.get_data(as_text=True)
    try:
        data: Any = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ApiError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise ApiError(f"the body must be a JSON array of {what}")
    return data


def tags_from_body() -> list[TagInput]:
    """The tags of a PUT: 415 for a body that is not JSON by its type, 400 naming the member at fault."""
    loaded: list[TagInput] = []
    for i, item in enumerate(_json_array("tags ({key, value, target_path})")):
        if not isinstance(item, dict):
            raise ApiError(
                f"/{i}: a tag is a JSON object", details=[Issue(f"/{i}", "FORMAT", "not an object")]
            )
        try:
            tag = UpdateItemTag().load(item)
        except ValidationError as exc:
            issues = [
                Issue(
                    f"/{i}/{name}",
                    "FORMAT",
                    " ".join(map(str, msgs)) if isinstance(msgs, list) else str(msgs),
                )
                for name, msgs in exc.normalized_messages().items()
            ]
            raise ApiError("; ".join(f"{x.path}: {x.message}" for x in issues), details=issues) from None
        loaded.append((tag["key"], tag["value"], tag["target_path"]))
    return loaded


def _ref(value: str, id_type: str, ref_type: str) -> dict[str, Any]:
    return {"id": {"_type": id_type, "value": value}, "namespace": "local", "type": ref_type}


def item_tag_document(tag: ItemTag) -> dict[str, Any]:
    target = tag.target
    id_type = "HIER_OBJECT_ID" if target.version == OBJECT else "OBJECT_VERSION_ID"
    doc: dict[str, Any] = {"key": tag.key}
    if tag.value is not None:
        doc["value"] = tag.value
    if tag.target_path is not None:
        doc["target_path"] = tag.target_path
    doc["target"] = _ref(target.uid, id_type, target.kind)
    doc["owner_id"] = _ref(str(target.ehr_id), "HIER_OBJECT_ID", "EHR")
    return doc


def ehr_tag_filters() -> tuple[str | None, str | None, str | None]:
    """``tag_key``, ``tag_value``, ``tag_target_path`` of ``GET /ehr/{ehr_id}/tags``."""
    args = request.args
    return args.get("tag_key"), args.get("tag_value"), args.get("tag_target_path")


# --- EHRbase's experimental /item_tag API ------------------------------------------------------------------

_TARGET_TYPES = ("COMPOSITION", "EHR_STATUS")


def _uuid(value: Any, where: str) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ApiError(f"{where}: {value!r} is not a UUID", details=[Issue(where, "FORMAT", "not a UUID")])


def _text(item: dict[str, Any], name: str, where: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(
            f"{where}/{name}: not a string", details=[Issue(f"{where}/{name}", "FORMAT", "not a string")]
        )
    return value


def tag_updates_from_body() -> list[TagUpdate]:
    """The tags of an ``/item_tag`` PUT: 415 for a body that is not JSON, 400 naming a member of the wrong
    type (a missing key is left for the service, which answers 422 as EHRbase does)."""
    updates = []
    for i, item in enumerate(_json_array("item tags ({key, value, target_path})")):
        where = f"/{i}"
        if not isinstance(item, dict):
            raise ApiError(
                f"{where}: an item tag is a JSON object", details=[Issue(where, "FORMAT", "not an object")]
            )
        ids = {
            name: None if item.get(name) is None else _uuid(item[name], f"{where}/{name}")
            for name in ("id", "owner_id", "target")
        }
        target_type = _text(item, "target_type", where)
        if target_type is not None and target_type not in _TARGET_TYPES:
            raise ApiError(f"{where}/target_type: {target_type!r} is not one of {', '.join(_TARGET_TYPES)}")
        updates.append(
            TagUpdate(
                key=_text(item, "key", where) or "",
                value=_text(item, "value", where),
                target_path=_text(item, "target_path", where),
                tag_id=ids["id"],
                owner_id=ids["owner_id"],
                target=ids["target"],
                target_type=target_type,
            )
        )
    return updates


def tag_ids_from_body() -> list[uuid.UUID]:
    """The ids of an ``/item_tag`` DELETE: uuid strings or tags with their ``id`` (422 for a tag without
    one or an entry of another kind, as EHRbase answers)."""
    ids = []
    for i, entry in enumerate(_json_array("item tag ids or item tags")):
        where = f"/{i}"
        if isinstance(entry, dict):
            if entry.get("id") is None:
                raise Unprocessable(f"{where}: expected the item tag to contain an 'id'")
            ids.append(_uuid(entry["id"], f"{where}/id"))
        elif isinstance(entry, str):
            ids.append(_uuid(entry, where))
        else:
            raise Unprocessable(f"{where}: expected an item tag or a UUID string")
    return ids


def id_and_key_filters() -> tuple[list[uuid.UUID], list[str]]:
    """``ids`` and ``keys`` of an ``/item_tag`` GET, each repeated or comma-separated."""
    return [_uuid(value, "ids") for value in _listed("ids")], _listed("keys")


def _listed(name: str) -> list[str]:
    """The values of query parameter ``name``, repeated or comma-separated (as Spring binds a list)."""
    values = request.args.getlist(name)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def experimental_tag_document(tag: ItemTag) -> dict[str, Any]:
    """A tag as EHRbase's ``/item_tag`` API writes it."""
    doc: dict[str, Any] = {
        "id": str(tag.tag_id),
        "owner_id": str(tag.target.ehr_id),
        "target": str(tag.target.vo_id),
        "target_type": tag.target.kind,
    }
    if tag.target_path is not None:
        doc["target_path"] = tag.target_path
    doc["key"] = tag.key
    if tag.value is not None:
        doc["value"] = tag.value
    return doc


__all__ = [
    "ehr_tag_filters",
    "experimental_tag_document",
    "id_and_key_filters",
    "item_tag_document",
    "tag_ids_from_body",
    "tag_updates_from_body",
    "tags_from_body",
]
