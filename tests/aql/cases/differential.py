"""``python -m tests.aql.cases.differential [filter]``: every query of the EHRbase AQL manifest on SQLite and
on PostgreSQL, the two answers compared with each other (not with EHRbase's files).

The replay (``report``) judges each database against the expected files, which ignore row order and leave out
cases without an oracle; this compares the databases with each other on every query that can be sent, in
order where the query has ORDER BY. Ids and times that differ between two loads (uuids, version uids, today's
commit times, the random subject namespaces) are masked. Answers with other rows are differences (exit 1);
answers with the same rows in another order are listed apart, to be read: rows that tie in the ORDER BY
(the rows without the sorted value, say) may come out in either order. The suite that compares
``c/uid/value`` with fixed uuids (``as_in_result``) depends on the ids each load draws and may differ by
chance. Needs the corpus and ``CDR_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Any

from aql.execute import execute
from cdr.storage import Storage
from tests.aql.cases.ehrbase import Loader, Suite, case_query
from tests.aql.cases.report import empty_storage, suites
from tests.storage.conftest import POSTGRES_URL

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_VERSION = re.compile(r"::test\.cdr::\d+")
_NAMESPACE = re.compile(r"namespace_\d+")


def _mask(row: Any) -> str:
    today = re.compile(dt.date.today().isoformat() + r"T[0-9:.]+(Z|[+-]\d\d:\d\d)?")
    text = json.dumps(row, sort_keys=True, default=str)
    masks = ((_UUID, "<uuid>"), (today, "<now>"), (_VERSION, "::test.cdr::n"), (_NAMESPACE, "ns"))
    for pattern, mask in masks:
        text = pattern.sub(mask, text)
    return text


def answers(suite: Suite, storage: Storage) -> dict[str, tuple[str, Any]]:
    """Each case's query (as sent) and its masked rows (sorted unless the query orders them), or its error."""
    loader = Loader(suite, storage)
    loader.run()
    table = suite.csv_rows()
    out: dict[str, tuple[str, Any]] = {}
    for case in suite.raw.get("cases", []):
        prepared = case_query(loader, case, table) if case.get("query") else "no query"
        if isinstance(prepared, str):
            continue
        query = prepared.text
        try:
            rows = [_mask(r) for r in execute(storage, query, prepared.params).rows]
            out[case["name"]] = (query, rows if "ORDER BY" in query.upper() else sorted(rows))
        except Exception as exc:  # the other database may fail the same way: compared like rows
            out[case["name"]] = (query, f"{type(exc).__name__}: {str(exc)[:200]}")
    return out


def main(argv: list[str]) -> int:
    if not POSTGRES_URL:
        sys.exit("CDR_TEST_POSTGRES_URL is not set")
    differing, reordered = 0, []
    for suite in suites(argv[0] if argv else ""):
        with empty_storage("sqlite") as storage:
            on_sqlite = answers(suite, storage)
        with empty_storage("postgresql") as storage:
            on_postgres = answers(suite, storage)
        for name, (query, rows) in on_sqlite.items():
            other = on_postgres.get(name, (query, None))[1]
            if rows == other:
                continue
            if isinstance(rows, list) and isinstance(other, list) and sorted(rows) == sorted(other):
                reordered.append(f"{suite.path} :: {name[:100]}")
                continue
            differing += 1
            print(f"DIFFERS {suite.path} :: {name[:100]}\n  {query[:300]}")
            print(f"  sqlite:     {str(rows)[:1200]}\n  postgresql: {str(other)[:1200]}")
    for case in reordered:
        print(f"SAME ROWS, OTHER ORDER (ties?) {case}")
    print(f"{differing} answered with other rows, {len(reordered)} with the same rows in another order")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
