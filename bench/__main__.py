"""``python -m bench SCENARIO``: run a benchmark scenario and print its figures."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.argument("scenario", type=click.Choice(["foundation"]))
@click.option("--rounds", default=30, show_default=True, help="Samples per figure.")
def main(scenario: str, rounds: int) -> None:
    """Run SCENARIO and print a table of p50 figures and ratios to the in-process baseline."""
    from bench import foundation

    rows = foundation.run(rounds=rounds)
    table = Table(title=f"bench {scenario}")
    for col in ("figure", "p50", "baseline p50", "ratio", "target"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.name, r.value, r.baseline, r.ratio, r.target)
    Console(width=160).print(table)


main()
