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

from cdr.api import auth, cors, errors, security
from cdr.api.config import external_terminology, load
from cdr.api.current import current_request, the_app
from cdr.api.ehrbase_paths import serve_ehrbase_tag_paths
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
    timeout_ms = int(settings["AQL_TIMEOUT_MS"])
    app.extensions["cdr"] = Services(
        storage,
        profile_named(str(settings["VALIDATION_PROFILE"])),
        timeout_ms / 1000 if timeout_ms > 0 else None,
        external_terminology(settings),
    )
    app.wsgi_app = serve_ehrbase_tag_paths(app.wsgi_app, settings["BASE_PATH"])  # type: ignore[method-assign,assignment]
    if settings.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)  # type: ignore[method-assign]
    errors.init_app(app)
    cors.init_app(app)
    app.before_request(_refuse_nul_url)
    auth.init_app(app)
    _register_blueprints(app, settings["BASE_PATH"])
    security.init_app(app, settings["BASE_PATH"])
    app.before_request(_refuse_unstorable_body)
    return app


# a JSON ``\u0000`` escape, i.e. one not itself escaped by an odd run of backslashes before it
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# a JSON escape of a UTF-16 surrogate (group 1: its second hex digit, 8-B high, C-F low), likewise unescaped
_JSON_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD]([0-9a-fA-F])[0-9a-fA-F]{2}")
_JSON_LOW_SURROGATE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def lone_surrogate_escape(body: bytes) -> bool:
    """Whether JSON text escapes a UTF-16 surrogate without its pair (``\\ud800`` alone, or a low one
    first): JSON's grammar allows it, but the string it makes has no UTF-8 form, so no database can store it.
    A pair (``\\ud83d\\ude00``) is one character and fine.

    >>> lone_surrogate_escape(rb'{"a": "\\ud83d\\ude00"}'), lone_surrogate_escape(rb'{"a": "\\ud800x"}')
    (False, True)
    >>> lone_surrogate_escape(rb'{"a": "\\udc00"}'), lone_surrogate_escape(rb'{"a": "\\\\ud800"}')
    (True, False)
    """
    paired = -1  # where the low half of the last pair starts
    for found in _JSON_SURROGATE.finditer(body):
        start = found.end() - 6
        if start == paired:
            continue
        if found.group(1) not in b"89abAB":
            return True  # a low surrogate with no high one before it
        if _JSON_LOW_SURROGATE.match(body, found.end()) is None:
            return True  # a high surrogate with no low one after it
        paired = found.end()
    return False


def _refuse_nul_url() -> None:
    """A NUL character in the path or query string is a 400 before anything reads it, authentication
    included: no identifier or parameter holds one, and PostgreSQL could not store the audit record of the
    request (which keeps the path)."""
    from cdr.api.errors import ApiError

    req = current_request()
    if "\x00" in req.path or b"\x00" in req.query_string or b"%00" in req.query_string:
        raise ApiError("the request URL contains a NUL character")


def _refuse_unstorable_body() -> None:
    """A JSON body with text no database can store is a 400 before anything reads it: a NUL character (raw,
    or escaped as ``\\u0000``; PostgreSQL's text and jsonb cannot hold one: the same composition was a 201 on
    SQLite and a 500 on PostgreSQL), or an escaped UTF-16 surrogate without its pair (the standard library's
    JSON reader accepts one, and writing it failed on both databases with a 500). Installed after
    authentication, so that only authenticated callers make the server read."""
    from cdr.api.errors import ApiError

    req = current_request()
    mimetype = req.mimetype
    if (mimetype.endswith("json") or not mimetype) and req.content_length:  # no media type: read as JSON
        body = req.get_data(cache=True)
        # the substring tests are fast scans; the regular expressions (which tell an escape from an escaped
        # backslash) run only on the rare body that holds the text at all
        if b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)):
            raise ApiError("the request body contains a NUL character")
        if (b"\\ud" in body or b"\\uD" in body) and lone_surrogate_escape(body):
            raise ApiError(
                "the request body escapes a UTF-16 surrogate without its pair (such as \\ud800 alone): "
                "no text can hold it"
            )


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
