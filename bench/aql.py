"""AQL benchmarks (issue 5): ``aql.execute.execute`` against hand-written SQL on the same schema, PostgreSQL.

Data: :mod:`bench.aql_data` (generated NEWS2 vital-signs compositions, ten per EHR, cached per size). Sizes
come from ``CDR_BENCH_AQL_SIZES`` (comma separated, default ``10000,100000``: the largest is the headline, the
others give the growth figures); ``CDR_BENCH_AQL_EXPLAIN=1`` (or ``python -m bench.aql --explain``) prints
``EXPLAIN ANALYZE`` of the SQL the compiler emits for every workload. PostgreSQL comes from
``CDR_BENCH_POSTGRES_URL`` (else ``CDR_TEST_POSTGRES_URL``, else ``postgresql://postgres@127.0.0.1:5432/postgres``).

Workloads (subject: ``execute(storage, aql, params)``, parse and compile caches warm, rows decoded into the
result set; baseline: the SQL an engineer would write by hand for the same question and the same indexes, run
through the same engine and connection pool, rows fetched as tuples), interleaved round by round:

(a) one EHR's latest 10 compositions (uid, start time) by start time;
(b) population: compositions with a systolic pressure above a threshold, LIMIT 50;
(c) population: COUNT of those;
(d) one EHR's latest 10 blood pressure observations (systolic, event time) by event time;
(e) AQL parse + compile with the caches cleared, and from the caches (absolute, no baseline).

Every call of (a) and (d) asks about another EHR (each side its own), so the figures are not one hot page's.
Target: <= 1.5x.
"""

from __future__ import annotations

import os
import random
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.aql_data import Dataset, ensure
from bench.foundation import Row
from bench.harness import Timing, compare, measure, ms

BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
EVENT = "o/data[at0001]/events[at0006]"
SYSTOLIC = f"{EVENT}/data[at0003]/items[at0004]/value/magnitude"
SYSTOLIC_PATH = "/data[at0001]/events[at0006]/data[at0003]/items[at0004]"
THRESHOLD = 900.0
"""Systolic values of the generated data are spread over 0-1000 (the template constrains only the units), so
``> 900`` matches about a tenth of the blood pressure observations."""
TARGET = "<= 1.5x hand SQL"
DEFAULT_SIZES = (10_000, 100_000)


@dataclass(frozen=True)
class Workload:
    """One question, asked in AQL and in hand-written SQL; ``per_ehr`` ones get another EHR every call."""

    key: str
    title: str
    aql: str
    sql: str
    per_ehr: bool


WORKLOADS = (
    Workload(
        "a",
        "one EHR's latest 10 compositions",
        "SELECT c/uid/value, c/context/start_time/value "
        "FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c "
        "ORDER BY c/context/start_time/value DESC LIMIT 10",
        # the root node carries the start time in time_value; ehr_id leads the primary key; the stored uid
        # is the version row's vo_id::system_id::version (commit_version writes it so)
        """SELECT v.vo_id::text || '::' || v.system_id || '::' || v.version,
                  c.data #> '{context,start_time,value}'
           FROM node c JOIN object_version v
             ON v.ehr_id = c.ehr_id AND v.vo_id = c.vo_id AND v.version = c.version AND v.latest
          WHERE c.ehr_id = :ehr_id AND c.num = 0 AND c.rm_type = 'COMPOSITION'
          ORDER BY c.time_value DESC LIMIT 10""",
        True,
    ),
    Workload(
        "b",
        f"population: systolic > {THRESHOLD:g}, LIMIT 50",
        f"SELECT c/uid/value, {SYSTOLIC} FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{BP}] "
        f"WHERE {SYSTOLIC} > $x LIMIT 50",
        # straight into ix_node_num_value (archetype_id, archetype_node_id, num_value), then the version by
        # key, whose vo_id::system_id::version is the composition's stored uid
        f"""SELECT v.vo_id::text || '::' || v.system_id || '::' || v.version, p.num_value
           FROM node p
           JOIN object_version v
             ON v.ehr_id = p.ehr_id AND v.vo_id = p.vo_id AND v.version = p.version AND v.latest
          WHERE p.archetype_id = '{BP}' AND p.archetype_node_id = 'at0004'
            AND p.archetype_path = '{SYSTOLIC_PATH}' AND p.num_value > :x AND v.kind = 'COMPOSITION'
          LIMIT 50""",
        False,
    ),
    Workload(
        "c",
        f"population: COUNT where systolic > {THRESHOLD:g}",
        f"SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{BP}] "
        f"WHERE {SYSTOLIC} > $x",
        f"""SELECT count(*)
           FROM node p
           JOIN object_version v
             ON v.ehr_id = p.ehr_id AND v.vo_id = p.vo_id AND v.version = p.version AND v.latest
          WHERE p.archetype_id = '{BP}' AND p.archetype_node_id = 'at0004'
            AND p.archetype_path = '{SYSTOLIC_PATH}' AND p.num_value > :x AND v.kind = 'COMPOSITION'""",
        False,
    ),
    Workload(
        "d",
        "one EHR's latest 10 systolic values by event time",
        f"SELECT {SYSTOLIC}, {EVENT}/time/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c "
        f"CONTAINS OBSERVATION o[{BP}] ORDER BY {EVENT}/time/value DESC LIMIT 10",
        # the event node carries its time in time_value; the systolic element is inside it (nested set)
        f"""SELECT (p.data #> '{{value,magnitude}}'), ev.data #> '{{time,value}}'
           FROM node ev
           JOIN object_version v
             ON v.ehr_id = ev.ehr_id AND v.vo_id = ev.vo_id AND v.version = ev.version AND v.latest
           LEFT JOIN node p
             ON p.ehr_id = ev.ehr_id AND p.vo_id = ev.vo_id AND p.version = ev.version
            AND p.num > ev.num AND p.num <= ev.last_num
            AND p.archetype_node_id = 'at0004' AND p.archetype_path = '{SYSTOLIC_PATH}'
          WHERE ev.ehr_id = :ehr_id AND ev.archetype_id = '{BP}' AND ev.archetype_node_id = 'at0006'
            AND ev.archetype_path = '/data[at0001]/events[at0006]' AND v.kind = 'COMPOSITION'
          ORDER BY ev.time_value DESC LIMIT 10""",
        True,
    ),
)


def _postgres_url() -> str:
    return (
        os.environ.get("CDR_BENCH_POSTGRES_URL")
        or os.environ.get("CDR_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def sizes() -> list[int]:
    """The data set sizes of this run, smallest first (``CDR_BENCH_AQL_SIZES``)."""
    raw = os.environ.get("CDR_BENCH_AQL_SIZES") or os.environ.get("CDR_BENCH_AQL_SIZE")
    return sorted({int(s) for s in raw.split(",")}) if raw else list(DEFAULT_SIZES)


class Subjects:
    """The two ways of asking each workload, over one opened data set."""

    def __init__(self, storage: Any, ehr_ids: list[uuid.UUID]) -> None:
        self.storage = storage
        self.engine: Engine = storage.engine
        self.ehr_ids = ehr_ids
        self._turn = 0

    def next_ehr(self) -> uuid.UUID:
        self._turn += 1
        return self.ehr_ids[(self._turn * 7919) % len(self.ehr_ids)]

    def params(self, w: Workload) -> dict[str, Any]:
        return {"ehr_id": str(self.next_ehr())} if w.per_ehr else {"x": THRESHOLD}

    def run_aql(self, w: Workload, params: Mapping[str, Any]) -> list[list[Any]]:
        from aql.execute import execute

        return execute(self.storage, w.aql, params).rows

    def run_compiled(self, w: Workload, params: Mapping[str, Any]) -> list[Any]:
        """The compiler's statement alone (cached compile, no result-set decoding), run as the executor runs
        it (binary results): splits the AQL cost into the SQL's shape and the Python around it."""
        from aql.compiler import bind_values, compile_query, parameter_kinds
        from cdr.storage.engine import binary_results

        compiled = compile_query(w.aql, "postgresql", parameter_kinds(params))
        values = bind_values(list(compiled.derived), dict(params))
        with self.engine.connect() as conn, conn.begin(), binary_results(conn):
            return list(conn.execute(compiled.statement, values).all())

    def run_sql(self, w: Workload, params: Mapping[str, Any]) -> list[Any]:
        with self.engine.connect() as conn, conn.begin():
            return list(conn.execute(sa.text(w.sql), dict(params)).all())


def _agree(subjects: Subjects, w: Workload) -> int:
    """Fail unless AQL and hand SQL give the same rows (multisets where ties may reorder); row count."""
    for _ in range(5):
        params = subjects.params(w)
        got = [tuple(r) for r in subjects.run_aql(w, params)]
        want = [tuple(r) for r in subjects.run_sql(w, params)]
        if w.key == "b":  # no ORDER BY: any 50 matches are right; check they match and count
            ok = len(got) == len(want) and all(float(r[1]) > THRESHOLD for r in got)
        elif w.key in ("a", "d"):  # equal sort keys may come in either order
            ok = sorted(map(repr, got)) == sorted(map(repr, want))
        else:
            ok = got == want
        if not ok:
            raise SystemExit(f"workload ({w.key}): AQL and hand SQL disagree:\n  {got[:3]}\n  {want[:3]}")
    return len(got)


def _explained(engine: Engine, statement: Any, params: Mapping[str, Any]) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of ``statement`` exactly as SQLAlchemy sends it (binds processed)."""
    from sqlalchemy import event

    def prefix(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool) -> Any:
        return f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", parameters

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", prefix, retval=True)
        return "\n".join(str(r[0]) for r in conn.execute(statement, dict(params)).all())


def explain(subjects: Subjects, w: Workload) -> str:
    """The plan of the statement the compiler emits for ``w``, parameters bound as ``execute`` binds them."""
    from aql.compiler import bind_values, compile_query, parameter_kinds

    params = subjects.params(w)
    compiled = compile_query(w.aql, "postgresql", parameter_kinds(params))
    return _explained(subjects.engine, compiled.statement, bind_values(list(compiled.derived), params))


def explain_hand(subjects: Subjects, w: Workload) -> str:
    """The plan of the hand-written SQL (for comparing plans)."""
    return _explained(subjects.engine, sa.text(w.sql), subjects.params(w))


def _pair(
    subjects: Subjects, w: Workload, sql_only: bool = False
) -> tuple[Callable[[], object], Callable[[], object]]:
    """Subject and baseline calls; per-EHR workloads draw another EHR on every call, on both sides alike.

    Each side asks about an EHR of its own: when the subject asked about the EHR the baseline had just read,
    the baseline (first in every round, ``bench.harness.compare``) paid for bringing its pages into memory and
    the subject found them there, which at 100k made the AQL look 2-3x faster than the same plan by hand."""
    run = subjects.run_compiled if sql_only else subjects.run_aql

    def baseline() -> object:
        return subjects.run_sql(w, subjects.params(w))

    def subject() -> object:
        return run(w, subjects.params(w))

    return subject, baseline


def measure_size(
    ds: Dataset, rounds: int, show_plans: bool
) -> tuple[dict[str, tuple[Timing, Timing]], list[Row]]:
    """Every workload on one data set: the timings by workload key, and the table rows."""
    from cdr.storage import Storage

    storage = Storage.open(ds.url, migrate=False)
    try:
        with storage.engine.connect() as conn:
            ehr_ids = [r[0] for r in conn.exec_driver_sql("SELECT ehr_id FROM ehr ORDER BY ehr_id")]
            db_bytes, node_bytes, node_rows = conn.exec_driver_sql(
                "SELECT pg_database_size(current_database()), pg_total_relation_size('node'), "
                "(SELECT reltuples FROM pg_class WHERE relname = 'node')"
            ).one()
        random.Random(1).shuffle(ehr_ids)
        subjects = Subjects(storage, ehr_ids)
        label = f"{ds.compositions // 1000}k"
        load = "cached" if ds.reused else "built now"
        rows = [
            Row(
                f"[{label}] data set load ({ds.compositions:,} compositions, {ds.ehrs:,} EHRs; {load})",
                f"{ds.load_seconds:.0f} s",
                "-",
                f"{ds.compositions / ds.load_seconds:.0f}/s",
                "-",
            )
        ]
        rows.append(
            Row(
                f"[{label}] database size (node table with its indexes; node rows)",
                f"{db_bytes / 1e9:.2f} GB",
                f"{node_bytes / 1e9:.2f} GB; {node_rows / 1e6:.1f}M rows",
                "-",
                "-",
            )
        )
        timings: dict[str, tuple[Timing, Timing]] = {}
        for w in WORKLOADS:
            count = _agree(subjects, w)
            if show_plans:
                print(f"\n--- ({w.key}) {w.title} [{label}], AQL SQL:\n{explain(subjects, w)}")
                print(f"--- ({w.key}) hand SQL:\n{explain_hand(subjects, w)}", flush=True)
            subject, baseline = _pair(subjects, w)
            many = rounds * (10 if w.per_ehr else 3)
            s, b = compare(subject, baseline, rounds=many, warmup=5)
            timings[w.key] = (s, b)
            rows.append(
                Row(
                    f"[{label}] ({w.key}) {w.title} ({count} rows) p50",
                    ms(s.p50),
                    ms(b.p50),
                    f"{s.p50 / b.p50:.2f}x",
                    TARGET,
                )
            )
            rows.append(Row(f"[{label}] ({w.key}) p95", ms(s.p95), ms(b.p95), f"{s.p95 / b.p95:.2f}x", "-"))
            subject, baseline = _pair(subjects, w, sql_only=True)
            s, b = compare(subject, baseline, rounds=many, warmup=5)
            rows.append(
                Row(
                    f"[{label}] ({w.key})   its compiled SQL alone, p50",
                    ms(s.p50),
                    ms(b.p50),
                    f"{s.p50 / b.p50:.2f}x",
                    "-",
                )
            )
        rows += _compile_rows(label, rounds)
        return timings, rows
    finally:
        storage.close()


def _compile_rows(label: str, rounds: int) -> list[Row]:
    """(e): parse + compile of every workload's AQL, cold (both caches cleared) and cached; microseconds."""
    import aql.cache
    from aql.compiler import clear_cache, compile_query, parameter_kinds

    texts = [w.aql for w in WORKLOADS]
    kinds = [
        parameter_kinds({"ehr_id": str(uuid.uuid4())} if w.per_ehr else {"x": THRESHOLD}) for w in WORKLOADS
    ]

    def cold() -> None:
        for text, k in zip(texts, kinds, strict=True):
            aql.cache.clear()
            clear_cache()
            compile_query(text, "postgresql", k)

    def cached() -> None:
        for text, k in zip(texts, kinds, strict=True):
            compile_query(text, "postgresql", k)

    cold_t = measure(cold, rounds=rounds)
    cached_t = measure(cached, rounds=rounds, inner=100)
    n = len(texts)
    return [
        Row(
            f"[{label}] (e) AQL parse + compile, cold, per query (mean of {n})",
            f"{cold_t.p50 / n * 1e6:,.0f} µs",
            "nothing",
            "-",
            "-",
        ),
        Row(
            f"[{label}] (e) AQL parse + compile, cached, per query",
            f"{cached_t.p50 / n * 1e6:.1f} µs",
            "nothing",
            "-",
            "-",
        ),
    ]


def run(rounds: int = 30, show_plans: bool | None = None) -> list[Row]:
    """Every figure at every size of :func:`sizes`, then the growth from the smallest to the largest."""
    if show_plans is None:
        show_plans = os.environ.get("CDR_BENCH_AQL_EXPLAIN", "") not in ("", "0")
    by_size: dict[int, dict[str, tuple[Timing, Timing]]] = {}
    rows: list[Row] = []
    for size in sizes():
        ds = ensure(_postgres_url(), size, log=lambda m: print(m, file=sys.stderr, flush=True))
        by_size[size], size_rows = measure_size(ds, rounds, show_plans)
        rows += size_rows
    small, large = min(by_size), max(by_size)
    if small != large:
        factor = large / small
        for w in WORKLOADS:
            s0, b0 = by_size[small][w.key]
            s1, b1 = by_size[large][w.key]
            rows.append(
                Row(
                    f"growth {small // 1000}k -> {large // 1000}k ({factor:g}x data), ({w.key}) p50",
                    f"{s1.p50 / s0.p50:.2f}x AQL",
                    f"{b1.p50 / b0.p50:.2f}x hand SQL",
                    "-",
                    "-",
                )
            )
    return rows


if __name__ == "__main__":
    import click

    @click.command()
    @click.option("--size", "size_list", multiple=True, type=int, help="Data set size(s); repeatable.")
    @click.option("--explain", "show_plans", is_flag=True, help="Print EXPLAIN ANALYZE of every workload.")
    @click.option("--rounds", default=30, show_default=True)
    def main(size_list: tuple[int, ...], show_plans: bool, rounds: int) -> None:
        """``python -m bench.aql --size 10000 --size 100000 --explain``: the scenario with options."""
        from rich.console import Console
        from rich.table import Table

        if size_list:
            os.environ["CDR_BENCH_AQL_SIZES"] = ",".join(map(str, size_list))
        table = Table(title="bench aql: AQL against hand-written SQL on PostgreSQL (issue 5)")
        for col in ("figure", "p50", "baseline p50", "ratio", "target"):
            table.add_column(col)
        for r in run(rounds=rounds, show_plans=show_plans):
            table.add_row(r.name, r.value, r.baseline, r.ratio, r.target)
        Console(width=170).print(table)

    main()
