"""The OpenAPI 3.0 description of this server, generated from its URL map so that it lists exactly what is
implemented.

Each view is marked with :func:`documented` (its status codes, tag, and optionally the query parameters,
headers and media types it reads); its docstring's first line is the summary. :func:`build_openapi` walks the
app's routing table, so an endpoint cannot be served without being described, and a test checks that every
route is documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Flask

from cdr import __version__

F = TypeVar("F", bound=Callable[..., Any])
_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "status", "message", "details", "validationErrors"],
    "properties": {
        "error": {"type": "string", "description": "HTTP reason phrase"},
        "status": {"type": "integer"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "constraint_path": {"type": "string"},
                },
            },
        },
        "validationErrors": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the details as 'path: message' texts (ITS-REST 1.0.3 Error schema)",
        },
    },
}


def documented(
    *statuses: int,
    tag: str,
    query: Sequence[str] = (),
    headers: Sequence[str] = (),
    consumes: Sequence[str] = (),
    produces: Sequence[str] = ("application/json",),
) -> Callable[[F], F]:
    """Record what a view answers and reads, for :func:`build_openapi`."""

    def mark(fn: F) -> F:
        fn.openapi = {  # type: ignore[attr-defined]
            "statuses": statuses,
            "tag": tag,
            "query": query,
            "headers": headers,
            "consumes": consumes,
            "produces": produces,
        }
        return fn

    return mark


def _operation(view: Callable[..., Any], path_args: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = getattr(view, "openapi", {})
    doc = (view.__doc__ or "").strip().splitlines()
    parameters: list[dict[str, Any]] = [
        {"name": a, "in": "path", "required": True, "schema": {"type": "string"}} for a in path_args
    ]
    parameters += [{"name": q, "in": "query", "schema": {"type": "string"}} for q in meta.get("query", ())]
    parameters += [{"name": h, "in": "header", "schema": {"type": "string"}} for h in meta.get("headers", ())]
    responses: dict[str, Any] = {}
    for status in meta.get("statuses", (200,)):
        entry: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if status >= 400:
            entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        elif status not in (204,) and meta.get("produces"):
            entry["content"] = {media: {} for media in meta["produces"]}
        responses[str(status)] = entry
    operation: dict[str, Any] = {
        "operationId": view.__name__,
        "summary": doc[0] if doc else view.__name__,
        "tags": [meta.get("tag", "other")],
        "parameters": parameters,
        "responses": responses,
    }
    if meta.get("consumes"):
        operation["requestBody"] = {"content": {media: {} for media in meta["consumes"]}}
    return operation


def undocumented(app: Flask) -> list[str]:
    """Endpoints without :func:`documented` metadata (a test keeps this empty)."""
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "openapi")
    )


def build_openapi(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every route of ``app``."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        path = _ARG.sub(r"{\1}", rule.rule)
        args = _ARG.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD"}):
            if method == "OPTIONS" and rule.endpoint != "system.options":
                continue
            paths.setdefault(path, {})[method.lower()] = _operation(view, args)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "cdr openEHR REST API",
            "version": __version__,
            "description": "What this server implements of openEHR ITS-REST 1.0.3, plus admin and health.",
        },
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }
