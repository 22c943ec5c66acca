"""openEHR request headers whose names hold an underscore, kept under waitress.

ITS-REST names several request headers with one (``openEHR-TEMPLATE_ID``, ``openEHR-AUDIT_DETAILS``,
``openEHR-VERSION.lifecycle_state``, ``openEHR-AUDIT_DETAILS.committer``). waitress drops every header
whose name holds an underscore, because ``X_Auth`` and ``X-Auth`` both become ``HTTP_X_AUTH`` in the WSGI
environ and a proxy that filters one spelling would let the other through; so behind ``cdr serve`` those
headers never reached the app (FLAT commits said "needs its template id", committers were recorded as the
caller). Before waitress reads a request's headers, :func:`openehr_names` spells ``_`` as ``-`` in the names
of openEHR headers only: they reach the app under the environ key any other WSGI server would give them, and
every other header keeps waitress's guard.
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, MultiSocketServer

OPENEHR_PREFIX = b"openehr-"


def openehr_names(header_plus: bytes) -> bytes:
    r"""The request head (request line + header lines) with ``_`` -> ``-`` in openEHR header names.

    >>> openehr_names(b"GET /ehr_status HTTP/1.1\r\nopenEHR-TEMPLATE_ID: t\r\nX_Other: 1")
    b'GET /ehr_status HTTP/1.1\r\nopenEHR-TEMPLATE-ID: t\r\nX_Other: 1'
    """
    first_line_end = header_plus.find(b"\r\n")
    if first_line_end < 0 or header_plus.find(b"_", first_line_end) < 0:
        return header_plus  # most requests: no header line holds an underscore
    lines = header_plus.split(b"\r\n")
    for i in range(1, len(lines)):
        name, colon, rest = lines[i].partition(b":")
        if colon and b"_" in name and name[: len(OPENEHR_PREFIX)].lower() == OPENEHR_PREFIX:
            lines[i] = name.replace(b"_", b"-") + colon + rest
    return b"\r\n".join(lines)


class OpenEhrRequestParser(HTTPRequestParser):
    """waitress's parser, reading openEHR header names with underscores."""

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(openehr_names(header_plus))


class OpenEhrChannel(HTTPChannel):
    parser_class = OpenEhrRequestParser


def accept_openehr_headers(server: Any) -> Any:
    """Make ``server`` (what ``waitress.server.create_server`` returned) read openEHR headers; returns it."""
    servers = list(server.map.values()) if isinstance(server, MultiSocketServer) else [server]
    for each in servers:
        if isinstance(each, BaseWSGIServer):
            each.channel_class = OpenEhrChannel
    return server
