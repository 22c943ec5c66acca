"""``cdr query "AQL"``: run AQL against a database and print the result set (a table, JSON or CSV).

It runs the same use case as ``POST /query/aql`` (:func:`cdr.services.query.run`), so a query behaves alike
from the shell and over HTTP, and it prints the same RESULT_SET JSON with ``--format json``. Exit codes
follow :mod:`cdr.cli_common`: 0 with a result (also an empty one), 2 for a query that cannot run (syntax,
missing parameter, unsupported feature) and for a database that cannot be used.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import click

from aql.ast import INT64_LIMIT
from cdr.cli_common import configured_terminology, database_url, fail

FORMATS = ("table", "json", "csv")
_ROW_COUNT = click.IntRange(min=0, max=INT64_LIMIT - 1)  # the databases count rows in 64 bits


def parameter_value(text: str) -> Any:
    """A ``--param`` value: JSON when it reads as JSON (numbers, true/false/null, lists, quoted strings),
    otherwise the text itself, so that ``n=38.5`` compares as a number and ``uid=abc::x::1`` stays text.

    >>> parameter_value("38.5"), parameter_value('["a", "b"]'), parameter_value("abc::x::1")
    (38.5, ['a', 'b'], 'abc::x::1')
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_parameters(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs (a leading ``$`` on the name is allowed); exit 2 for one without ``=``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().removeprefix("$")
        if not sep or not name:
            fail(f"--param {pair!r}: expected name=value")
        out[name] = parameter_value(value)
    return out


def text_of(value: Any) -> str:
    """A cell as text: JSON for objects and lists, nothing for NULL."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def as_csv(document: dict[str, Any]) -> str:
    """The rows as CSV with the column names as header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c["name"] for c in document["columns"]])
    for row in document["rows"]:
        writer.writerow([text_of(v) for v in row])
    return out.getvalue()


def print_table(document: dict[str, Any]) -> None:
    """The rows as a rich table (column name over its path), with the row count below."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for c in document["columns"]:
        table.add_column(c["name"] + (f"\n[dim]{c['path']}[/dim]" if c.get("path") else ""), overflow="fold")
    for row in document["rows"]:
        table.add_row(*(text_of(v) for v in row))
    console = Console()
    console.print(table)
    count = len(document["rows"])
    console.print(f"{count} row{'s' if count != 1 else ''}")


def _storage(url: str) -> Any:
    """The storage at ``url``, unmigrated: a query must not create or change a database (exit 2 instead)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from cdr.server import shown_url
    from cdr.storage import Storage
    from cdr.storage.migrate import current_revision

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        fail(f"not a database URL {shown_url(url)}: {exc}")
    in_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if in_file and not os.path.exists(str(parsed.database)):
        fail(f"no database at {shown_url(url)} (create it with cdr db upgrade)")
    try:
        storage = Storage.open(url, migrate=False)
        revision = current_revision(storage.engine)
    except (SQLAlchemyError, ImportError) as exc:
        fail(f"cannot open {shown_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if revision is None:
        storage.close()
        fail(f"{shown_url(url)} has no cdr schema (run cdr db upgrade)")
    return storage


@click.command("query")
@click.argument("aql")
@click.option(
    "--db",
    "db",
    default=None,
    metavar="URL",
    help="Database URL (sqlite:///path or postgresql://...); default $CDR_DATABASE_URL, else "
    "sqlite:///./cdr-data/cdr.db.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A $parameter value (repeatable); JSON values (numbers, true, lists) are typed, anything else text.",
)
@click.option("--fetch", type=_ROW_COUNT, default=None, help="At most this many rows.")
@click.option("--offset", type=_ROW_COUNT, default=None, help="Skip this many rows (needs --fetch).")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)
def query_cmd(
    aql: str, db: str | None, params: tuple[str, ...], fetch: int | None, offset: int | None, fmt: str
) -> None:
    """Run an AQL query and print its result set."""
    from sqlalchemy.exc import SQLAlchemyError

    from cdr.api.schemas.query import result_set_document
    from cdr.errors import CdrError
    from cdr.server import shown_url
    from cdr.services import RequestContext, Services
    from cdr.services import query as service

    parameters = parse_parameters(params)
    url = database_url(db)
    storage = _storage(url)
    try:
        request = service.QueryRequest(parameters, fetch, offset)
        svc = Services(storage, external_terminology=configured_terminology())  # CDR_FHIR_TERMINOLOGY_*
        result = service.run(svc, RequestContext(), aql, request)
    except CdrError as exc:
        details = getattr(exc, "issues", [])
        lines = [f"  {i.message}" for i in details if i.message not in exc.message]
        fail("\n".join([exc.message, *lines]))
    except SQLAlchemyError as exc:
        fail(f"cannot query {shown_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    finally:
        storage.close()
    document = result_set_document(result)
    if fmt == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(as_csv(document), nl=False)
    else:
        print_table(document)
