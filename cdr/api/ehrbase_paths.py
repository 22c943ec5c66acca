"""EHRbase's own prefix of its experimental ITEM_TAG API, ``/rest/experimental/tags/ehr/...``, served as the
same routes under the openEHR base path (``{BASE_PATH}/ehr/.../item_tag``).

A client written against EHRbase's default configuration calls
``/rest/experimental/tags/ehr/{ehr_id}/composition/{versioned_object_uid}/item_tag``. The request is given
the openEHR path before routing, so that it is the same route to everything after: authentication, scopes,
composition restrictions, audit. Only paths of that shape are rewritten; nothing else under the prefix is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

EHRBASE_TAGS_PREFIX = "/rest/experimental/tags"
_ITEM_TAG = re.compile(r"/ehr/[^/]+/(?:composition|ehr_status)/[^/]+/item_tag")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serve_ehrbase_tag_paths(wsgi_app: WsgiApp, base_path: str) -> WsgiApp:
    """``wsgi_app`` answering EHRbase's ``/rest/experimental/tags/ehr/.../item_tag`` as
    ``{base_path}/ehr/.../item_tag``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(EHRBASE_TAGS_PREFIX):
            rest = path[len(EHRBASE_TAGS_PREFIX) :]
            if _ITEM_TAG.fullmatch(rest):
                environ["PATH_INFO"] = base_path.rstrip("/") + rest
        return wsgi_app(environ, start_response)

    return app
