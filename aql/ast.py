"""The typed, immutable AQL abstract syntax tree.

Nodes are frozen, slotted dataclasses: a parsed query can be cached and shared between threads, compared
with ``==`` (the printer's round-trip test relies on it) and hashed. Names follow AQL 1.1 (openEHR
specifications-QUERY, Release-1.1.0). The tree keeps what the query says, not how it was spelled: keyword
case, quote style, redundant parentheses and comments are gone, ``<>`` is ``!=``, and an ORDER BY item
without direction is ascending.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from enum import Enum


class AqlType(Enum):
    """The AQL built-in type of a literal ("Built-in Types"); dates and times are strings typed by form."""

    STRING = "STRING"
    INTEGER = "INTEGER"
    REAL = "REAL"
    BOOLEAN = "BOOLEAN"
    NULL = "NULL"
    DATE = "DATE"
    TIME = "TIME"
    DATE_TIME = "DATE_TIME"


class ComparisonOperator(Enum):
    """Comparison operators of WHERE and of standard predicates (``<>`` is read as ``!=``)."""

    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class VersionSelector(Enum):
    """Which versions a ``VERSION`` class expression ranges over."""

    LATEST_VERSION = "LATEST_VERSION"
    ALL_VERSIONS = "ALL_VERSIONS"


# ---------------------------------------------------------------------------------------------- values

INT64_LIMIT = 2**63
"""The first integer beyond openEHR's Integer64 (and SQL's BIGINT), either way from zero."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A fixed value: ``str`` (also dates and times), ``int``, exact ``Decimal`` for reals, ``bool`` or None.

    ``type`` says which AQL type the text denotes; a string in ISO 8601 extended form is typed DATE, TIME or
    DATE_TIME so that the compiler can compare it as a temporal value.
    """

    value: str | int | Decimal | bool | None
    type: AqlType


@dataclass(frozen=True, slots=True)
class Parameter:
    """A ``$name`` placeholder, substituted with a value at run time (``name`` is without the dollar)."""

    name: str


@dataclass(frozen=True, slots=True)
class TermCode:
    """The coded-name shortcut ``terminology_id::code_string|value|`` of a node predicate.

    A bare at-code as name (``[at0002, at0003]``) is the local code ``local::at0003``.
    """

    terminology_id: str
    code_string: str
    value: str | None = None


Name = Literal | Parameter | TermCode  # the name shortcut of a node predicate


# ------------------------------------------------------------------------------------------ predicates


@dataclass(frozen=True, slots=True)
class PredicateCondition:
    """One criterion of a standard predicate: ``path operator value``, e.g. ``name/value='x'``.

    A bare at-code or archetype id on the right (``archetype_node_id=at0002``) is read as that string.
    """

    path: tuple[PathStep, ...]
    operator: ComparisonOperator
    value: Literal | Parameter | tuple[PathStep, ...]


@dataclass(frozen=True, slots=True)
class ArchetypePredicate:
    """``[openEHR-EHR-OBSERVATION.blood_pressure.v1]`` or ``[$archetypeId]``: archetype_node_id is this id."""

    archetype_id: str | Parameter


@dataclass(frozen=True, slots=True)
class NodePredicate:
    """Node or standard predicate: an optional node id, an optional name shortcut, AND-ed conditions.

    ``[at0001]``, ``[at0001, 'name']``, ``[at0001 and name/value=$n]``, ``[openEHR-EHR-...v1, 'name']`` and
    ``[ehr_id/value='123']`` all land here. ``node_id`` is an at-/id-code, an archetype id or a parameter; the
    name shortcut means ``name/value`` for a string or parameter and ``name/defining_code`` for a term code.
    """

    node_id: str | Parameter | None = None
    name: Name | None = None
    conditions: tuple[PredicateCondition, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionPredicate:
    """``[LATEST_VERSION]`` or ``[ALL_VERSIONS]`` on a ``VERSION`` class expression."""

    selector: VersionSelector


Predicate = ArchetypePredicate | NodePredicate | VersionPredicate


# ----------------------------------------------------------------------------------------------- paths


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of an openEHR path: an RM attribute name and the predicate that narrows it, if any."""

    attribute: str
    predicate: Predicate | None = None


@dataclass(frozen=True, slots=True)
class IdentifiedPath:
    """A FROM variable, optionally with a predicate, followed by a path: ``o[...]/data[at0001]/events``.

    With no ``path`` it is the whole object bound to the variable (``SELECT c``).
    """

    variable: str
    path: tuple[PathStep, ...] = ()
    predicate: Predicate | None = None


# ------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A single-row function such as ``LENGTH(x)`` or ``ROUND(x, 2)``; ``name`` is upper case."""

    name: str
    arguments: tuple[Expression, ...] = ()


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``COUNT``, ``MIN``, ``MAX``, ``SUM`` or ``AVG`` of an identified path; ``COUNT(*)`` has no argument."""

    function: str
    argument: IdentifiedPath | None
    distinct: bool = False


@dataclass(frozen=True, slots=True)
class Terminology:
    """``TERMINOLOGY(operation, service_api, params_uri)``: a call to an external terminology service."""

    operation: str
    service_api: str
    params: str


@dataclass(frozen=True, slots=True)
class TerminologyUri:
    """A terminology URI inside ``matches {...}``, e.g. ``terminology://snomed-ct/hierarchy?rootConceptId=1``."""

    uri: str


Expression = Literal | Parameter | IdentifiedPath | FunctionCall | Aggregate | Terminology


# ----------------------------------------------------------------------------------------------- WHERE


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left operator right``."""

    left: Expression
    operator: ComparisonOperator
    right: Expression


@dataclass(frozen=True, slots=True)
class Like:
    """``operand LIKE pattern``; the pattern keeps its AQL wildcards (``*``, ``?``) and backslash escapes."""

    operand: Expression
    pattern: Literal | Parameter


@dataclass(frozen=True, slots=True)
class Matches:
    """``operand matches {item, ...}``: true when the operand equals any item (``matches TERMINOLOGY(...)``
    is the one-item list)."""

    operand: Expression
    items: tuple[Literal | Parameter | Terminology | TerminologyUri, ...]


@dataclass(frozen=True, slots=True)
class Exists:
    """``EXISTS path``: the data at the path is present."""

    path: IdentifiedPath


@dataclass(frozen=True, slots=True)
class Not:
    """Logical negation."""

    operand: Condition


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more conditions (nested ANDs are flattened)."""

    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more conditions (nested ORs are flattened)."""

    operands: tuple[Condition, ...]


Condition = Comparison | Like | Matches | Exists | Not | And | Or | FunctionCall


# ------------------------------------------------------------------------------------------------ FROM


@dataclass(frozen=True, slots=True)
class ClassExpression:
    """An RM class in FROM with an optional variable and predicate: ``COMPOSITION c[openEHR-EHR-...]``.

    ``rm_type`` is upper case (``Composition`` and ``COMPOSITION`` name the same class).
    """

    rm_type: str
    variable: str | None = None
    predicate: Predicate | None = None


@dataclass(frozen=True, slots=True)
class Contains:
    """``outer CONTAINS inner``, or with ``negated`` ``outer NOT CONTAINS inner`` (exclusion)."""

    outer: ClassExpression
    inner: FromExpression
    negated: bool = False


@dataclass(frozen=True, slots=True)
class ContainsAnd:
    """All of the containment constraints hold (flattened)."""

    operands: tuple[FromExpression, ...]


@dataclass(frozen=True, slots=True)
class ContainsOr:
    """Any of the containment constraints holds (flattened)."""

    operands: tuple[FromExpression, ...]


FromExpression = ClassExpression | Contains | ContainsAnd | ContainsOr


# ----------------------------------------------------------------------------------------------- query


@dataclass(frozen=True, slots=True)
class SelectItem:
    """One column: an expression and its ``AS`` alias."""

    expression: Expression
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Top:
    """The deprecated ``TOP n [FORWARD|BACKWARD]`` modifier; ``direction`` is None when not written."""

    count: int
    direction: str | None = None


@dataclass(frozen=True, slots=True)
class SelectClause:
    """``SELECT [DISTINCT] [TOP n] item, ...``."""

    items: tuple[SelectItem, ...]
    distinct: bool = False
    top: Top | None = None


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One sorting expression; ascending unless ``descending``.

    ``alias``: the item sorts by the SELECT column of that ``AS`` name (``path`` is then None), which the
    query's ORDER BY named where AQL expects an identified path and which is no FROM variable
    (:func:`aql.semantics.resolve_order_aliases`)."""

    path: IdentifiedPath | None
    descending: bool = False
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """A whole AQL statement."""

    select: SelectClause
    from_: FromExpression
    where: Condition | None = None
    order_by: tuple[OrderBy, ...] = ()
    limit: int | None = None
    offset: int | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the ``$parameters`` the query uses, without the dollar, in order of first appearance."""
        seen: dict[str, None] = {}
        for node in walk(self):
            if isinstance(node, Parameter):
                seen.setdefault(node.name)
        return tuple(seen)

    @property
    def class_expressions(self) -> tuple[ClassExpression, ...]:
        """The class expressions of FROM, outermost first."""
        return tuple(n for n in walk(self.from_) if isinstance(n, ClassExpression))


def walk(node: object) -> Iterator[object]:
    """Every node below and including ``node``, depth first, children in field order (into tuples too)."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
        return
    yield node
    if is_dataclass(node) and not isinstance(node, type):
        for f in fields(node):
            child = getattr(node, f.name)
            if isinstance(child, tuple) or is_dataclass(child):
                yield from walk(child)
