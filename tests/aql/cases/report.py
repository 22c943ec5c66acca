"""``python -m tests.aql.cases.report [sqlite|postgresql] [filter] [--write-passing]``: replay the EHRbase
AQL manifest in-process and print the per-area table (passed, failed, skipped) and every failure.

``--write-passing`` rewrites ``ehrbase_passing.txt`` with the cases that pass on every dialect given.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from cdr.storage import Storage
from tests.aql.cases.ehrbase import Outcome, Suite, load_suites, run_suite
from tests.corpus import CORPUS
from tests.storage.conftest import POSTGRES_URL

PASSING = Path(__file__).parent / "ehrbase_passing.txt"


@contextmanager
def empty_storage(dialect: str) -> Iterator[Storage]:
    """A new, empty store: a SQLite file, or a PostgreSQL database on CDR_TEST_POSTGRES_URL's server (dropped
    afterwards)."""
    if dialect != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            storage = Storage.open(f"sqlite:///{tmp}/cdr.db", system_id="test.cdr")
            try:
                yield storage
            finally:
                storage.close()
        return
    if not POSTGRES_URL:
        sys.exit("CDR_TEST_POSTGRES_URL is not set")
    url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"cdr_aql_report_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    storage = Storage.open(url.set(database=name), system_id="test.cdr")
    try:
        yield storage
    finally:
        storage.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def suites(pattern: str) -> Iterator[Suite]:
    """The manifest's suites whose path holds ``pattern``."""
    root = CORPUS / "ehrbase-integration-tests"
    for suite in load_suites(root / "DERIVED_aql_cases.json", root / "test_data_sets"):
        if pattern in suite.path:
            yield suite


def run(dialect: str, pattern: str) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for suite in suites(pattern):
        with empty_storage(dialect) as storage:
            outcomes.extend(run_suite(suite, storage))
    return outcomes


def main(argv: list[str]) -> None:
    write = "--write-passing" in argv
    args = [a for a in argv if not a.startswith("--")]
    dialects = [a for a in args if a in ("sqlite", "postgresql")] or ["sqlite"]
    pattern = next((a for a in args if a not in ("sqlite", "postgresql")), "")
    passed_everywhere: set[str] | None = None
    for dialect in dialects:
        outcomes = run(dialect, pattern)
        areas: dict[str, Counter[str]] = defaultdict(Counter)
        for o in outcomes:
            areas[o.area][o.status] += 1
            if o.status == "failed":
                print(f"FAIL [{dialect}] {o.suite} :: {o.case[:120]} -- {o.reason[:400]}")
        print(f"\n{dialect}: {'area':<22}{'passed':>8}{'failed':>8}{'skipped':>9}")
        total: Counter[str] = Counter()
        for area in sorted(areas):
            c = areas[area]
            total.update(c)
            print(f"{'':<{len(dialect) + 2}}{area:<22}{c['passed']:>8}{c['failed']:>8}{c['skipped']:>9}")
        pad = " " * (len(dialect) + 2)
        print(f"{pad}{'TOTAL':<22}{total['passed']:>8}{total['failed']:>8}{total['skipped']:>9}")
        ok = {f"{o.suite} :: {o.case}" for o in outcomes if o.status == "passed"}
        passed_everywhere = ok if passed_everywhere is None else passed_everywhere & ok
    if write and passed_everywhere is not None:
        PASSING.write_text("".join(f"{k}\n" for k in sorted(passed_everywhere)), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
