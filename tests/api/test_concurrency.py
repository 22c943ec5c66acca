"""Concurrent updates of one composition through the REST API: of several PUTs with the same If-Match, exactly
one is committed and every other answers 412 naming the winner (optimistic locking on the version counter),
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from tests.api.conftest import Api, etag, shipped

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
