"""The bounded string memo of the commit path's per-node checks (cdr/memo.py)."""

from __future__ import annotations

from cdr.memo import StringMemo
from cdr.rm.data_types.iso8601 import full_date_time
from cdr.storage.decompose import is_archetype_root


def test_a_memo_computes_once_per_text_and_starts_over_when_full() -> None:
    calls: list[str] = []

    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    memo = StringMemo(length, limit=2)
    assert [memo("a"), memo("bb"), memo("a"), memo("bb")] == [1, 2, 1, 2]
    assert calls == ["a", "bb"]
    assert memo("ccc") == 3  # the third text empties it first
    assert len(memo.known) == 1 and memo("a") == 1 and calls == ["a", "bb", "ccc", "a"]


def test_memoised_checks_answer_as_before_on_repeats() -> None:
    for _ in range(2):  # the second round is answered from the memos
        assert full_date_time("2021-03-01T10:20:30+01:00") is not None
        assert full_date_time("2021-02-30T10:20:30Z") is None  # no such day
        assert full_date_time("20210301") is None  # not the complete extended form
        assert is_archetype_root({"archetype_node_id": "openEHR-EHR-OBSERVATION.blood_pressure.v2"})
        assert not is_archetype_root({"archetype_node_id": "at0001"})
