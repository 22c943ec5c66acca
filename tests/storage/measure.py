"""Measure storage bytes and commit time per composition on SQLite and PostgreSQL.

Run ``python -m tests.storage.measure [N]`` (PostgreSQL from ``CDR_TEST_POSTGRES_URL``, a scratch database is
created and dropped). Stores N copies of the Corona_Anamnese composition (corpus
``ehrbase-ehrbase/aql-engine-testdata/composition.json``) in one EHR, one commit each, and prints bytes per
composition (tables and indexes, per table) against the canonical JSON size, and the commit time. Timings are
printed, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.formats.canonical_json import parse_json, to_json
from cdr.storage import Audit, Storage, create_engine, decompose, upgrade
from cdr.storage.schema import metadata
from tests.corpus import CORPUS
from tests.storage.conftest import PostgresServer
from tests.storage.data import CORONA


def table_bytes(engine: Engine) -> dict[str, int]:
    """Bytes per table, its indexes included."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {
                t.name: conn.execute(sa.text(f"SELECT pg_total_relation_size('{t.name}')")).scalar_one()
                for t in metadata.sorted_tables
            }
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        query = "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
        rows = conn.exec_driver_sql(query)
        owner = {name: table for name, table in rows}
        sizes: dict[str, int] = dict.fromkeys((t.name for t in metadata.sorted_tables), 0)
        for name, size in conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name)
            if table in sizes:
                sizes[table] += size
        return sizes


def measure(engine: Engine, doc: dict, n: int) -> tuple[dict[str, float], list[float]]:
    storage = Storage(engine)
    ehr_id = storage.ehrs.create(Audit.by("measure"))[0].ehr_id
    storage.compositions.create(ehr_id, doc, Audit.by("warm-up"), object_id=uuid.uuid4())
    before = table_bytes(engine)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        storage.compositions.create(ehr_id, doc, Audit.by("measure"), object_id=uuid.uuid4())
        times.append(time.perf_counter() - start)
    after = table_bytes(engine)
    return {name: (after[name] - before[name]) / n for name in after}, times


def main(n: int) -> None:
    doc = to_json(parse_json((CORPUS / CORONA).read_bytes()))
    compact = len(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
    print(
        f"Corona_Anamnese: file {(CORPUS / CORONA).stat().st_size} B, canonical JSON compact {compact} B, "
        f"{len(decompose(doc))} nodes; {n} commits per database"
    )
    targets: list[tuple[str, sa.URL | str]] = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("sqlite", f"sqlite:///{Path(tmp.name) / 'cdr.db'}"))
    server = None
    if os.environ.get("CDR_TEST_POSTGRES_URL"):
        server = PostgresServer(os.environ["CDR_TEST_POSTGRES_URL"])
        targets.append(("postgresql", server.create_database()))
    try:
        for name, url in targets:
            engine = create_engine(url)
            upgrade(engine)
            per_table, times = measure(engine, doc, n)
            total = sum(per_table.values())
            parts = ", ".join(f"{t} {b:,.0f}" for t, b in per_table.items() if b)
            print(f"{name}: {total:,.0f} B per composition = {total / compact:.1f} x compact JSON ({parts})")
            print(
                f"{name}: commit median {statistics.median(times) * 1000:.1f} ms, "
                f"mean {statistics.fmean(times) * 1000:.1f} ms"
            )
            engine.dispose()
    finally:
        if server is not None:
            server.drop_all()
        tmp.cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
