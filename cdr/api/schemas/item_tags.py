"""ITEM_TAG requests and responses (ITS-REST ``/tags``).

A PUT body is a JSON array of UPDATE_ITEM_TAG objects (``key``, optional ``value`` and ``target_path``, no
other member); an answer is an array of ITEM_TAG documents with the ``target`` and ``owner_id`` OBJECT_REFs
(namespace ``local``; the target a HIER_OBJECT_ID for a versioned object, an OBJECT_VERSION_ID for a version).
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields

from cdr.api.errors import ApiError, UnsupportedMediaType
from cdr.api.representation import content_type, is_json
from cdr.services.errors import Issue
from cdr.services.item_tags import TagInput
from cdr.storage.item_tags import OBJECT, ItemTag


class UpdateItemTag(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True)
    value = fields.String(load_default=None)
    target_path = fields.String(load_default=None)


def tags_from_body() -> list[TagInput]:
    """The tags of a PUT: 415 for a body that is not JSON by its type, 400 naming the member at fault."""
    mimetype = content_type()
    if mimetype and not is_json(mimetype):
        raise UnsupportedMediaType(f"Content-Type {mimetype!r}: tags are sent as application/json")
    raw = request.get_data(as_text=True)
    try:
        data: Any = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ApiError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise ApiError("the body must be a JSON array of tags ({key, value, target_path})")
    loaded: list[TagInput] = []
    for i, item in enumerate(data):
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


__all__ = ["ehr_tag_filters", "item_tag_document", "tags_from_body"]
