"""What every ``cdr`` command shares: the exit-code contract, failing with it, and loading inputs.

Exit codes follow one contract across commands: 0 success (or valid), 1 the input was read but is invalid
(or some of it was), 2 usage errors and input that cannot be read at all (missing file, not JSON/XML, broken
template, unreachable database).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from cdr.errors import SettingsError, TemplateError
from cdr.template.aom import OperationalTemplate

if TYPE_CHECKING:
    from cdr.services.value_sets import ExternalTerminology

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Report on stderr and exit, by default with the usage code (the input could not be used at all)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def configured_terminology() -> ExternalTerminology | None:
    """The terminology server the ``CDR_FHIR_TERMINOLOGY_*`` variables configure, as the server reads them;
    exits with the usage code when they cannot be used (a half-configured OAuth client, say)."""
    from cdr.api.config import external_terminology, load

    try:
        return external_terminology(load())
    except SettingsError as exc:
        fail(exc.message)


def template_problem(exc: TemplateError) -> str:
    """A broken template's message with every reason the parser listed, one per line."""
    return exc.message + "".join(f"\n  - {r}" for r in exc.reasons if r != exc.message)


def load_template(path: Path) -> OperationalTemplate:
    """The OPT at ``path``, or exit 2 naming the file and every reason it cannot be loaded."""
    from cdr.template import load_opt

    try:
        return load_opt(path)
    except TemplateError as exc:
        fail(f"cannot load template {path}: {template_problem(exc)}")
    except OSError as exc:
        fail(f"cannot read template {path}: {exc.strerror or exc}")


def read_input(path: Path) -> bytes:
    """The bytes of ``path`` (``-`` is standard input), or exit 2 naming it."""
    try:
        with click.open_file(str(path), "rb") as stream:
            data: bytes = stream.read()
            return data
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


def database_url(db: str | None) -> str:
    """The database to use: ``--db``, else ``CDR_DATABASE_URL``, else the embedded SQLite default."""
    import os

    from cdr.storage import DEFAULT_URL

    return db or os.environ.get("CDR_DATABASE_URL") or DEFAULT_URL
