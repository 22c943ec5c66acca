"""``cdr auth``: helpers for configuring authentication (the Basic users file of small setups)."""

from __future__ import annotations

import json
import sys

import click

from cdr.security.passwords import hash_password


@click.group("auth")
def auth_group() -> None:
    """Authentication set-up helpers."""


@auth_group.command("user")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="Scope granted to the user (repeat), e.g. cdr/ehr.read, cdr/query, cdr/admin.")
@click.option("--display-name", default=None, help="Human-readable name recorded in the audit trail.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
def user_cmd(name: str, scopes: tuple[str, ...], display_name: str | None, password_stdin: bool) -> None:
    """Print one users-file entry for NAME (a JSON object to merge into CDR_AUTH_BASIC_USERS_FILE).

    Only the salted scrypt hash of the password is printed, never the password itself.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("the password must not be empty")
    entry: dict[str, object] = {"password_hash": hash_password(password), "scopes": list(scopes)}
    if display_name:
        entry["name"] = display_name
    click.echo(json.dumps({name: entry}, ensure_ascii=False, indent=2))
