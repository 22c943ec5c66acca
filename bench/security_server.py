"""A ``cdr serve``-like server for ``bench security``'s HTTP figures: the production app under waitress, with
the security layer on (JWT against a JWKS file, policy, audit trail) or taken out (``--side off``, as
:func:`bench.security._without_security` takes it out in-process). Not a product entry point: ``cdr serve``
always runs the security layer.

``python -m bench.security_server --db URL --port N --side on|off [--jwks FILE --issuer I --audience A]``
"""

from __future__ import annotations

import click


@click.command()
@click.option("--db", "url", required=True)
@click.option("--port", type=int, required=True)
@click.option("--side", type=click.Choice(["on", "off"]), required=True)
@click.option("--jwks", "jwks_file", default=None)
@click.option("--issuer", default=None)
@click.option("--audience", default=None)
def main(
    url: str, port: int, side: str, jwks_file: str | None, issuer: str | None, audience: str | None
) -> None:
    from bench.security import _without_security
    from cdr.api import create_app
    from cdr.security import AuthConfig
    from cdr.server import listen, serve_until_stopped

    if side == "on":
        auth = AuthConfig.load(issuer=issuer, audience=[audience], jwks_file=jwks_file)
        app = create_app({"DATABASE_URL": url, "AUTH": auth})
    else:
        app = _without_security(create_app({"DATABASE_URL": url}))
    server = listen(app, host="127.0.0.1", port=port, threads=8)
    serve_until_stopped(server, app)


if __name__ == "__main__":
    main()
