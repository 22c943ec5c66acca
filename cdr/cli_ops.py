"""Operations commands: ``cdr db upgrade``, ``cdr serve`` and ``cdr import`` (:mod:`cdr.cli_import`).

They share how the database is chosen (:func:`cdr.cli_common.database_url`: ``--db``, else
``CDR_DATABASE_URL``, else the embedded SQLite file ``./cdr-data/cdr.db``) and report a database that
cannot be reached with the usage exit code, 2, naming the URL without its password.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import click

from cdr.cli_common import configured_terminology, database_url, fail
from cdr.server import shown_url
from cdr.template.validation.profile import PROFILES

_DB_OPTION = click.option(
    "--db",
    "db",
    default=None,
    metavar="URL",
    help="Database URL (sqlite:///path or postgresql://...); default $CDR_DATABASE_URL, else "
    "sqlite:///./cdr-data/cdr.db.",
)


@click.group("db")
def db_group() -> None:
    """Database administration."""


@db_group.command("upgrade")
@_DB_OPTION
def db_upgrade_cmd(db: str | None) -> None:
    """Apply the schema migrations to the database (creating a SQLite file on first use)."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from cdr.storage import create_engine, upgrade
    from cdr.storage.migrate import current_revision

    url = database_url(db)
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        fail(f"not a database URL {shown_url(url)}: {exc}")
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot migrate {shown_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{shown_url(url)}: already at revision {after}")
    else:
        click.echo(f"{shown_url(url)}: upgraded from {before or 'an empty database'} to {after}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Worker threads of the WSGI server.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port (POSIX); more pay off with concurrent clients on PostgreSQL.",
)
@click.option(
    "--validation-profile",
    "validation_profile",
    type=click.Choice(sorted(PROFILES)),
    default=None,
    help="Rules committed data is validated by: ehrbase (EHRbase's documented departures from the AOM) "
    "or strict (the AOM); default $CDR_VALIDATION_PROFILE, else ehrbase.",
)
@_DB_OPTION
def serve_cmd(
    host: str, port: int, threads: int, workers: int, validation_profile: str | None, db: str | None
) -> None:
    """Run the REST API in the foreground with a production WSGI server (waitress).

    The database is migrated first. SIGTERM or SIGINT stops it: the listening socket and connections close,
    worker threads get up to 5 s to leave the request they are in, the database connections are closed,
    and the exit code is 0. With --workers N the first process supervises N server processes and passes
    the signal on.
    """
    from cdr.server import ServerError, run

    _check_auth(host)
    configured_terminology()  # a terminology client that cannot work stops the start, not the first commit
    if validation_profile is not None:
        # the app reads its settings from CDR_* variables (cdr.api.config); setting the variable here
        # reaches the app of this process and of every forked worker alike
        os.environ["CDR_VALIDATION_PROFILE"] = validation_profile
    url = database_url(db)
    try:
        run(
            url,
            host=host,
            port=port,
            threads=threads,
            workers=workers,
            log=lambda line: click.echo(line, err=True),
        )
    except ServerError as exc:
        fail(exc.message)


def _check_auth(host: str) -> None:
    """Refuse to start, before the database is opened or anything listens, with authentication settings
    the app could not use, or with ``CDR_AUTH=none`` on an address other machines can reach.

    Without ``CDR_AUTH`` the app runs with authentication off but answers loopback clients only (a
    developer's machine, the container's own health check); that is allowed on any address, with a warning
    when the address is not loopback, since a reverse proxy on the same machine would make every client
    look local.
    """
    from cdr.api.security import auth_config
    from cdr.security import AuthMode, check_auth_mode
    from cdr.security.config import is_loopback
    from cdr.security.errors import AuthConfigError

    explicit = os.environ.get("CDR_AUTH", "").strip()
    try:
        if explicit:
            check_auth_mode(explicit, host)
        config = auth_config({}, os.environ)
    except AuthConfigError as exc:
        fail(exc.message)
    if config.mode is AuthMode.NONE and not is_loopback(host):
        click.echo(
            f"warning: CDR_AUTH is not set, so authentication is off and only loopback clients are served "
            f"on {host}; set CDR_AUTH=jwt (HelseID) or basic to serve other machines",
            err=True,
        )


@click.command("import")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--template-dir",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Directory of the OPT 1.4 templates (*.opt, subdirectories too) the compositions use.",
)
@click.option("--ehr-per-file", is_flag=True, help="Create a new EHR for each file (a patient per file).")
@click.option(
    "--ehr",
    "ehr_id",
    type=click.UUID,
    default=None,
    help="Import everything into this EHR (created with this id if it does not exist).",
)
@_DB_OPTION
def import_cmd(
    directory: Path, template_dir: Path, ehr_per_file: bool, ehr_id: uuid.UUID | None, db: str | None
) -> None:
    """Import every composition under DIRECTORY (canonical JSON/XML, FLAT, STRUCTURED; .jsonl one per line).

    Invalid documents are reported (path and first issues) and skipped; the rest are committed, one
    transaction each. Exit 0 if all were imported, 1 if some were skipped, 2 for unusable arguments.
    """
    from cdr.cli_import import run_import

    if ehr_per_file == (ehr_id is not None):
        fail("give exactly one of --ehr-per-file and --ehr ID")
    sys.exit(run_import(directory, template_dir, ehr_id, database_url(db)))


OPERATIONS: list[click.Command] = [db_group, serve_cmd, import_cmd]
