"""The openEHR REST API (ITS-REST 1.0.3) as a flask application: :func:`create_app` builds one.

One blueprint per resource (``ehr``, ``ehr_status``, ``composition``, ``directory``, ``contribution``,
``definition``, ``query``, ``admin``, ``system``); handlers parse the request, call one service function (in
:mod:`cdr.services`) and serialise the answer. Errors of every kind become the single JSON shape of
:mod:`cdr.api.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from cdr.api import auth, errors, security
from cdr.api.config import load
from cdr.api.current import current_request, the_app
from cdr.api.json_provider import OrjsonProvider
from cdr.services import Services
from cdr.storage import Storage
from cdr.template.validation.profile import profile_named

__all__ = ["create_app", "services"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A new app over the database ``config["DATABASE_URL"]`` (migrated on start unless ``MIGRATE`` is off).

    ``config`` overrides the settings of :mod:`cdr.api.config` (and the ``CDR_*`` environment); tests may
    pass a ready ``STORAGE`` instead of a URL.
    """
    settings = load(config)
    app = Flask("cdr")
    app.config.update(settings)
    app.json = OrjsonProvider(app)  # canonical JSON keeps the RM attribute order, non-ASCII kept
    storage = settings.get("STORAGE")
    if storage is None:
        storage = Storage.open(settings["DATABASE_URL"], settings["SYSTEM_ID"], migrate=settings["MIGRATE"])
    app.extensions["cdr"] = Services(storage, profile_named(str(settings["VALIDATION_PROFILE"])))
    if settings.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)  # type: ignore[method-assign]
    errors.init_app(app)
    app.before_request(_refuse_nul_url)
    auth.init_app(app)
    _register_blueprints(app, settings["BASE_PATH"])
    security.init_app(app, settings["BASE_PATH"])
    app.before_request(_refuse_nul_body)
    return app


# a JSON ``\u0000`` escape, i.e. one not itself escaped by an odd run of backslashes before it
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _refuse_nul_url() -> None:
    """A NUL character in the path or query string is a 400 before anything reads it, authentication
    included: no identifier or parameter holds one, and PostgreSQL could not store the audit record of the
    request (which keeps the path)."""
    from cdr.api.errors import ApiError

    req = current_request()
    if "\x00" in req.path or b"\x00" in req.query_string or b"%00" in req.query_string:
        raise ApiError("the request URL contains a NUL character")


def _refuse_nul_body() -> None:
    """A NUL character in a JSON body (raw, or escaped as ``\\u0000``) is a 400: no RM string holds one,
    and PostgreSQL's text and jsonb cannot store it (the same composition was a 201 on SQLite and a 500 on
    PostgreSQL). Installed after authentication, so that only authenticated callers make the server read."""
    from cdr.api.errors import ApiError

    req = current_request()
    if req.mimetype.endswith("json") and req.content_length:
        body = req.get_data(cache=True)
        # the substring test is a fast scan; the regex (which tells an escape from an escaped backslash)
        # runs only on the rare body that holds the text at all
        if b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)):
            raise ApiError("the request body contains a NUL character")


def _register_blueprints(app: Flask, base: str) -> None:
    from cdr.api import (
        admin,
        composition,
        contribution,
        definition,
        directory,
        ehr,
        ehr_status,
        query,
        system,
    )

    for module in (ehr, ehr_status, composition, directory, contribution, definition, query, admin):
        app.register_blueprint(module.bp, url_prefix=base)
    system.register(app, base)


def services() -> Services:
    """The service container of the current app."""
    found: Services = the_app().extensions["cdr"]
    return found
