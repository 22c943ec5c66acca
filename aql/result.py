"""The result of an AQL query, shaped like the ITS-REST RESULT_SET EHRbase returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """A column: its name (the alias, or ``#n`` as EHRbase numbers unnamed columns) and its AQL path.

    Functions, aggregates and literals have no path: EHRbase leaves ``path`` out for them."""

    name: str
    path: str | None

    def to_json(self) -> dict[str, str]:
        return {"name": self.name} if self.path is None else {"name": self.name, "path": self.path}


@dataclass(frozen=True, slots=True)
class ResultSet:
    """Columns and rows; a row holds canonical JSON objects for RM objects and primitives for primitives.

    ``executed_aql`` is the query text with the effective fetch/offset applied (``meta._executed_aql``);
    ``fetch`` and ``offset`` are the paging that was applied on top of the query, if any; ``ehr_ids`` are the
    EHRs behind the rows returned (the audit record names them; they are not part of the RESULT_SET), and
    ``override_ehr_ids`` those of them whose rows hold a composition the caller reads only by consent or
    emergency access (the audit record flags them).
    """

    query: str
    columns: tuple[ResultColumn, ...]
    rows: list[list[Any]] = field(default_factory=list)
    fetch: int | None = None
    offset: int | None = None
    ehr_ids: frozenset[uuid.UUID] = frozenset()
    override_ehr_ids: frozenset[uuid.UUID] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """``{"q", "columns", "rows"}`` (the REST layer adds ``meta``)."""
        return {"q": self.query, "columns": [c.to_json() for c in self.columns], "rows": self.rows}
