"""The compiler's own constants written into the SQL text, so that PostgreSQL can reuse one plan.

psycopg prepares a statement after a few executions, and PostgreSQL then plans it once for all parameter
values (a generic plan) only if that plan is estimated no worse than the ones it made for the values seen so
far. A statement whose RM type names, archetype ids, paths and JSON keys are all ``$n`` parameters gets a
generic plan estimated without those values, which loses that comparison: every execution is planned again
(``bench aql`` (d) at 10k: 55 custom plans of 55 in ``pg_prepared_statements``, about 2 ms of planning each
against 0.4 ms of execution). Those constants are fixed per compiled statement, so they are rendered as SQL
literals; the values of AQL literals and ``$parameters`` (:mod:`.binds`) stay bind parameters.

Only values that cannot change the statement's meaning when written out are rendered: integers, booleans, and
strings without quote, backslash or NUL characters (cast to VARCHAR, as their parameters were).
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

_UNSAFE = ("'", "\\", "\x00")


def _literal(bind: BindParameter[Any]) -> sa.ColumnElement[Any] | None:
    """The constant ``bind`` as SQL text of the same type, or None to keep it a parameter."""
    if not bind.unique or bind.callable is not None or bind.expanding or bind.value is None:
        return None  # a named parameter (AQL literal, $parameter, scope) or one filled at execution
    value, type_ = bind.value, bind.type
    if isinstance(value, bool):
        return sa.literal_column("true" if value else "false", sa.Boolean)
    if isinstance(value, int) and isinstance(type_, sa.Integer):
        return sa.literal_column(str(value), type_)
    if isinstance(value, str) and type(type_) in (sa.String, sa.Text, sa.Unicode):
        if any(c in value for c in _UNSAFE):
            return None
        # VARCHAR without a length, as the parameter was cast (a length would cut a longer value)
        return sa.cast(sa.literal_column(f"'{value}'"), sa.String())
    return None


def inline_constants(statement: sa.Select[Any]) -> sa.Select[Any]:
    """``statement`` with the compiler's constant bind parameters rendered as literals (see module)."""

    def replace(element: Any, **kw: Any) -> Any:
        return _literal(element) if isinstance(element, BindParameter) else None

    return cast(sa.Select[Any], visitors.replacement_traverse(statement, {}, replace))
