"""Cross-origin requests (CORS) for browser apps: off unless ``CORS_ORIGINS`` names the allowed origins.

A vendor's web app or the citizens' portal runs in a browser on its own origin and calls the API from there;
the browser lets it read the answers only when the server says the origin may (``Access-Control-Allow-
Origin``), and before a request with an ``Authorization`` header or a JSON body it asks first (a preflight
``OPTIONS``). flask-cors writes the headers; this module only chooses them. The preflight itself carries no
credentials, so authentication lets it through (:func:`is_preflight`); the request that follows is
authenticated and audited as any other.
"""

from __future__ import annotations

from flask import Flask, Request
from flask_cors import CORS

EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Last-Modified",
    "openEHR-VERSION",
    "openEHR-AUDIT_DETAILS",
    "EHRBase-Template-ID",
    "openehr-item-tag",
    "openehr-version-item-tag",
    "Cdr-Ignored-Attributes",
    "WWW-Authenticate",
)
"""Answer headers a browser app may read besides the simple ones (ITS-REST's and ours)."""

PREFLIGHT_MAX_AGE = 600
"""Seconds a browser may reuse a preflight's answer."""


def origins(setting: object) -> list[str]:
    """``CORS_ORIGINS`` as a list: comma-separated origins, or ``*`` for any; empty when off.

    >>> origins("https://app.example.no, https://portal.example.no")
    ['https://app.example.no', 'https://portal.example.no']
    >>> origins(""), origins(None), origins("*")
    ([], [], ['*'])
    """
    if not setting:
        return []
    items = setting if isinstance(setting, list | tuple) else str(setting).split(",")
    return [o.strip().rstrip("/") for o in items if o and o.strip()]


def init_app(app: Flask) -> None:
    """Answer cross-origin requests from the configured origins (nothing when none is configured)."""
    allowed = origins(app.config.get("CORS_ORIGINS"))
    if not allowed:
        return
    CORS(
        app,
        origins=allowed,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE,
        vary_header=True,
    )


def is_preflight(req: Request) -> bool:
    """A browser's preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``."""
    return (
        req.method == "OPTIONS" and "Origin" in req.headers and "Access-Control-Request-Method" in req.headers
    )
