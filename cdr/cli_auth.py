"""``cdr auth``: helpers for configuring authentication (the Basic users file of small setups)."""

from __future__ import annotations

import json
import sys

import click
from pydantic import ValidationError

from cdr.security.config import BasicUser
from cdr.security.passwords import hash_password


@click.group("auth")
def auth_group() -> None:
    """Authentication set-up helpers."""


@auth_group.command("user")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="Scope granted to the user (repeat), e.g. cdr/ehr.read, cdr/query, cdr/admin.",
)
@click.option("--display-name", default=None, help="Human-readable name recorded in the audit trail.")
@click.option(
    "--hpr-number", default=None, help="HPR number of a health professional (care relations name it)."
)
@click.option("--pid", default=None, help="National id (11 digits) of a patient using self-service.")
@click.option("--orgnr-parent", default=None, help="Organisation number (9 digits) of the legal entity.")
@click.option("--orgnr-child", default=None, help="Organisation number (9 digits) of the unit.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
def user_cmd(
    name: str,
    scopes: tuple[str, ...],
    display_name: str | None,
    hpr_number: str | None,
    pid: str | None,
    orgnr_parent: str | None,
    orgnr_child: str | None,
    password_stdin: bool,
) -> None:
    """Print one users-file entry for NAME (a JSON object to merge into CDR_AUTH_BASIC_USERS_FILE).

    Only the salted scrypt hash of the password is printed, never the password itself. The identity options
    give the user what HelseID would state, so that the need-to-know policy can find a basis for them (a care
    relation names an HPR number or an organisation; a patient reads the EHR whose subject is their pid).
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("the password must not be empty")
    identity = {
        "name": display_name,
        "hpr_number": hpr_number,
        "pid": pid,
        "orgnr_parent": orgnr_parent,
        "orgnr_child": orgnr_child,
    }
    entry: dict[str, object] = {"password_hash": hash_password(password), "scopes": sorted(scopes)}
    entry.update({key: value for key, value in identity.items() if value is not None})
    try:
        BasicUser.model_validate(entry)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise click.UsageError(problems) from None
    click.echo(json.dumps({name: entry}, ensure_ascii=False, indent=2))
