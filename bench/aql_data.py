"""The AQL benchmark's data set: N generated vital-signs compositions over N/10 EHRs on PostgreSQL, cached.

Compositions come from the shipped NEWS2 template (``templates/kommunal_vitalparametre_news2.nb.opt``) through
the example generator, seeded, so a size always means the same data. Loading 100k compositions one REST commit
at a time would take most of an hour on the benchmark machine (about 11 ms per commit even on a batched
connection: one round trip per statement), so the loader writes the rows the commit path writes, many
compositions per transaction with one ``executemany`` per table:

* EHRs go through the store itself (``EhrStore.create`` on a shared connection), as they are few.
* Each composition becomes, as in :func:`cdr.storage.versioning.commit_version`, one ``contribution`` (every
  REST commit is its own contribution), one ``versioned_object``, one ``object_version`` with the canonical
  JSON (its ``uid`` set to ``vo_id::system_id::1``) and the ``node`` rows :func:`cdr.storage.decompose`
  produces.
* So that "the rows the commit path writes" stays true when the storage layer changes, the first composition
  of every build is committed through ``CompositionStore.create`` and its stored rows are compared with what
  the bulk loader would have written for it (ids and commit times aside); any difference stops the build.

Generation and decomposition (most of the CPU) run in worker processes while the main process inserts.
The database (``cdr_bench_aql_<size>``) is kept between runs: a marker table, ``bench_aql_dataset``, holds a
fingerprint of (template, size, seed, schema revision, loader version) and the load time; a database whose
fingerprint matches is reused as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import multiprocessing
import random
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt"
COMPOSITIONS_PER_EHR = 10
CHUNK = 500
"""Compositions per worker task and per insert transaction (about 18k node rows)."""
LOADER_VERSION = "1"
"""Bump when the loader writes different data, so that cached databases are rebuilt."""
MARKER = "bench_aql_dataset"
SYSTEM_ID = "cdr.local"
COMMITTER: dict[str, Any] = {"_type": "PARTY_IDENTIFIED", "name": "bench aql loader"}
CREATION, COMPLETE = "249", "532"  # openEHR 'audit change type' creation, 'version lifecycle state' complete


@dataclass(frozen=True)
class Dataset:
    """A loaded data set: where it is, how big, and what loading it cost (when this run built it)."""

    url: str
    compositions: int
    ehrs: int
    load_seconds: float
    reused: bool
    fingerprint: str


def fingerprint(size: int, seed: int) -> str:
    """What the data depends on; a cached database with another fingerprint is rebuilt."""
    from cdr.storage.migrate import head_revision

    digest = hashlib.sha256(TEMPLATE.read_bytes())
    digest.update(f"|{size}|{seed}|{head_revision()}|{LOADER_VERSION}".encode())
    return digest.hexdigest()[:16]


def database_url(server_url: str, size: int) -> str:
    """The URL of the cached database for ``size`` compositions on the server of ``server_url``."""
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=f"cdr_bench_aql_{size}").render_as_string(hide_password=False)


def ensure(server_url: str, size: int, seed: int = 7, log: Any = print) -> Dataset:
    """The data set of ``size`` compositions, reused if cached with the same fingerprint, else (re)built."""
    url = database_url(server_url, size)
    expected = fingerprint(size, seed)
    found = _marker(url)
    if found is not None and found[0] == expected:
        return Dataset(url, size, size // COMPOSITIONS_PER_EHR, found[1], True, expected)
    log(f"building {size:,} compositions into {url.rsplit('/', 1)[-1]} (not cached or stale)")
    _recreate(server_url, url)
    seconds = _build(url, size, seed, log)
    with sa.create_engine(_psycopg(url)).begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {MARKER} (fingerprint text NOT NULL, compositions int NOT NULL, "
            "load_seconds double precision NOT NULL, built_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.exec_driver_sql(
            f"INSERT INTO {MARKER} (fingerprint, compositions, load_seconds) VALUES (%s, %s, %s)",
            (expected, size, seconds),
        )
    return Dataset(url, size, size // COMPOSITIONS_PER_EHR, seconds, False, expected)


def _psycopg(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}+psycopg://{rest}"


def _marker(url: str) -> tuple[str, float] | None:
    engine = sa.create_engine(_psycopg(url))
    try:
        with engine.connect() as conn:
            if conn.exec_driver_sql(f"SELECT to_regclass('{MARKER}')").scalar() is None:
                return None
            row = conn.exec_driver_sql(f"SELECT fingerprint, load_seconds FROM {MARKER}").first()
            return (str(row[0]), float(row[1])) if row else None
    except sa.exc.OperationalError:  # no such database
        return None
    finally:
        engine.dispose()


def _recreate(server_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = sa.create_engine(
        _psycopg(make_url(server_url).set(database="postgres").render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


# --- building -----------------------------------------------------------------------------------------------


def _build(url: str, size: int, seed: int, log: Any) -> float:
    """Load the data set into the empty database at ``url``; the seconds it took (ANALYZE included)."""
    from cdr.storage import Audit, Storage
    from cdr.storage.engine import write_transaction

    start = time.perf_counter()
    storage = Storage.open(url, SYSTEM_ID)
    try:
        storage.templates.upload(TEMPLATE.read_bytes())
        audit = Audit(COMMITTER)
        ehr_count = max(1, size // COMPOSITIONS_PER_EHR)
        ehr_ids: list[uuid.UUID] = []
        for first in range(0, ehr_count, CHUNK):
            with write_transaction(storage.engine) as conn:
                for _ in range(first, min(ehr_count, first + CHUNK)):
                    ehr_ids.append(storage.ehrs.create(audit, conn=conn)[0].ehr_id)
        log(f"  {ehr_count:,} EHRs in {time.perf_counter() - start:.1f} s")
        loaded = 0
        for chunk in _prepared_chunks(size, seed, ehr_ids):
            if loaded == 0:
                _check_against_commit_path(storage, chunk[0])
                chunk = chunk[1:]
                loaded = 1
            with write_transaction(storage.engine) as conn:
                _insert(conn, chunk)
            loaded += len(chunk)
            if loaded % (CHUNK * 20) == 0 or loaded == size:
                log(f"  {loaded:,} compositions in {time.perf_counter() - start:.1f} s")
        _analyze(storage.engine)
    finally:
        storage.close()
    return time.perf_counter() - start


@dataclass
class _Prepared:
    """One composition as the commit path would write it, minus the commit's own ids and time."""

    ehr_id: uuid.UUID
    vo_id: uuid.UUID
    data: dict[str, Any]
    nodes: list[dict[str, Any]]


_OPT: Any = None


def _prepare(task: tuple[int, int, int, list[uuid.UUID]]) -> list[_Prepared]:
    """Worker: generate, serialise and decompose ``count`` compositions (reproducible from the seed)."""
    from cdr.formats.canonical_json import to_json
    from cdr.storage.decompose import decompose
    from cdr.template import parse_opt
    from cdr.template.example import generate

    global _OPT
    if _OPT is None:
        _OPT = parse_opt(TEMPLATE.read_bytes())
    first, count, seed, ehrs = task
    rng = random.Random(seed * 1_000_003 + first)
    out = []
    for i, comp in enumerate(generate(_OPT, count, seed=seed * 1_000_003 + first)):
        vo_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        data = to_json(comp)
        data["uid"] = {"_type": "OBJECT_VERSION_ID", "value": f"{vo_id}::{SYSTEM_ID}::1"}
        nodes = [n.columns() for n in decompose(data)]
        out.append(_Prepared(ehrs[i], vo_id, data, nodes))
    return out


def _prepared_chunks(size: int, seed: int, ehr_ids: list[uuid.UUID]) -> Iterator[list[_Prepared]]:
    """Chunks of prepared compositions, in order; composition i belongs to EHR ``i % len(ehr_ids)`` (so one
    EHR's compositions are spread over the whole load, as a real record's are over time)."""
    tasks = [
        (
            first,
            min(CHUNK, size - first),
            seed,
            [ehr_ids[i % len(ehr_ids)] for i in range(first, first + CHUNK)],
        )
        for first in range(0, size, CHUNK)
    ]
    workers = max(1, multiprocessing.cpu_count() or 2)
    ahead = 2 * workers  # bounded: the workers outrun the inserts, and 1M prepared compositions is ~30 GB
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        queue = iter(tasks)
        pending = deque(pool.apply_async(_prepare, (task,)) for task in itertools.islice(queue, ahead))
        while pending:
            done = pending.popleft().get()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.apply_async(_prepare, (following,)))
            yield done


def _rows(prepared: list[_Prepared], now: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table for ``prepared``, as :func:`~cdr.storage.versioning.commit_version` writes."""
    rows: dict[str, list[dict[str, Any]]] = {
        "contribution": [],
        "versioned_object": [],
        "object_version": [],
        "node": [],
    }
    for p in prepared:
        contribution_id = uuid.uuid4()
        rows["contribution"].append(
            {
                "ehr_id": p.ehr_id,
                "contribution_id": contribution_id,
                "system_id": SYSTEM_ID,
                "time_committed": now,
                "change_type": CREATION,
                "committer": COMMITTER,
                "description": None,
            }
        )
        rows["versioned_object"].append(
            {
                "ehr_id": p.ehr_id,
                "vo_id": p.vo_id,
                "kind": "COMPOSITION",
                "time_created": now,
                "latest_version": 1,
            }
        )
        template_id = ((p.data.get("archetype_details") or {}).get("template_id") or {}).get("value")
        rows["object_version"].append(
            {
                "ehr_id": p.ehr_id,
                "vo_id": p.vo_id,
                "version": 1,
                "kind": "COMPOSITION",
                "system_id": SYSTEM_ID,
                "contribution_id": contribution_id,
                "preceding_version_uid": None,
                "lifecycle_state": COMPLETE,
                "change_type": CREATION,
                "time_committed": now,
                "superseded_at": None,
                "latest": True,
                "committer": COMMITTER,
                "description": None,
                "template_id": template_id,
                "archetype_id": p.data.get("archetype_node_id"),
                "data": p.data,
            }
        )
        key = {"ehr_id": p.ehr_id, "vo_id": p.vo_id, "version": 1}
        rows["node"].extend({**key, **n} for n in p.nodes)
    return rows


def _insert(conn: Connection, prepared: list[_Prepared]) -> None:
    from cdr.storage import schema as t

    for table, rows in _rows(prepared, dt.datetime.now(dt.UTC)).items():
        if rows:
            conn.execute(sa.insert(t.metadata.tables[table]), rows)


_IGNORED = {"contribution_id", "time_committed", "time_created"}


def _check_against_commit_path(storage: Any, prepared: _Prepared) -> None:
    """Commit ``prepared`` through ``CompositionStore.create`` and fail unless its stored rows are the ones
    :func:`_rows` builds for it (ids and commit times aside)."""
    from cdr.storage import Audit
    from cdr.storage import schema as t

    data = dict(prepared.data)
    data.pop("uid")
    storage.compositions.create(prepared.ehr_id, data, Audit(COMMITTER), object_id=prepared.vo_id)
    expected = _rows([prepared], dt.datetime.now(dt.UTC))
    with storage.engine.connect() as conn:
        for name in ("object_version", "versioned_object", "node"):
            table = t.metadata.tables[name]
            got = [
                {k: v for k, v in r._mapping.items() if k not in _IGNORED}
                for r in conn.execute(
                    sa.select(table)
                    .where(table.c.vo_id == prepared.vo_id)
                    .order_by(*table.primary_key.columns)
                )
            ]
            want = [{k: v for k, v in r.items() if k not in _IGNORED} for r in expected[name]]
            if got != want:
                diff = [
                    (k, g.get(k), w.get(k))
                    for g, w in zip(got, want, strict=False)
                    for k in w
                    if g.get(k) != w.get(k)
                ]
                raise SystemExit(
                    f"bulk loader disagrees with the commit path on {name}: {diff[:5]} "
                    f"({len(got)} rows stored, {len(want)} built)"
                )


def _analyze(engine: Engine) -> None:
    """Fresh statistics, as autovacuum would leave them on a database that had time to settle."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
