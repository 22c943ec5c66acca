"""Concurrent requests through the REST API on SQLite and PostgreSQL: of several PUTs with the same If-Match
exactly one is committed and every other answers 412 naming the winner (optimistic locking on the version
counter); of several creations of one thing (an EHR under one id or for one subject, a template) one is 201
and the others 409, never a 500 from the database's key; tag writes of one target take turns."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from tests.api.conftest import Api, etag, shipped
from tests.security.test_api_security import status_for
from tests.storage.data import TEMPLATES

WRITERS = 6


def test_same_if_match_exactly_one_put_wins(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    first = nb_api.commit(ehr_id)
    object_id = first.split("::")[0]
    body = shipped("valid_high_risk.json")
    barrier = threading.Barrier(WRITERS)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def update() -> None:
        client = Api(nb_api.app)  # one test client per thread, one app and database
        barrier.wait()
        response = client.put(
            f"/ehr/{ehr_id}/composition/{object_id}", json=body, headers={"If-Match": f'"{first}"'}
        )
        with lock:
            results.append((response.status_code, etag(response) if "ETag" in response.headers else ""))

    threads = [threading.Thread(target=update) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * (WRITERS - 1), results
    winner = next(tag for status, tag in results if status == 200)
    assert winner == f"{object_id}::test.cdr::2"
    assert all(tag == winner for status, tag in results if status == 412), "412s name the latest version"
    history = nb_api.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history").json
    assert [item["version_id"]["value"] for item in history["items"]] == [first, winner]


def test_tags_changed_at_once_take_turns(nb_api: Api) -> None:
    """Several requests setting the same tag of one composition at once (EHRbase's /item_tag PUT and
    ITS-REST's /tags PUT): each is answered 2xx, none fails on the table's key, and one tag remains."""
    ehr_id = nb_api.new_ehr()
    object_id = nb_api.commit(ehr_id).split("::")[0]
    barrier = threading.Barrier(WRITERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def put(i: int) -> None:
        client = Api(nb_api.app)
        barrier.wait()
        if i % 2:
            url, body = f"/ehr/{ehr_id}/composition/{object_id}/item_tag", [{"key": "k", "value": f"v{i}"}]
        else:
            url, body = f"/ehr/{ehr_id}/composition/{object_id}/tags", [{"key": "k", "value": f"v{i}"}]
        response = client.put(url, json=body)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == sorted([200, 204] * (WRITERS // 2)), statuses
    tags = nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}/item_tag").json
    assert [tag["key"] for tag in tags] == ["k"]


def _at_once(api: Api, call: Callable[[Api], Any]) -> list[int]:
    """The statuses of WRITERS clients making ``call`` at the same moment."""
    barrier = threading.Barrier(WRITERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        client = Api(api.app)
        barrier.wait()
        response = call(client)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=run) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_one_thing_created_at_once_is_created_once_and_the_rest_are_409s(nb_api: Api) -> None:
    subject = status_for("13116900216")
    assert _at_once(nb_api, lambda c: c.post("/ehr", json=subject)) == [201] + [409] * (WRITERS - 1)
    ehr_id = str(uuid.uuid4())
    assert _at_once(nb_api, lambda c: c.put(f"/ehr/{ehr_id}")) == [201] + [409] * (WRITERS - 1)
    opt = (TEMPLATES / "municipal_vital_signs_news2.en.opt").read_bytes()  # the nb one is uploaded
    uploads = _at_once(
        nb_api, lambda c: c.post("/definition/template/adl1.4", data=opt, content_type="application/xml")
    )
    assert uploads == [201] + [409] * (WRITERS - 1)
