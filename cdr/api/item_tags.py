"""The ITEM_TAG handlers that COMPOSITION and EHR_STATUS share: ITS-REST ``.../{uid_based_id}/tags`` and
EHRbase's experimental ``.../{versioned_object_uid}/item_tag``.

The routes stay on the resource's own blueprint, so that the security layer treats them as that resource:
the same scopes, the same composition-level restrictions, the same audit.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.headers import wants_representation
from cdr.api.openapi import documented
from cdr.api.representation import JSON
from cdr.api.schemas.item_tags import (
    experimental_tag_document,
    id_and_key_filters,
    item_tag_document,
    tag_ids_from_body,
    tag_updates_from_body,
    tags_from_body,
)
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


# --- EHRbase's experimental /item_tag ---------------------------------------------------------------------


def _located(body: list[object]) -> Response:
    """A JSON answer with the tags' own URL in ``Location``, as EHRbase answers."""
    response = jsonify(body)
    response.headers["Location"] = request.base_url
    return response


def _experimental(tags: list[ItemTag]) -> Response:
    return _located([experimental_tag_document(tag) for tag in tags])


def get_item_tags(kind: str, ehr_id: str, uid: str) -> Response:
    ids, keys = id_and_key_filters()
    return _experimental(service.find_tags(svc(), ctx(), ehr_uuid(ehr_id), kind, uid, ids, keys))


def put_item_tags(kind: str, ehr_id: str, uid: str) -> Response:
    """200 with the ids of the tags stored, or the tags under ``Prefer: return=representation``."""
    stored = service.upsert_tags(svc(), ctx(), ehr_uuid(ehr_id), kind, uid, tag_updates_from_body())
    if wants_representation():
        return _experimental(stored)
    return _located([str(tag.tag_id) for tag in stored])


def delete_item_tags(kind: str, ehr_id: str, uid: str) -> Response:
    service.delete_tag_ids(svc(), ctx(), ehr_uuid(ehr_id), kind, uid, tag_ids_from_body())
    return Response(status=204)


def add_item_tag_routes(bp: Blueprint, resource: str, kind: str, name: str) -> None:
    """EHRbase's ``/item_tag`` routes of ``kind`` on its own blueprint ``bp`` (so the security layer treats
    them as that resource), as the endpoints ``get_/put_/delete_{name}_item_tags``."""
    rule = f"/ehr/<ehr_id>/{resource}/<uid_based_id>/item_tag"

    def get_view(ehr_id: str, uid_based_id: str) -> Response:
        return get_item_tags(kind, ehr_id, uid_based_id)

    def put_view(ehr_id: str, uid_based_id: str) -> Response:
        return put_item_tags(kind, ehr_id, uid_based_id)

    def delete_view(ehr_id: str, uid_based_id: str) -> Response:
        return delete_item_tags(kind, ehr_id, uid_based_id)

    get_view.__doc__ = (
        f"EHRbase's experimental API: the {kind}'s tags (its versioned object's), by ids, keys."
    )
    put_view.__doc__ = (
        f"EHRbase's experimental API: add or change {kind} tags one by one (by id, else key/path)."
    )
    delete_view.__doc__ = f"EHRbase's experimental API: delete the {kind}'s tags with the ids in the body."
    views = (
        ("GET", get_view, documented(200, 400, 404, tag="ITEM_TAG", produces=(JSON,))),
        (
            "PUT",
            put_view,
            documented(
                200,
                400,
                404,
                409,
                415,
                422,
                tag="ITEM_TAG",
                headers=("Prefer",),
                consumes=(JSON,),
                produces=(JSON,),
            ),
        ),
        (
            "DELETE",
            delete_view,
            documented(204, 400, 404, 409, 415, 422, tag="ITEM_TAG", consumes=(JSON,), produces=()),
        ),
    )
    for method, view, document in views:
        endpoint = f"{method.lower()}_{name}_item_tags"
        bp.add_url_rule(rule, endpoint=endpoint, view_func=document(view), methods=[method])
