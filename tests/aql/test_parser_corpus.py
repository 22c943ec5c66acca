"""Every AQL query of the corpus parses (and prints back to an equal AST), except the listed ones, which fail
for the reason given: the spec's examples document shows ADL constraints, subqueries and arithmetic that AQL
1.1 has no syntax for. EHRbase's BETWEEN cases (marked not-ready there) parse: BETWEEN is read as EHRbase 1.x
read it, two comparisons.
"""

from __future__ import annotations

import pytest

from aql import AqlSyntaxError, to_aql
from aql.parser import parse_uncached
from tests.aql import CorpusQuery, ehrbase_queries, spec_listings
from tests.corpus import require_corpus

# listing -> why it is not AQL 1.1
NOT_AQL_LISTINGS = {
    "docs/AQL/master02-overview.adoc:39": "elides path steps with '/.../'",
    "docs/AQL_examples/master03-syntax-operator.adoc:13": "ADL constraint inside matches {...}",
    "docs/AQL_examples/master03-syntax-operator.adoc:53": "no FROM keyword; ADL constraint in matches",
    "docs/AQL_examples/master03-syntax-operator.adoc:94": "no FROM keyword; ADL constraint in matches",
    "docs/AQL_examples/master03-syntax-operator.adoc:122": "no FROM keyword; ADL constraint in matches",
    "docs/AQL_examples/master03-syntax-operator.adoc:151": "'AND CONTAINS', ADL constraints, arithmetic '-'",
    "docs/AQL_examples/master03-syntax-operator.adoc:175": "NOT IN with a subquery",
}

# EHRbase case -> (expected error, why)
EHRBASE_EXCEPTIONS = {
    # the manifest's extraction cut this query short; its full text is the '/expected' entry of the same case
    "WHERE/SIMPLE_COMPARE/compare_by_dv_ordered_cdr_1404#1": (AqlSyntaxError, "truncated before FROM"),
}


def _ids(queries: tuple[CorpusQuery, ...]) -> list[CorpusQuery | str]:
    return list(queries) or ["<corpus absent>"]


def _id(case: CorpusQuery | str) -> str:
    return case.source if isinstance(case, CorpusQuery) else case


def _check_parses_and_round_trips(case: CorpusQuery) -> None:
    query = parse_uncached(case.text)
    assert parse_uncached(to_aql(query)) == query, to_aql(query)


@pytest.mark.corpus
@pytest.mark.parametrize("case", _ids(spec_listings()), ids=_id)
def test_spec_listing(case: CorpusQuery | str) -> None:
    require_corpus()
    assert isinstance(case, CorpusQuery)
    if case.source in NOT_AQL_LISTINGS:
        with pytest.raises(AqlSyntaxError):
            parse_uncached(case.text)
    else:
        _check_parses_and_round_trips(case)


@pytest.mark.corpus
@pytest.mark.parametrize("case", _ids(ehrbase_queries()), ids=_id)
def test_ehrbase_query(case: CorpusQuery | str) -> None:
    require_corpus()
    assert isinstance(case, CorpusQuery)
    if case.source in EHRBASE_EXCEPTIONS:
        error, _why = EHRBASE_EXCEPTIONS[case.source]
        with pytest.raises(error):
            parse_uncached(case.text)
    else:
        _check_parses_and_round_trips(case)


@pytest.mark.corpus
def test_listed_exceptions_exist() -> None:
    """The exception tables name real corpus entries (a renamed source must not silently widen the tests)."""
    require_corpus()
    assert set(NOT_AQL_LISTINGS) <= {c.source for c in spec_listings()}
    assert set(EHRBASE_EXCEPTIONS) <= {c.source for c in ehrbase_queries()}
