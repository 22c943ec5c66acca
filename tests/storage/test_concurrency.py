"""Concurrent commits on the same preceding version: exactly one wins, on both databases."""

from __future__ import annotations

import threading

from cdr.errors import CdrError
from cdr.storage import Audit, StaleVersion, Storage
from tests.storage.data import shipped

WRITERS = 8
AUDIT = Audit.by("racer")


def test_exactly_one_concurrent_update_wins(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    v1 = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    doc = shipped("valid_normal.json")
    barrier = threading.Barrier(WRITERS)
    outcomes: list[object] = []
    lock = threading.Lock()

    def update() -> None:
        barrier.wait()
        try:
            result: object = storage.compositions.update(ehr_id, v1.uid, doc, AUDIT)
        except CdrError as error:
            result = error
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=update) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == WRITERS - 1
    assert all(isinstance(o, StaleVersion) for o in losers)
    history = storage.compositions.history(ehr_id, v1.vo_id)
    assert [h.version for h in history] == [1, 2]
    assert history[1].uid == winners[0].uid  # type: ignore[attr-defined]
    assert all(o.latest_uid == history[1].uid for o in losers)  # type: ignore[attr-defined]


def test_concurrent_creations_do_not_block_each_other_out(storage: Storage) -> None:
    """Independent writers all succeed (SQLite serialises them behind its busy timeout)."""
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    errors: list[Exception] = []

    def create() -> None:
        try:
            storage.compositions.create(ehr_id, shipped("valid_normal.json"), AUDIT)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(storage.compositions.list_latest(ehr_id)) == WRITERS
