"""``python -m bench SCENARIO``: run a benchmark scenario and print its figures."""

from __future__ import annotations

import importlib

import click
from rich.console import Console
from rich.table import Table

SCENARIOS = {
    "foundation": "template loading, web template, canonical JSON parse + validation (issue 2)",
    "formats": "FLAT -> canonical + validation against canonical JSON (issue 3)",
    "commit": "REST commits and reads against raw SQL on PostgreSQL (issue 4)",
    "aql": "AQL against hand-written SQL on PostgreSQL, 10k and 100k compositions (issue 5)",
    "stages": "where a commit's and a read's CPU goes, stage by stage, in-process on PostgreSQL (issue 4)",
    "security": "JWT auth, policy and audit on vs off: commits and reads, HTTP and in-process (issue 6)",
    "instructions": "instructions per commit, read, parse and validation, counted by valgrind (issue 4)",
}


@click.command()
@click.argument("scenario", type=click.Choice(sorted(SCENARIOS)))
@click.option("--rounds", default=30, show_default=True, help="Samples per figure.")
def main(scenario: str, rounds: int) -> None:
    """Run SCENARIO and print a table of p50 figures and ratios to the in-process baseline."""
    module = importlib.import_module(f"bench.{scenario}")
    rows = module.run(rounds=rounds)
    table = Table(title=f"bench {scenario}: {SCENARIOS[scenario]}")
    columns = getattr(module, "COLUMNS", ("figure", "p50", "baseline p50", "ratio", "target"))
    for col in columns:
        table.add_column(col)
    for r in rows:  # a scenario with fewer columns leaves the last fields of its rows unused
        table.add_row(*(r.name, r.value, r.baseline, r.ratio, r.target)[: len(columns)])
    Console(width=160).print(table)


main()
