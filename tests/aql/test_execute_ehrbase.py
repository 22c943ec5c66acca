"""The EHRbase AQL manifest, in-process on SQLite and PostgreSQL: every suite's data loaded through the
stores, every query judged as the conformance runner judges it (:mod:`tests.aql.cases.ehrbase`).

``cases/ehrbase_passing.txt`` lists the cases that pass on both databases; a listed case that fails is a
regression. Run ``python -m tests.aql.cases.report`` for the per-area table and every failure's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cdr.storage import Storage
from tests.aql.cases.ehrbase import load_suites, run_suite
from tests.aql.cases.fixtures import (  # noqa: F401
    DIALECTS,
    ehrbase_data,
    new_storage,
    postgres,
    postgres_engine,
)

PASSING = Path(__file__).parent / "cases" / "ehrbase_passing.txt"
AREAS = sorted({line.split("/")[0] for line in PASSING.read_text(encoding="utf-8").splitlines() if line})


def passing(area: str) -> set[str]:
    return {line for line in PASSING.read_text(encoding="utf-8").splitlines() if line.startswith(area + "/")}


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_manifest_area(dialect: str, area: str, new_storage: Callable[[str], Storage]) -> None:  # noqa: F811
    root = ehrbase_data()
    suites = [
        s for s in load_suites(root / "DERIVED_aql_cases.json", root / "test_data_sets") if s.area == area
    ]
    must_pass = passing(area)
    failures = []
    for suite in suites:
        wanted = [c for c in suite.raw.get("cases", []) if f"{suite.short} :: {c.get('name')}" in must_pass]
        if not wanted:
            continue
        for outcome in run_suite(suite, new_storage(dialect)):
            key = f"{outcome.suite} :: {outcome.case}"
            if key in must_pass and outcome.status != "passed":
                failures.append(f"{key}: {outcome.status} {outcome.reason[:300]}")
    assert not failures, "\n".join(failures)
