"""If-Match on every write that takes one (COMPOSITION PUT and DELETE, EHR_STATUS PUT, DIRECTORY PUT and
DELETE): ITS-REST's If-Match is one quoted version uid, so ``*``, lists and malformed uids are 400 before any
lookup, alike everywhere; a well-formed uid that is not the latest is 412 with the latest in ETag."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.api.conftest import ROOT_FOLDER, Api, assert_error, etag, shipped

FOLDER = ROOT_FOLDER
OBJECT_ID = "0f0e4c5a-1a83-4a49-bb7a-1b6b8d4a2f11"
MALFORMED = [
    "*",
    '"*"',
    'W/"*"',
    "abc",
    OBJECT_ID,  # a versioned object id, not a version uid
    f"{OBJECT_ID}::test.cdr::0",
    f"{OBJECT_ID}::test.cdr::-1",
    f"{OBJECT_ID}::test.cdr::2.0",
    f"{OBJECT_ID}::test.cdr::1_0",
    f"{OBJECT_ID}::test.cdr::+1",
    f"{OBJECT_ID}::test.cdr::2147483648",  # beyond any stored version (the database refused it: 500)
    f"{OBJECT_ID}::::1",
    '""',
    f'"{OBJECT_ID}::test.cdr::1", "{OBJECT_ID}::test.cdr::2"',  # a list
]

Write = Callable[[Api, str, dict[str, str]], TestResponse]


def _put_composition(api: Api, ehr_id: str, headers: dict[str, str]) -> TestResponse:
    v1 = api.commit(ehr_id)
    body = json.dumps(shipped("valid_normal.json"))
    path = f"/ehr/{ehr_id}/composition/{v1.split('::')[0]}"
    return api.put(path, data=body, content_type="application/json", headers=headers)


def _delete_composition(api: Api, ehr_id: str, headers: dict[str, str]) -> TestResponse:
    return api.delete(f"/ehr/{ehr_id}/composition/{api.commit(ehr_id)}", headers=headers)


def _put_status(api: Api, ehr_id: str, headers: dict[str, str]) -> TestResponse:
    status: Any = api.get(f"/ehr/{ehr_id}/ehr_status").json
    return api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers=headers)


def _put_directory(api: Api, ehr_id: str, headers: dict[str, str]) -> TestResponse:
    assert api.post(f"/ehr/{ehr_id}/directory", json=FOLDER).status_code == 201
    return api.put(f"/ehr/{ehr_id}/directory", json=FOLDER, headers=headers)


def _delete_directory(api: Api, ehr_id: str, headers: dict[str, str]) -> TestResponse:
    assert api.post(f"/ehr/{ehr_id}/directory", json=FOLDER).status_code == 201
    return api.delete(f"/ehr/{ehr_id}/directory", headers=headers)


WRITES: dict[str, Write] = {
    "composition PUT": _put_composition,
    "composition DELETE": _delete_composition,
    "EHR_STATUS PUT": _put_status,
    "directory PUT": _put_directory,
    "directory DELETE": _delete_directory,
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_malformed_if_match_is_400_on_every_write(nb_api: Api, write: str) -> None:
    for value in MALFORMED:
        body = assert_error(WRITES[write](nb_api, nb_api.new_ehr(), {"If-Match": value}), 400)
        assert "If-Match" in body["message"], (value, body["message"])


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_a_well_formed_if_match_that_is_not_the_latest_is_412(nb_api: Api, write: str) -> None:
    ehr_id = nb_api.new_ehr()
    response = WRITES[write](nb_api, ehr_id, {"If-Match": f'"{uuid.uuid4()}::test.cdr::1"'})
    assert_error(response, 412)


@pytest.mark.parametrize("write", ["composition PUT", "EHR_STATUS PUT", "directory PUT", "directory DELETE"])
def test_if_match_star_is_400_before_the_ehr_is_looked_up(nb_api: Api, write: str) -> None:
    """A malformed header is the request's own error, like a malformed ehr_id: 400, not 404."""
    unknown = str(uuid.uuid4())
    paths = {
        "composition PUT": ("PUT", f"/ehr/{unknown}/composition/{OBJECT_ID}"),
        "EHR_STATUS PUT": ("PUT", f"/ehr/{unknown}/ehr_status"),
        "directory PUT": ("PUT", f"/ehr/{unknown}/directory"),
        "directory DELETE": ("DELETE", f"/ehr/{unknown}/directory"),
    }
    method, path = paths[write]
    body = None if method == "DELETE" else FOLDER
    assert_error(nb_api.request(method, path, json=body, headers={"If-Match": "*"}), 400)


def test_delete_composition_with_if_match_of_its_version_or_without_one(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    quoted = {"If-Match": f'"{v1}"'}
    assert nb_api.delete(f"/ehr/{ehr_id}/composition/{v1}", headers=quoted).status_code == 204
    v1 = nb_api.commit(ehr_id)
    assert nb_api.delete(f"/ehr/{ehr_id}/composition/{v1}").status_code == 204


def test_delete_composition_with_if_match_of_another_version_is_412(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    other = nb_api.commit(ehr_id)
    assert_error(nb_api.delete(f"/ehr/{ehr_id}/composition/{v1}", headers={"If-Match": other}), 412)
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{v1}").status_code == 200  # nothing deleted


def test_delete_composition_by_object_id_takes_the_version_from_if_match(nb_api: Api) -> None:
    """The versioned object id in the path and the latest version in If-Match, as for PUT."""
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    object_id = v1.split("::")[0]
    body = json.dumps(shipped("valid_normal.json"))
    path = f"/ehr/{ehr_id}/composition/{object_id}"
    updated = nb_api.put(path, data=body, content_type="application/json", headers={"If-Match": v1})
    v2 = etag(updated)

    stale = nb_api.delete(path, headers={"If-Match": v1})
    assert_error(stale, 412)
    assert etag(stale) == v2  # the latest, as ITS-REST's 412 answers carry
    foreign = nb_api.commit(ehr_id)
    assert_error(nb_api.delete(path, headers={"If-Match": foreign}), 412)

    deleted = nb_api.delete(path, headers={"If-Match": f'"{v2}"'})
    assert deleted.status_code == 204
    assert etag(deleted).endswith("::3")
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{etag(deleted)}").status_code == 204
