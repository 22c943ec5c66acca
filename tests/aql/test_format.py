"""The printer: canonical AQL text per construct, and parse(to_aql(parse(q))) == parse(q).

The corpus round trip (spec listings and EHRbase queries) runs in test_parser_corpus.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import aql
from aql import ast as a
from aql import to_aql
from aql.literals import quote, unquote

# input, canonical text
CANONICAL = [
    ("select c from composition c", "SELECT c FROM COMPOSITION c"),
    ("SELECT DISTINCT TOP 5 forward c/name/value as n, c FROM EHR e contains Composition c",
     "SELECT DISTINCT TOP 5 FORWARD c/name/value AS n, c FROM EHR e CONTAINS COMPOSITION c"),
    ("SELECT c FROM EHR[ehr_id/value = $id] CONTAINS COMPOSITION c [openEHR-EHR-COMPOSITION.encounter.v1]",
     "SELECT c FROM EHR[ehr_id/value=$id] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1]"),
    ("SELECT o/items[at0002 , 'x']/value, o/items[at0002,at0003], o/items[at0002, sct::1|a b|] FROM EHR o",
     "SELECT o/items[at0002, 'x']/value, o/items[at0002, at0003], o/items[at0002, sct::1|a b|] FROM EHR o"),
    ("SELECT o/items[at0002 AND name/value=\"x\" and value/magnitude >= 1] FROM OBSERVATION o",
     "SELECT o/items[at0002 and name/value='x' and value/magnitude>=1] FROM OBSERVATION o"),
    ("SELECT o/items[archetype_node_id = at0002] FROM OBSERVATION o",
     "SELECT o/items[archetype_node_id='at0002'] FROM OBSERVATION o"),
    ("SELECT c FROM EHR e CONTAINS COMPOSITION c AND (OBSERVATION o OR EVALUATION v)",
     "SELECT c FROM EHR e CONTAINS (COMPOSITION c AND (OBSERVATION o OR EVALUATION v))"),
    ("SELECT c FROM (EHR e CONTAINS COMPOSITION c) OR EHR_STATUS s",
     "SELECT c FROM (EHR e CONTAINS COMPOSITION c) OR EHR_STATUS s"),
    ("SELECT c FROM EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o",
     "SELECT c FROM EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o"),
    ("SELECT v FROM VERSION v[latest_version] CONTAINS COMPOSITION c",
     "SELECT v FROM VERSION v[LATEST_VERSION] CONTAINS COMPOSITION c"),
    ("SELECT c FROM COMPOSITION c WHERE (c/a = 1 OR c/b <> 2) AND NOT (c/c = 3 OR EXISTS c/d)",
     "SELECT c FROM COMPOSITION c WHERE (c/a = 1 OR c/b != 2) AND NOT (c/c = 3 OR EXISTS c/d)"),
    ("SELECT c FROM COMPOSITION c WHERE ((c/a = 1)) OR (c/b = 2 AND c/c = 3)",
     "SELECT c FROM COMPOSITION c WHERE c/a = 1 OR c/b = 2 AND c/c = 3"),
    ("SELECT c FROM COMPOSITION c WHERE c/a matches TERMINOLOGY('expand', \"api\", 'p')",
     "SELECT c FROM COMPOSITION c WHERE c/a MATCHES {TERMINOLOGY('expand', 'api', 'p')}"),
    ("SELECT c FROM COMPOSITION c WHERE c/a matches { terminology://x/y?z=1 ,$p, 1.50 }",
     "SELECT c FROM COMPOSITION c WHERE c/a MATCHES {terminology://x/y?z=1, $p, 1.50}"),
    ("SELECT count(*), count(distinct c/a), min(c/b), length(c/n), now() FROM COMPOSITION c",
     "SELECT COUNT(*), COUNT(DISTINCT c/a), MIN(c/b), LENGTH(c/n), NOW() FROM COMPOSITION c"),
    ("SELECT true, false, null, -1, 2.5e-3, \"it's\" FROM COMPOSITION c",
     "SELECT true, false, NULL, -1, 0.0025, 'it\\'s' FROM COMPOSITION c"),
    ("SELECT c FROM COMPOSITION c WHERE c/a LIKE 'x\\*y?' ORDER BY c/a, c/b descending LIMIT 2 offset 4",
     "SELECT c FROM COMPOSITION c WHERE c/a LIKE 'x\\*y?' ORDER BY c/a ASC, c/b DESC LIMIT 2 OFFSET 4"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_text(text: str, canonical: str) -> None:
    query = aql.parse(text)
    assert to_aql(query) == canonical
    assert aql.parse(canonical) == query


def select_literal(literal: a.Literal) -> a.Query:
    return a.Query(a.SelectClause((a.SelectItem(literal),)), a.ClassExpression("EHR"))


@pytest.mark.parametrize(
    "value",
    ["", "plain", "it's", 'say "hi"', "back\\slash", "trailing\\", "\\*\\?\\%\\_", "\\n is not a newline",
     "line\nbreak", "tab\there", "\\u0041 literally", "æøå ✓"],
)  # fmt: skip
def test_string_round_trip(value: str) -> None:
    assert unquote(quote(value)) == value
    query = select_literal(a.Literal(value, a.AqlType.STRING))
    assert aql.parse(to_aql(query)) == query


@pytest.mark.parametrize("value", ["0.1", "-12.50", "1E+30", "3.14159E-12"])
def test_real_round_trip(value: str) -> None:
    query = select_literal(a.Literal(Decimal(value), a.AqlType.REAL))
    parsed = aql.parse(to_aql(query)).select.items[0].expression
    assert isinstance(parsed, a.Literal) and parsed.type is a.AqlType.REAL and parsed.value == Decimal(value)


def test_nested_contains_inside_and_keeps_its_meaning() -> None:
    """A CONTAINS under AND must be parenthesised, or its CONTAINS would swallow the other operands."""
    tree = a.Contains(
        a.ClassExpression("EHR", "e"),
        a.ContainsAnd(
            (a.Contains(a.ClassExpression("COMPOSITION", "c"), a.ClassExpression("OBSERVATION", "o")),
             a.ClassExpression("EHR_STATUS", "s"))
        ),
    )  # fmt: skip
    query = a.Query(a.SelectClause((a.SelectItem(a.IdentifiedPath("c")),)), tree)
    assert to_aql(query) == (
        "SELECT c FROM EHR e CONTAINS ((COMPOSITION c CONTAINS OBSERVATION o) AND EHR_STATUS s)"
    )
    assert aql.parse(to_aql(query)) == query


def test_not_over_and_keeps_parentheses() -> None:
    c, c_x = a.IdentifiedPath("c"), a.IdentifiedPath("c", (a.PathStep("x"),))
    cond = a.Not(a.And((a.Exists(c), a.Exists(c_x))))
    assert to_aql(cond) == "NOT (EXISTS c AND EXISTS c/x)"


def test_printer_rejects_foreign_objects() -> None:
    with pytest.raises(TypeError):
        to_aql(object())
