"""``cdr audit verify`` and ``cdr audit purge``: check the audit trail's hash chain, apply retention.

``verify`` exits 0 when every record matches its hash and its predecessor and each chain ends at its
recorded head, 1 with the first broken chain and position otherwise (an edited, removed or reordered record),
2 when the database cannot be read. It prints one digest of all chains' heads: keeping that line somewhere
the database's administrators cannot write (a ticket, a WORM store) is what makes rewriting a whole chain
detectable.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from cdr.cli_common import EXIT_INVALID, EXIT_VALID, database_url, fail
from cdr.server import shown_url

if TYPE_CHECKING:
    from cdr.storage.audit import AuditStore

_DB = click.option("--db", "db", default=None, metavar="URL", help="Database URL; default $CDR_DATABASE_URL.")


@click.group("audit")
def audit_group() -> None:
    """The audit trail: verify its hash chain, purge past retention."""


def _store(db: str | None) -> tuple[str, AuditStore]:
    """The URL and the audit store over it (imports here keep the CLI quick to start)."""
    from sqlalchemy.exc import ArgumentError

    from cdr.storage import create_engine
    from cdr.storage.audit import AuditStore

    url = database_url(db)
    try:
        return url, AuditStore(create_engine(url))
    except (ArgumentError, ImportError) as exc:
        fail(f"not a database URL {shown_url(url)}: {exc}")


@audit_group.command("verify")
@_DB
def verify_cmd(db: str | None) -> None:
    """Recompute the audit chains; exit 1 at the first edited, removed or reordered record."""
    from sqlalchemy.exc import SQLAlchemyError

    url, store = _store(db)
    try:
        report = store.verify()
    except SQLAlchemyError as exc:
        fail(f"cannot read the audit trail of {shown_url(url)}: {str(exc).splitlines()[0]}")
    finally:
        store.engine.dispose()
    if not report.ok:
        click.echo(
            f"audit chain {report.chain} broken at record {report.position} (position {report.broken_at}): "
            f"{report.reason}; {report.checked} records before it verified",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    click.echo(
        f"audit chains ok: {report.checked} records in {report.chains} chains, heads {report.heads_digest}"
    )
    sys.exit(EXIT_VALID)


@audit_group.command("purge")
@_DB
@click.option(
    "--retain-days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep this many days of records; default $CDR_AUDIT_RETENTION_DAYS.",
)
def purge_cmd(db: str | None, retain_days: int | None) -> None:
    """Remove records older than the retention period, leaving a checkpoint so the rest still verifies."""
    import os

    from sqlalchemy.exc import SQLAlchemyError

    days = retain_days or int(os.environ.get("CDR_AUDIT_RETENTION_DAYS") or 0)
    if days < 1:
        fail("give --retain-days or set CDR_AUDIT_RETENTION_DAYS")
    url, store = _store(db)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    try:
        removed = store.purge(before, actor="cdr audit purge")
    except SQLAlchemyError as exc:
        fail(f"cannot purge the audit trail of {shown_url(url)}: {str(exc).splitlines()[0]}")
    finally:
        store.engine.dispose()
    click.echo(f"removed {removed} audit records older than {before.isoformat(timespec='seconds')}")
