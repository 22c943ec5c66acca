"""Aggregates whose argument AQL 1.1 does not admit are 400 semantic errors (not "not supported"): SUM and
AVG take Integer or Real values, MIN and MAX String, Date, Time, Integer or Real (AQL 1.1 "Aggregate
functions"), so a whole data value (use its magnitude), a LOCATABLE or an EHR is refused, on SQLite and
PostgreSQL; what they do admit is in ``cases/own_cases.json`` and the EHRbase replay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aql.errors import AqlSemanticError
from aql.execute import execute
from cdr.storage import Storage
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401

QUANTITY = "o/data[at0001]/events[at0002]/data[at0003]/items[at0008]/value"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (f"SELECT SUM({QUANTITY}) FROM OBSERVATION o", "SUM takes Integer or Real values.*use its magnitude"),
        (f"SELECT AVG({QUANTITY}) FROM OBSERVATION o", "AVG takes Integer or Real values.*use its magnitude"),
        ("SELECT AVG(o) FROM OBSERVATION o", "AVG takes Integer or Real values, not a whole object"),
        ("SELECT SUM(e/time_created/value) FROM EHR e", "SUM takes Integer or Real values"),
        ("SELECT MAX(e) FROM EHR e", "MAX takes String, Date, Time, Integer or Real values, not an EHR"),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_aggregate_of_a_value_aql_does_not_admit(
    dialect: str,
    query: str,
    message: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    with pytest.raises(AqlSemanticError, match=message):
        execute(new_storage(dialect), query)
