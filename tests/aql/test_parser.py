"""AST shape of representative queries, semantic checks, parameters, the parse cache, the generated code."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

import aql
from aql import ast as a
from aql import cache
from aql.errors import AqlSemanticError, AqlUnsupported
from aql.format import to_aql
from aql.grammar import regenerate
from aql.parser import parse_uncached

OPS = {op.value: op for op in a.ComparisonOperator}
TYPES = {str: a.AqlType.STRING, int: a.AqlType.INTEGER, Decimal: a.AqlType.REAL, bool: a.AqlType.BOOLEAN}
ARCH = a.ArchetypePredicate


def lit(value: str | int | Decimal | bool | None, type_: a.AqlType | None = None) -> a.Literal:
    """A literal, typed by its Python type unless ``type_`` is given."""
    return a.Literal(value, type_ or TYPES.get(type(value), a.AqlType.NULL))


def steps(text: str) -> tuple[a.PathStep, ...]:
    """Predicate-free steps from ``a/b/c``, so that expected trees stay short."""
    return tuple(a.PathStep(name) for name in text.split("/"))


def p(text: str, *more: a.PathStep) -> a.IdentifiedPath:
    """``p("c/name/value")``: an identified path without predicates, plus any further ``more`` steps."""
    variable, _, rest = text.partition("/")
    return a.IdentifiedPath(variable, (steps(rest) if rest else ()) + more)


def at(attribute: str, predicate: a.Predicate | str) -> a.PathStep:
    """A step with a predicate; a string is an at-code node predicate."""
    return a.PathStep(attribute, a.NodePredicate(predicate) if isinstance(predicate, str) else predicate)


def cond(path: str, op: str, value: a.Literal | a.Parameter) -> a.PredicateCondition:
    return a.PredicateCondition(steps(path), OPS[op], value)


def cmp(left: a.Expression, op: str, right: a.Expression) -> a.Comparison:
    return a.Comparison(left, OPS[op], right)


def std(*conditions: a.PredicateCondition) -> a.NodePredicate:
    """A standard predicate: conditions only."""
    return a.NodePredicate(conditions=conditions)


def np(node_id: str | None, name: a.Name | None = None, *conditions: a.PredicateCondition) -> a.NodePredicate:
    return a.NodePredicate(node_id, name, conditions)


SYSTOLIC = p("o", at("data", "at0001"), at("events", "at0006"), at("data", "at0003"), at("items", "at0004"),
              *steps("value/magnitude"))  # fmt: skip

BLOOD_PRESSURE = """
SELECT
   o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude AS systolic,
   c/context/start_time AS date_time
FROM
   EHR [ehr_id/value=$ehrUid]
      CONTAINS COMPOSITION c [openEHR-EHR-COMPOSITION.encounter.v1]
         CONTAINS OBSERVATION o [openEHR-EHR-OBSERVATION.blood_pressure.v1]
WHERE
   o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude >= 140
ORDER BY
   c/context/start_time DESC
LIMIT 5 OFFSET 10
"""


def test_blood_pressure_query_shape() -> None:
    assert aql.parse(BLOOD_PRESSURE) == a.Query(
        select=a.SelectClause(
            (a.SelectItem(SYSTOLIC, "systolic"), a.SelectItem(p("c/context/start_time"), "date_time"))
        ),
        from_=a.Contains(
            a.ClassExpression("EHR", None, std(cond("ehr_id/value", "=", a.Parameter("ehrUid")))),
            a.Contains(
                a.ClassExpression("COMPOSITION", "c", ARCH("openEHR-EHR-COMPOSITION.encounter.v1")),
                a.ClassExpression("OBSERVATION", "o", ARCH("openEHR-EHR-OBSERVATION.blood_pressure.v1")),
            ),
        ),
        where=cmp(SYSTOLIC, ">=", lit(140)),
        order_by=(a.OrderBy(p("c/context/start_time"), descending=True),),
        limit=5,
        offset=10,
    )


def where(condition: str, from_: str = "EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o") -> a.Condition:
    condition_ast = aql.parse(f"SELECT c FROM {from_} WHERE {condition}").where
    assert condition_ast is not None
    return condition_ast


def first_column(column: str, from_: str = "COMPOSITION c") -> a.Expression:
    return aql.parse(f"SELECT {column} FROM {from_}").select.items[0].expression


def from_(text: str) -> a.FromExpression:
    return aql.parse(f"SELECT 1 FROM {text}").from_


C, OBS = a.ClassExpression("COMPOSITION", "c"), a.ClassExpression("OBSERVATION", "o")
E = a.ClassExpression("EHR", "e")
DT, D, T = a.AqlType.DATE_TIME, a.AqlType.DATE, a.AqlType.TIME
EXPAND = a.Terminology("expand", "hl7.org/fhir/4.0", "http://snomed.info/sct?fhir_vs=isa/50697003")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c/name/value = 'x'", cmp(p("c/name/value"), "=", lit("x"))),
        ('c/name/value <> "x"', cmp(p("c/name/value"), "!=", lit("x"))),
        ("NOT EXISTS c/content[openEHR-EHR-ADMIN_ENTRY.x.v1]",
         a.Not(a.Exists(p("c", at("content", ARCH("openEHR-EHR-ADMIN_ENTRY.x.v1")))))),
        ("NOT (c/a = 1 AND c/b = 2)", a.Not(a.And((cmp(p("c/a"), "=", lit(1)), cmp(p("c/b"), "=", lit(2)))))),
        ("NOT c/a = 1 AND c/b = 2", a.And((a.Not(cmp(p("c/a"), "=", lit(1))), cmp(p("c/b"), "=", lit(2))))),
        ("c/a = 1 OR c/b = 2 AND c/c = 3",
         a.Or((cmp(p("c/a"), "=", lit(1)), a.And((cmp(p("c/b"), "=", lit(2)), cmp(p("c/c"), "=", lit(3))))))),
        ("(c/a = 1 AND c/b = 2) AND c/c = 3",
         a.And((cmp(p("c/a"), "=", lit(1)), cmp(p("c/b"), "=", lit(2)), cmp(p("c/c"), "=", lit(3))))),
        ("c/a matches {'a', $codes, 1, 2.5}",
         a.Matches(p("c/a"), (lit("a"), a.Parameter("codes"), lit(1), lit(Decimal("2.5"))))),
        (f"c/a matches TERMINOLOGY('expand', '{EXPAND.service_api}', '{EXPAND.params}')",
         a.Matches(p("c/a"), (EXPAND,))),
        ("c/a matches {terminology://snomed-ct/hierarchy?id=5, 'x'}",
         a.Matches(p("c/a"), (a.TerminologyUri("terminology://snomed-ct/hierarchy?id=5"), lit("x")))),
        ("c/a LIKE 'left *'", a.Like(p("c/a"), lit("left *"))),
        ("c/a LIKE $pattern", a.Like(p("c/a"), a.Parameter("pattern"))),
        ("c/a like 'Name\\*%\\_'", a.Like(p("c/a"), lit("Name\\*%\\_"))),
        ("CONTAINS(c/name/value, 'x')", a.FunctionCall("CONTAINS", (p("c/name/value"), lit("x")))),
        ("LENGTH(c/name/value) > 3", cmp(a.FunctionCall("LENGTH", (p("c/name/value"),)), ">", lit(3))),
        ("c/x = CURRENT_DATE()", cmp(p("c/x"), "=", a.FunctionCall("CURRENT_DATE"))),
        ("o/a > o/b", cmp(p("o/a"), ">", p("o/b"))),
        ("c/a = -1.5E2", cmp(p("c/a"), "=", lit(Decimal("-1.5E2")))),
        ("c/a = null", cmp(p("c/a"), "=", lit(None))),
        ("c/a = TRUE", cmp(p("c/a"), "=", lit(True))),
        ("c/t <= '1986-01-01T12:00:00.000+09:30'",
         cmp(p("c/t"), "<=", lit("1986-01-01T12:00:00.000+09:30", DT))),
        ("c/t > '1986-01-01'", cmp(p("c/t"), ">", lit("1986-01-01", D))),
        ("c/t > '19860101'", cmp(p("c/t"), ">", lit("19860101"))),
        ("c/t < '12:00:00+09:30'", cmp(p("c/t"), "<", lit("12:00:00+09:30", T))),
        ("c/a = 'it\\'s \\\"q\\\" \\u00e6'", cmp(p("c/a"), "=", lit("it's \"q\" æ"))),
        ("TERMINOLOGY('validate', 'r4', 'code=1') = true",
         cmp(a.Terminology("validate", "r4", "code=1"), "=", lit(True))),
    ],
)  # fmt: skip
def test_where_shape(text: str, expected: a.Condition) -> None:
    assert where(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("o[name/value=$n]/data[at0001]",
         a.IdentifiedPath("o", (at("data", "at0001"),), std(cond("name/value", "=", a.Parameter("n"))))),
        ("o/items[at0002, 'real name']", p("o", at("items", np("at0002", lit("real name"))))),
        ("o/items[at0002, $nameValue]", p("o", at("items", np("at0002", a.Parameter("nameValue"))))),
        ("o/items[at0002, at0003]", p("o", at("items", np("at0002", a.TermCode("local", "at0003"))))),
        ("o/items[at0002, snomed_ct(3.1)::313267000]",
         p("o", at("items", np("at0002", a.TermCode("snomed_ct(3.1)", "313267000"))))),
        ("o/items[at0003, icd10AM::F60.1|Schizoid|]",
         p("o", at("items", np("at0003", a.TermCode("icd10AM", "F60.1", "Schizoid"))))),
        ("o/items[at0002 and name/value='x']",
         p("o", at("items", np("at0002", None, cond("name/value", "=", lit("x")))))),
        ("o/items[archetype_node_id=at0002 and name/value!=$n]",
         p("o", at("items", std(cond("archetype_node_id", "=", lit("at0002")),
                                cond("name/value", "!=", a.Parameter("n")))))),
        ("o/items[$node]", p("o", at("items", ARCH(a.Parameter("node"))))),
        ("o/items[openEHR-EHR-CLUSTER.x-y.v1.0.2, 'n']",
         p("o", at("items", np("openEHR-EHR-CLUSTER.x-y.v1.0.2", lit("n"))))),
        ("o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude", SYSTOLIC),
        ("o/items[at0002.1]/count", p("o", at("items", "at0002.1"), a.PathStep("count"))),
        ("c", a.IdentifiedPath("c")),
    ],
)  # fmt: skip
def test_path_shape(text: str, expected: a.IdentifiedPath) -> None:
    assert first_column(text, "OBSERVATION o CONTAINS COMPOSITION c") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("COUNT(*)", a.Aggregate("COUNT", None)),
        ("count(DISTINCT c/uid/value)", a.Aggregate("COUNT", p("c/uid/value"), distinct=True)),
        ("max(c/a)", a.Aggregate("MAX", p("c/a"))),
        ("AVG(c/a)", a.Aggregate("AVG", p("c/a"))),
        ("SUBSTRING(c/name/value, 1, 2)", a.FunctionCall("SUBSTRING", (p("c/name/value"), lit(1), lit(2)))),
        ("concat_ws('-', c/a, c/b)", a.FunctionCall("CONCAT_WS", (lit("-"), p("c/a"), p("c/b")))),
        ("ROUND(ABS(c/a), 2)", a.FunctionCall("ROUND", (a.FunctionCall("ABS", (p("c/a"),)), lit(2)))),
        ("now()", a.FunctionCall("NOW")),
        ("true", lit(True)),
        ("'alert'", lit("alert")),
        ("NULL", lit(None)),
        ("9223372036854775807", lit(2**63 - 1)),
        ("-9223372036854775808", lit(-(2**63))),
        ("9223372036854775808", a.Literal(Decimal(2**63), a.AqlType.REAL)),  # beyond Integer64: a Real
    ],
)
def test_column_shape(text: str, expected: a.Expression) -> None:
    assert first_column(text) == expected


def version(variable: str, predicate: a.Predicate) -> a.ClassExpression:
    return a.ClassExpression("VERSION", variable, predicate)


LATEST = a.VersionPredicate(a.VersionSelector.LATEST_VERSION)
ALL = a.VersionPredicate(a.VersionSelector.ALL_VERSIONS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o", a.Contains(E, a.Contains(C, OBS))),
        ("EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o",
         a.Contains(E, a.Contains(C, OBS, negated=True))),
        ("EHR e CONTAINS COMPOSITION c AND OBSERVATION o", a.Contains(E, a.ContainsAnd((C, OBS)))),
        ("EHR e CONTAINS (COMPOSITION c OR OBSERVATION o)", a.Contains(E, a.ContainsOr((C, OBS)))),
        ("(EHR e CONTAINS COMPOSITION c) AND OBSERVATION o", a.ContainsAnd((a.Contains(E, C), OBS))),
        ("EHR e CONTAINS COMPOSITION c AND OBSERVATION o OR EHR_STATUS s",
         a.Contains(E, a.ContainsOr((a.ContainsAnd((C, OBS)), a.ClassExpression("EHR_STATUS", "s"))))),
        ("Composition c", C),
        ("EHR", a.ClassExpression("EHR")),
        ("VERSION v[LATEST_VERSION] CONTAINS COMPOSITION c",
         a.Contains(a.ClassExpression("VERSION", "v", LATEST), C)),
        ("VERSION v[all_versions]", a.ClassExpression("VERSION", "v", ALL)),
        ("VERSION v[commit_audit/time_committed > '2021-01-01']",
         version("v", std(cond("commit_audit/time_committed", ">", lit("2021-01-01", D))))),
        ("OBSERVATION o[openEHR-EHR-OBSERVATION.s.v0, 'Husten']",
         a.ClassExpression("OBSERVATION", "o", np("openEHR-EHR-OBSERVATION.s.v0", lit("Husten")))),
        ("COMPOSITION c[$archetypeId]",
         a.ClassExpression("COMPOSITION", "c", ARCH(a.Parameter("archetypeId")))),
        ("ELEMENT l[at0005]", a.ClassExpression("ELEMENT", "l", np("at0005"))),
    ],
)  # fmt: skip
def test_from_shape(text: str, expected: a.FromExpression) -> None:
    assert from_(text) == expected


def test_select_modifiers_and_order() -> None:
    text = "select distinct top 10 backward c/a as x FROM COMPOSITION c ORDER BY c/a ascending, c/b desc, c/c"
    q = aql.parse(text)
    assert q.select.distinct and q.select.top == a.Top(10, "BACKWARD")
    assert q.select.items == (a.SelectItem(p("c/a"), "x"),)
    assert [o.descending for o in q.order_by] == [False, True, False]
    assert (q.limit, q.offset) == (None, None)


def test_keywords_case_insensitive_and_comments_ignored() -> None:
    assert aql.parse("sElEcT c -- the composition\nFrOm CoMpOsItIoN c wHeRe c/a = 1") == aql.parse(
        "SELECT c FROM COMPOSITION c WHERE c/a = 1"
    )


def test_parameters_in_order_of_first_use() -> None:
    q = aql.parse(
        "SELECT c FROM EHR e[ehr_id/value=$ehrUid] CONTAINS COMPOSITION c[$archetype] "
        "WHERE c/name/value = $name AND c/a matches {$codes, $name} AND c/b LIKE $pattern "
        "AND c/items[at0001, $nodeName]/value = 1"
    )
    assert q.parameters == ("ehrUid", "archetype", "name", "codes", "pattern", "nodeName")
    assert aql.parse("SELECT c FROM COMPOSITION c").parameters == ()


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("SELECT x/a FROM COMPOSITION c", AqlSemanticError, "undefined variable 'x' in SELECT"),
        ("SELECT c FROM COMPOSITION c WHERE x/a = 1", AqlSemanticError, "undefined variable 'x' in WHERE"),
        ("SELECT c FROM COMPOSITION c WHERE ABS(x) = 1", AqlSemanticError, "undefined variable 'x' in WHERE"),
        ("SELECT c FROM COMPOSITION c ORDER BY x/a", AqlSemanticError, "undefined variable 'x' in ORDER BY"),
        ("SELECT COUNT(x/a) FROM COMPOSITION c", AqlSemanticError, "undefined variable 'x' in SELECT"),
        ("SELECT CONCAT('-', x) FROM COMPOSITION c", AqlSemanticError, "undefined variable 'x' in SELECT"),
        ("SELECT c FROM COMPOSITION c CONTAINS OBSERVATION c", AqlSemanticError, "duplicate variable 'c'"),
        ("SELECT c FROM COMPOSITION c CONTAINS OBSERVATION C", AqlSemanticError, "duplicate variable 'C'"),
        ("SELECT c FROM COMPOSITION length", AqlSemanticError, "reserved word"),
        ("SELECT TOP 5 c FROM COMPOSITION c LIMIT 5", AqlSemanticError, "TOP and LIMIT"),
        ("SELECT c FROM COMPOSITION c LIMIT 0", AqlSemanticError, "at least 1"),
        (
            "SELECT c FROM COMPOSITION c LIMIT 9223372036854775808",
            AqlSemanticError,
            "LIMIT 9223372036854775808 is",
        ),
        ("SELECT c FROM COMPOSITION c LIMIT 1 OFFSET 99999999999999999999", AqlSemanticError, "OFFSET 9"),
        (
            "SELECT TOP 9223372036854775808 c FROM COMPOSITION c",
            AqlSemanticError,
            "beyond the largest 64-bit",
        ),
        ("SELECT LENGTH(c/a, c/b) FROM COMPOSITION c", AqlSemanticError, "LENGTH takes 1 argument"),
        ("SELECT NOW(c/a) FROM COMPOSITION c", AqlSemanticError, "NOW takes 0 argument"),
        ("SELECT c FROM COMPOSITION c WHERE TERMINOLOGY('a', 'b', 'c')", AqlSemanticError, "not a condition"),
        ("SELECT UPPER(c/a) FROM COMPOSITION c", AqlUnsupported, "not supported: function UPPER"),
    ],
)
def test_semantic_errors(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        aql.parse(text)


def test_between_is_two_comparisons() -> None:
    """``x [NOT] BETWEEN a AND b`` (EHRbase's extension, not AQL 1.1) is ``x >= a AND x <= b``; its AND binds
    before the logical one, and ``between`` stays usable as an attribute name."""
    q = aql.parse("SELECT c FROM COMPOSITION c WHERE c/x BETWEEN 1 AND $hi AND c/y = 'z'")
    low = a.Comparison(p("c/x"), a.ComparisonOperator.GE, a.Literal(1, a.AqlType.INTEGER))
    high = a.Comparison(p("c/x"), a.ComparisonOperator.LE, a.Parameter("hi"))
    assert q.where == a.And(
        (low, high, a.Comparison(p("c/y"), a.ComparisonOperator.EQ, a.Literal("z", a.AqlType.STRING)))
    )
    negated = aql.parse("SELECT c FROM COMPOSITION c WHERE c/x NOT BETWEEN 1 AND $hi")
    assert negated.where == a.Not(a.And((low, high)))
    assert to_aql(negated).endswith("WHERE NOT (c/x >= 1 AND c/x <= $hi)")
    assert aql.parse("SELECT c/between FROM COMPOSITION c").select.items[0].expression == p("c/between")


def test_order_by_a_select_alias() -> None:
    """A name in ORDER BY that is no FROM variable but a SELECT alias sorts by that column (SQL habit, and
    the only way to sort by a computed column); a FROM variable keeps its AQL meaning."""
    q = aql.parse("SELECT c/name/value AS title, COUNT(*) AS n FROM COMPOSITION c ORDER BY n DESC, Title")
    assert q.order_by == (a.OrderBy(None, True, "n"), a.OrderBy(None, False, "title"))
    kept = aql.parse("SELECT c/name/value AS c FROM COMPOSITION c ORDER BY c")
    assert kept.order_by == (a.OrderBy(p("c"), False),)
    with pytest.raises(AqlSemanticError, match=re.escape("undefined variable 'm' in ORDER BY")):
        aql.parse("SELECT COUNT(*) AS n FROM COMPOSITION c ORDER BY m")
    with pytest.raises(AqlSemanticError, match=re.escape("undefined variable 'n' in ORDER BY")):
        aql.parse("SELECT c/a AS n, c/b AS N FROM COMPOSITION c ORDER BY n/x")  # a path: no alias
    with pytest.raises(AqlSemanticError, match=re.escape("undefined variable 'ab' in ORDER BY")):
        aql.parse("SELECT c/a AS Ab, c/b AS aB FROM COMPOSITION c ORDER BY ab")  # two by case: ambiguous
    exact = aql.parse("SELECT c/a AS Ab, c/b AS aB FROM COMPOSITION c ORDER BY aB")
    assert exact.order_by == (a.OrderBy(None, False, "aB"),)
    assert to_aql(q).endswith("ORDER BY n DESC, title ASC")


def test_variables_resolve_case_insensitively() -> None:
    assert aql.parse("SELECT C/name FROM COMPOSITION c").select.items[0].expression == p("C/name")


def test_function_arity_error_has_position() -> None:
    with pytest.raises(AqlSemanticError) as caught:
        aql.parse("SELECT c\nFROM COMPOSITION c WHERE MOD(c/a) = 1")
    assert (caught.value.line, caught.value.column) == (2, 26)


def test_parse_is_cached_by_text_and_errors_are_not() -> None:
    cache.clear()
    first = aql.parse(BLOOD_PRESSURE)
    assert aql.parse(BLOOD_PRESSURE) is first
    assert cache.info() == (1, 1, 1)
    assert parse_uncached(BLOOD_PRESSURE) == first and parse_uncached(BLOOD_PRESSURE) is not first
    for _ in range(2):
        with pytest.raises(aql.AqlSyntaxError):
            aql.parse("SELECT")
    assert cache.info()[2] == 1


def test_ast_is_immutable_and_hashable() -> None:
    q = aql.parse(BLOOD_PRESSURE)
    with pytest.raises(AttributeError):
        q.limit = 3  # type: ignore[misc]
    assert hash(q) == hash(parse_uncached(BLOOD_PRESSURE))


def test_generated_parser_matches_grammar() -> None:
    """aql/_generated was regenerated after the last grammar edit (run aql/grammar/regenerate.py if not)."""
    for name in (*regenerate.OUTPUTS, "__init__.py"):
        text = (regenerate.OUTPUT_DIR / name).read_text(encoding="utf-8")
        assert text.startswith(regenerate.stamp()), name
