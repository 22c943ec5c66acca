"""The hottest statements run straight on the driver's cursor (PostgreSQL), compiled once by SQLAlchemy.

Every request runs a few statements that never change (the policy's facts, a version by uid, the audit
record's append). Through ``Connection.execute`` each costs about 60 microseconds of SQLAlchemy's execution
and result machinery on top of psycopg's own ~70, for a request of ~2 ms in all (issue 4). A
:class:`DirectStatement` keeps the statement's SQL text, its parameters' and columns' type processors (the
same ones SQLAlchemy applies, so values go in and come out exactly as through ``execute``) and runs it on
the connection's psycopg cursor. It joins the connection's transaction (beginning it as ``execute`` would),
and database errors come out as SQLAlchemy's exceptions, so callers see no difference. On SQLite, where a
statement is an in-process call, it is plain ``Connection.execute``.

Only statements without expanding parameters (``IN`` lists) qualify; rows come back as named tuples with the
statement's column names.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # name, the statement's own value (a literal), processor
    results: tuple[Processor, ...] | None  # None: no column needs processing
    row: type[tuple[Any, ...]]  # a named tuple of the result's columns, with ``_mapping`` as Row has


def _row_class(keys: list[str]) -> type[tuple[Any, ...]]:
    base = collections.namedtuple("DirectRow", keys, rename=True)  # type: ignore[misc]
    return type("DirectRow", (base,), {"__slots__": (), "_mapping": property(lambda self: self._asdict())})


def _plan(statement: sa.ClauseElement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is not None or "POSTCOMPILE" in compiled.string:
        raise ValueError("a direct statement needs named, non-expanding parameters")
    binds: dict[str, tuple[str, Any, Processor]] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.setdefault(name, (name, bind.effective_value, processor))
    # the result's keys and types as SQLAlchemy itself reads them (its compiled statement's result columns)
    entries = compiled._result_columns or []
    keys = [str(entry.keyname) for entry in entries]
    results = tuple(entry.type.dialect_impl(dialect).result_processor(dialect, None) for entry in entries)
    processed = results if any(results) else None
    return _Plan(compiled.string, tuple(binds.values()), processed, _row_class(keys or ["_"]))


class DirectStatement:
    """A statement built once and run on the driver's cursor of the given connection (see the module)."""

    def __init__(self, statement: sa.ClauseElement, *, binary: bool = False) -> None:
        """``binary``: PostgreSQL sends the results in its binary format (psycopg gives the same values; a
        ``bytea`` column then arrives as its bytes, not as hex to decode)."""
        self.statement = statement
        self.binary = binary
        self._plans: dict[str, _Plan] = {}

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _plan(self.statement, dialect)
        return plan

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of the result (named tuples), or of ``Connection.execute`` on other databases."""
        if conn.dialect.name != "postgresql":
            return conn.execute(cast(sa.Executable, self.statement), dict(params)).all()
        plan = self._plan_for(conn.dialect)
        values = {}
        for name, own, processor in plan.binds:
            value = params.get(name, own)
            values[name] = value if processor is None or value is None else processor(value)
        if not conn.in_transaction():
            conn.begin()  # as execute would: the transaction the caller commits or rolls back
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor(binary=self.binary) as cursor:
                cursor.execute(plan.sql, values)
                # rows only when the statement returns columns; not ``cursor.description``, which builds
                # a column object per field (~2% of a read's instructions)
                result = cursor.pgresult
                fetched = cursor.fetchall() if result is not None and result.nfields else []
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError.instance(plan.sql, values, exc, psycopg.Error) from exc
        make, processors = plan.row, plan.results
        if processors is None:
            return [make(*row) for row in fetched]
        return [
            make(*(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True)))
            for row in fetched
        ]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first row, or ``None``."""
        found = self.rows(conn, params)
        return found[0] if found else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first column of the first row, or ``None``."""
        row = self.first(conn, params)
        return None if row is None else row[0]
