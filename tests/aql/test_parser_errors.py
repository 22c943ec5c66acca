"""Syntax errors: every error is reported, each with the right 1-based line and column and offending text."""

from __future__ import annotations

import pytest

import aql
from aql import AqlError, AqlSyntaxError, SyntaxIssue

# query, then (line, column, offending text) of each error, in order
CASES = [
    ("", [(1, 1, "<EOF>")]),
    ("SELECT", [(1, 7, "<EOF>")]),
    ("SELECT c FROM", [(1, 14, "<EOF>")]),
    ("SELECT c FROM COMPOSITION c CONTAINS", [(1, 37, "<EOF>")]),
    ("SELECT c FROM COMPOSITION c WHERE c/x XOR c/y", [(1, 39, "XOR")]),
    ("SELECT c FROM COMPOSITION c WHERE c/x BETWEEN 1 OR 2", [(1, 49, "OR")]),
    ("SELECT c FROM COMPOSITION c WHERE c/a = # 1", [(1, 41, "#")]),
    ("SELECT c FROM COMPOSITION c WHERE (c/x = 1", [(1, 43, "<EOF>")]),
    ("SELECT c FROM COMPOSITION c WHERE c/x MATCHES {}", [(1, 48, "}")]),
    ("SELECT c FROM COMPOSITION c ORDER c/x", [(1, 35, "c")]),
    ("SELECT c FROM COMPOSITION c LIMIT -1", [(1, 35, "-")]),
    ("SELECT c FROM COMPOSITION c[openEHR-EHR-COMPOSITION.x.v1 ORDER BY c/x", [(1, 58, "ORDER")]),
    ("SELECT o/data[at0001]/.../items[at0004] FROM OBSERVATION o", [(1, 23, ".")]),
    ("SELECT c FROM COMPOSITION c WHERE c/name/value = 'x", [(1, 50, "'x")]),
    ("SELECT c\nFROM COMPOSITION c\nWHERE c/a = 'x' AND\n  c/b = \"abc\nORDER BY c/x", [(4, 9, '"abc')]),
    ("SELECT c,\n  FROM COMPOSITION c\nWHERE c/x = = 1", [(2, 3, "FROM"), (2, 20, "c"), (3, 13, "=")]),
    ("SELECT COUNT(*) AS FROM COMPOSITION c", [(1, 20, "FROM"), (1, 37, "c")]),
    ("SELECT c FROM EHR e CONTAINS (COMPOSITION c\n  AND CONTAINS OBSERVATION o)", [(2, 7, "CONTAINS")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_error_positions(text: str, expected: list[tuple[int, int, str]]) -> None:
    with pytest.raises(AqlSyntaxError) as caught:
        aql.parse(text)
    assert [(e.line, e.column, e.offending) for e in caught.value.errors] == expected
    assert (caught.value.line, caught.value.column) == expected[0][:2]


def test_error_carries_messages_with_upper_case_keywords() -> None:
    with pytest.raises(AqlSyntaxError) as caught:
        aql.parse("SELECT c FROM COMPOSITION c ORDER c/x")
    assert caught.value.errors == (SyntaxIssue(1, 35, "c", "missing 'BY' at 'c'"),)
    assert str(caught.value) == "line 1, column 35: missing 'BY' at 'c'"


def test_unterminated_string_is_named() -> None:
    with pytest.raises(AqlSyntaxError, match="unterminated string 'x"):
        aql.parse("SELECT c FROM COMPOSITION c WHERE c/name/value = 'x")


def test_syntax_error_is_an_aql_error() -> None:
    with pytest.raises(AqlError):
        aql.parse("SELECT c FROM")
