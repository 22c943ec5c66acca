"""System endpoints: capabilities (``OPTIONS {base}``), health, and the OpenAPI description of this server."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, jsonify

from cdr import __version__
from cdr.api import services
from cdr.api.openapi import build_openapi, documented


def _capabilities() -> Response:
    """What this server is and which endpoints it serves (ITS-REST: ``OPTIONS /``)."""
    from flask import current_app

    endpoints = sorted(
        {
            rule.rule
            for rule in current_app.url_map.iter_rules()
            if rule.rule.startswith(current_app.config["BASE_PATH"])
        }
    )
    body: dict[str, Any] = {
        "solution": "cdr",
        "solution_version": __version__,
        "vendor": "cdr",
        "restapi_specs_version": "1.0.3",
        "conformance_profile": "CUSTOM",
        "system_id": services().system_id,
        "endpoints": endpoints,
    }
    return jsonify(body)


@documented(200, 503, tag="system")
def health() -> Response:
    """Whether the server and its database answer."""
    try:
        with services().storage.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        response = jsonify({"status": "unavailable", "database": type(exc).__name__})
        response.status_code = 503
        return response
    return jsonify({"status": "ok", "database": "ok"})


@documented(200, tag="system")
def options() -> Response:
    """System capabilities: solution, version, specification version and endpoints."""
    return _capabilities()


@documented(200, tag="system")
def openapi() -> Response:
    """The OpenAPI 3.0 description of the endpoints this server implements."""
    from flask import current_app

    return jsonify(build_openapi(current_app))


def register(app: Flask, base: str) -> None:
    app.add_url_rule(
        base or "/", "system.options", options, methods=["OPTIONS"], provide_automatic_options=False
    )
    app.add_url_rule("/health", "system.health", health, methods=["GET"])
    app.add_url_rule(f"{base}/health", "system.health_api", health, methods=["GET"])
    app.add_url_rule("/openapi.json", "system.openapi", openapi, methods=["GET"])
