"""The ITEM_TAG handlers that COMPOSITION and EHR_STATUS share (ITS-REST ``.../{uid_based_id}/tags``).

The routes stay on the resource's own blueprint, so that the security layer treats them as that resource:
the same scopes, the same composition-level restrictions, the same audit.
"""

from __future__ import annotations

from flask import Response, jsonify

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.headers import wants_representation
from cdr.api.schemas.item_tags import item_tag_document, tags_from_body
from cdr.services import item_tags as service
from cdr.storage.item_tags import ItemTag


def tags_response(tags: list[ItemTag]) -> Response:
    return jsonify([item_tag_document(tag) for tag in tags])


def get_tags(kind: str, ehr_id: str, uid_based_id: str) -> Response:
    return tags_response(service.get_tags(svc(), ctx(), ehr_uuid(ehr_id), kind, uid_based_id))


def put_tags(kind: str, ehr_id: str, uid_based_id: str) -> Response:
    """200 with the stored list under ``Prefer: return=representation``, else 204."""
    stored = service.set_tags(svc(), ctx(), ehr_uuid(ehr_id), kind, uid_based_id, tags_from_body())
    return tags_response(stored) if wants_representation() else Response(status=204)


def delete_tags(kind: str, ehr_id: str, uid_based_id: str, key: str) -> Response:
    service.delete_tags(svc(), ctx(), ehr_uuid(ehr_id), kind, uid_based_id, key)
    return Response(status=204)
