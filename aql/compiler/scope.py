"""FROM variables bound to table aliases, and the join tree a (sub)query is built in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause


@dataclass(eq=False)
class Binding:
    """A FROM variable: which rows it ranges over.

    ``kind`` is ``ehr`` (an ``ehr`` row), ``version`` (an ``object_version`` row) or ``node`` (a ``node`` row,
    with ``ov`` the version row it belongs to). A non-LOCATABLE FROM class (EVENT_CONTEXT, FEEDER_AUDIT) is a
    ``node`` binding on its host LOCATABLE with the attribute ``prefix`` leading to it.
    """

    variable: str
    rm_type: str
    kind: str
    table: Any
    ov: Any = None
    walk_type: str = ""
    prefix: tuple[str, ...] = ()
    root: bool = False  # the node is its version's root (path '/', json_path '$')
    archetype_id: str | None = None  # known archetype root id of the node, if any
    node_named: bool = False  # its FROM predicate names its node (an archetype id or an at-code)
    own_version: bool = False  # the node binding joined its own version row
    # an EHR known by the ehr_id of what it contains, its own row joined only when a path needs one
    ehr_id: Any = None
    row_joined: bool = True
    home: Scope | None = None  # the scope the binding's FROM class was compiled into
    container: Binding | None = None  # set when the node's own row is left out: the class it is inside
    row_is_version: bool = False  # a COMPOSITION known by its version row alone (no node row joined)


@dataclass(eq=False)
class Scope:
    """A join tree under construction plus the conditions of its WHERE (or of the ON that attaches it).

    Path joins are cached per scope, so a path used in SELECT, WHERE and ORDER BY is joined once and the
    three refer to the same node.
    """

    outer_paths: bool = True  # path joins are LEFT OUTER (main query) or inner (EXISTS subqueries)
    # inner-join conditions go to ``where`` (an OR alternative: its join group is attached with one ON
    # holding them all, since an ON inside a parenthesised join group cannot see the tables outside it)
    defer_on: bool = False
    clause: FromClause | None = None
    where: list[sa.ColumnElement[bool]] = field(default_factory=list)
    cache: dict[Any, Any] = field(default_factory=dict)

    def add(self, target: FromClause, on: sa.ColumnElement[bool] | None, outer: bool = False) -> None:
        on_clause = on if on is not None else sa.true()
        if self.clause is None:
            self.clause = target
            if on is not None:
                self.where.append(on)
        elif outer:
            self.clause = self.clause.outerjoin(target, on_clause)
        elif self.defer_on:
            self.clause = self.clause.join(target, sa.true())
            self.where.append(on_clause)
        else:
            self.clause = self.clause.join(target, on_clause)

    def add_path(self, target: FromClause, on: sa.ColumnElement[bool]) -> None:
        self.add(target, on, outer=self.outer_paths)
