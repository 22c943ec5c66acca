"""Persistent storage: SQLAlchemy Core over PostgreSQL (production) and SQLite (embedded default).

``Storage.open(url)`` migrates and returns one store per aggregate (``ehrs``, ``ehr_status``,
``compositions``, ``directory``, ``contributions``, ``templates``). The schema is in :mod:`.schema`, the
decomposition of data into queryable node rows in :mod:`.decompose`, the migrations in ``migrations/``
(applied by :func:`.migrate.upgrade`).
"""

from __future__ import annotations

from cdr.storage.decompose import NodeRow, assemble, decompose
from cdr.storage.engine import DEFAULT_URL, create_engine
from cdr.storage.migrate import upgrade
from cdr.storage.records import (
    Audit,
    AuditDetails,
    ContributionRecord,
    EhrRecord,
    StaleVersion,
    TemplateRecord,
    VersionRecord,
    VersionUid,
)
from cdr.storage.store import Storage
from cdr.storage.versioning import VersionChange

__all__ = [
    "DEFAULT_URL",
    "Audit",
    "AuditDetails",
    "ContributionRecord",
    "EhrRecord",
    "NodeRow",
    "StaleVersion",
    "Storage",
    "TemplateRecord",
    "VersionChange",
    "VersionRecord",
    "VersionUid",
    "assemble",
    "create_engine",
    "decompose",
    "upgrade",
]
