"""Stored query store: AQL texts by qualified name and SemVer version (ITS-REST DEFINITION "Query").

A stored version never changes (storing it again is a :class:`~cdr.errors.Conflict`, 409). A version given
as a prefix (``1`` or ``1.2``, or nothing) names a *series*: reading resolves it to the latest version of the
series, as ITS-REST's "Qualified query name" section requires, and storing adds the next version of the
series (its latest with the patch number raised, or ``1.0.0`` / ``1.2.0`` for an empty series). The version
is kept as three integers so that "latest" is an ``ORDER BY`` in SQL, not a string comparison that would put
``1.10.0`` before ``1.9.0``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from cdr.errors import Conflict, InvalidInput, NotFound
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, write_transaction

QUALIFIED_NAME = re.compile(r"(?:[A-Za-z0-9_.-]+::)?[A-Za-z0-9_.-]+")
"""``[{namespace}::]{query-name}``; ITS-REST allows ``[a-zA-Z0-9_.-]`` in the query name (and, being a
reverse domain name, in the namespace)."""

_NUMBER = r"(?:0|[1-9]\d{0,8})"
_VERSION = re.compile(rf"{_NUMBER}(?:\.{_NUMBER}(?:\.{_NUMBER})?)?", re.ASCII)


def check_name(name: str) -> str:
    """``name`` if it is a qualified query name; :class:`InvalidInput` (400) otherwise."""
    if len(name) > t.ID or not QUALIFIED_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a qualified query name ([namespace::]name of letters, digits, '_', '.', '-')"
        )
    return name


@dataclass(frozen=True, slots=True, order=True)
class SemVer:
    """A release version ``major.minor.patch`` (no pre-release or build parts: ITS-REST uses plain SemVer)."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True, slots=True)
class VersionPattern:
    """A whole version or a prefix of one: ``(1, 2, 3)``, ``(1, 2)``, ``(1,)`` or ``()`` (any version).

    >>> VersionPattern.parse("1.2"), VersionPattern.parse(None).exact
    (VersionPattern(parts=(1, 2)), None)
    """

    parts: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> VersionPattern:
        """The pattern of a ``version`` path segment; :class:`InvalidInput` (400) unless it is SemVer-like."""
        if text is None:
            return cls()
        if not _VERSION.fullmatch(text):
            raise InvalidInput(
                f"version {text!r} is not a SemVer version (major.minor.patch) or a prefix of one"
            )
        return cls(tuple(int(p) for p in text.split(".")))

    @property
    def exact(self) -> SemVer | None:
        """The version itself when all three parts are given."""
        return SemVer(*self.parts) if len(self.parts) == 3 else None

    def first(self) -> SemVer:
        """The first version of the series: ``1.2`` -> ``1.2.0``, nothing -> ``1.0.0``."""
        parts = self.parts or (1,)
        return SemVer(*(*parts, 0, 0, 0)[:3])

    def __str__(self) -> str:
        return ".".join(map(str, self.parts)) or "(any)"


@dataclass(frozen=True, slots=True)
class StoredQueryRecord:
    """One stored version of a query."""

    name: str
    version: SemVer
    query_type: str
    q: str
    saved: dt.datetime


_COLUMNS = (
    t.stored_query.c.name,
    t.stored_query.c.major,
    t.stored_query.c.minor,
    t.stored_query.c.patch,
    t.stored_query.c.query_type,
    t.stored_query.c.q,
    t.stored_query.c.saved,
)
_NEWEST_FIRST = (t.stored_query.c.major.desc(), t.stored_query.c.minor.desc(), t.stored_query.c.patch.desc())


def _record(row: Any) -> StoredQueryRecord:
    return StoredQueryRecord(
        str(row.name),
        SemVer(int(row.major), int(row.minor), int(row.patch)),
        row.query_type,
        row.q,
        row.saved,
    )


def _matching(name: str, pattern: VersionPattern) -> sa.Select[Any]:
    sq = t.stored_query
    query = sa.select(*_COLUMNS).where(sq.c.name == name)
    for column, part in zip((sq.c.major, sq.c.minor, sq.c.patch), pattern.parts):
        query = query.where(column == part)
    return query.order_by(*_NEWEST_FIRST)


def _latest(conn: Connection, name: str, pattern: VersionPattern) -> StoredQueryRecord | None:
    row = conn.execute(_matching(name, pattern).limit(1)).first()
    return None if row is None else _record(row)


class StoredQueryStore:
    """Store, resolve and list stored queries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def store(self, name: str, version: VersionPattern, query_type: str, q: str) -> StoredQueryRecord:
        """Store ``q`` as ``version`` (exact), or as the next version of the series ``version`` names.

        :class:`Conflict` when that exact version exists (also when a concurrent request stored it first).
        """
        sq = t.stored_query
        saved = dt.datetime.now(dt.UTC)
        try:
            with write_transaction(self.engine) as conn:
                exact = version.exact
                if exact is None:
                    latest = _latest(conn, name, version)
                    exact = version.first() if latest is None else _next_patch(latest.version)
                exists = conn.execute(_matching(name, VersionPattern(_parts(exact)))).first()
                if exists is not None:
                    raise Conflict(f"stored query {name} version {exact} already exists")
                conn.execute(
                    sa.insert(sq).values(
                        name=name,
                        major=exact.major,
                        minor=exact.minor,
                        patch=exact.patch,
                        query_type=query_type,
                        q=q,
                        saved=saved,
                    )
                )
        except IntegrityError:
            raise Conflict(f"stored query {name} version {version} was stored concurrently") from None
        return StoredQueryRecord(name, exact, query_type, q, saved)

    def get(self, name: str, version: VersionPattern = VersionPattern()) -> StoredQueryRecord:
        """The latest version of ``name`` matching ``version``; :class:`NotFound` (404) if there is none."""
        with read_transaction(self.engine) as conn:
            found = _latest(conn, name, version)
        if found is None:
            at = "" if not version.parts else f" at version {version}"
            raise NotFound(f"no stored query {name}{at}")
        return found

    def list(self, prefix: str = "") -> list[StoredQueryRecord]:
        """Every version of every query whose name starts with ``prefix`` (all for ``""``), by name and
        version.

        ``substr`` rather than ``LIKE``: ``_`` is common in query names and a LIKE wildcard, and SQLite's LIKE
        ignores case where PostgreSQL's does not.
        """
        sq = t.stored_query
        query = sa.select(*_COLUMNS).order_by(sq.c.name, sq.c.major, sq.c.minor, sq.c.patch)
        if prefix:
            query = query.where(sa.func.substr(sq.c.name, 1, len(prefix)) == prefix)
        with read_transaction(self.engine) as conn:
            return [_record(row) for row in conn.execute(query)]


def _parts(version: SemVer) -> tuple[int, int, int]:
    return version.major, version.minor, version.patch


def _next_patch(version: SemVer) -> SemVer:
    return SemVer(version.major, version.minor, version.patch + 1)
