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
