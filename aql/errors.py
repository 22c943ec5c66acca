"""The AQL error hierarchy: one root, structured fields, positions as data.

Callers (the REST layer) catch :class:`AqlError` and answer 400; syntax errors carry every problem the parser
found with its line and column, so a client fixes them all in one round trip, without parsing prose.
"""

from __future__ import annotations

from dataclasses import dataclass


class AqlError(Exception):
    """Root of every error raised by the AQL engine."""


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """One syntax error: 1-based line and 1-based column of the offending text, and what was wrong."""

    line: int
    column: int
    offending: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class AqlSyntaxError(AqlError):
    """The text is not AQL; ``errors`` lists every problem found, in order of position."""

    def __init__(self, errors: list[SyntaxIssue] | tuple[SyntaxIssue, ...]) -> None:
        self.errors: tuple[SyntaxIssue, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "syntax error")

    @property
    def line(self) -> int:
        """Line of the first error (what a single-position client shows)."""
        return self.errors[0].line if self.errors else 1

    @property
    def column(self) -> int:
        """Column of the first error."""
        return self.errors[0].column if self.errors else 1


class AqlSemanticError(AqlError):
    """Well-formed AQL that means nothing: an undefined or duplicate variable, a wrong argument count, ...

    ``line`` and ``column`` are given where the check knows them (checks on the AST alone do not).
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)


class AqlUnsupported(AqlError):
    """Valid AQL that this engine does not (yet) implement; the message reads ``not supported: <feature>``."""

    def __init__(self, feature: str) -> None:
        self.feature = feature
        super().__init__(f"not supported: {feature}")


class AqlTooComplex(AqlError):
    """Valid AQL whose statement goes beyond a limit of the database (SQLite joins at most 64 tables and
    nests expressions about 100 deep; PostgreSQL's limits are its SQLSTATE class 54): a 400 that says so,
    since the client can simplify the query, and nothing is wrong with the server."""

    def __init__(self, limit: str) -> None:
        self.limit = limit
        super().__init__(f"the query is too complex for the database: {limit}")


class AqlTimeout(AqlError):
    """The query ran longer than the server allows (its ``AQL_TIMEOUT_MS``); the database stopped it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the query ran longer than the server's limit of {seconds:g} s and was stopped: narrow it "
            "(WHERE, fewer CONTAINS variables) or page it with fetch and offset"
        )
