"""``cdr terminology``: checks of the external terminology server the ``CDR_FHIR_TERMINOLOGY_*`` variables
configure, so that an operator learns of a wrong URL, client id or key at set-up, not from the first
commit that cannot be checked."""

from __future__ import annotations

import time

import click

from cdr.cli_common import EXIT_USAGE, configured_terminology, fail


@click.group("terminology")
def terminology_group() -> None:
    """External terminology server (FHIR) helpers."""


@terminology_group.command("check")
def check_cmd() -> None:
    """Ask the configured FHIR terminology server for its capabilities, with a token first when an OAuth
    client is configured (CDR_FHIR_TERMINOLOGY_TOKEN_URL). Exit 0 when both answer, 2 otherwise."""
    from cdr.terminology.fhir import FhirError
    from cdr.terminology.oauth import TokenError

    terminology = configured_terminology()
    if terminology is None:
        fail("no terminology server is configured (set CDR_FHIR_TERMINOLOGY_URL)")
    server = terminology.server
    if server.tokens is not None:
        started = time.monotonic()
        try:
            _, headers = server.tokens.authorization("GET", f"{server.base_url}/metadata")
        except TokenError as exc:
            fail(exc.message, EXIT_USAGE)
        took = (time.monotonic() - started) * 1000
        credentials = server.tokens.credentials
        how = "private_key_jwt" if credentials.signing_key is not None else "client_secret_basic"
        scheme = headers["Authorization"].split(" ", 1)[0]
        issuer = credentials.token_url
        click.echo(f"token: {scheme}, issued to {credentials.client_id} ({how}) by {issuer} in {took:.0f} ms")
    try:
        statement = server.capabilities()
    except FhirError as exc:
        fail(exc.message, EXIT_USAGE)
    software = statement.get("software")
    software = software if isinstance(software, dict) else {}
    name = " ".join(str(software[k]) for k in ("name", "version") if software.get(k)) or "unnamed software"
    version = statement.get("fhirVersion") or "an unstated FHIR version"
    click.echo(f"server: {server.base_url} answers as {name}, FHIR {version}")
