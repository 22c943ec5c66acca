"""DEFINITION resources: operational templates (ADL 1.4 OPT), their web templates and example compositions."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from cdr.api.common import ctx, svc
from cdr.api.errors import UnsupportedMediaType
from cdr.api.headers import absolute_url, http_date, quoted, wants_representation
from cdr.api.openapi import documented
from cdr.api.representation import JSON, XML, best_of, content_type, empty, is_xml
from cdr.api.schemas import FormatQuery, parse_args
from cdr.errors import InvalidInput
from cdr.formats.canonical_json import to_json
from cdr.services import definition as service
from cdr.services.composition_io import Format, render_composition

bp = Blueprint("definition", __name__)

WEB_TEMPLATE = "application/openehr.wt+json"
BASE = "/definition/template/adl1.4"


def read_opt() -> bytes:
    """The OPT XML of the request; 415 unless it is sent as XML (EHRbase's suites expect that)."""
    mimetype = content_type()
    if not is_xml(mimetype):
        raise UnsupportedMediaType(f"Content-Type {mimetype or '(none)'!r}: an OPT 1.4 is sent as {XML}")
    return request.get_data()


@bp.post(BASE)
@documented(201, 400, 409, 415, tag="DEFINITION", headers=("Prefer",), consumes=(XML,), produces=(XML,))
def upload_template() -> Response:
    """Upload an operational template (OPT 1.4 XML)."""
    opt = read_opt()
    record = service.upload_template(svc(), ctx(), opt)
    if wants_representation():
        response = Response(service.template_opt(svc(), ctx(), record.template_id), 201, mimetype=XML)
    else:
        response = empty(201)
    response.headers["Location"] = absolute_url(f"{BASE}/{quote(record.template_id, safe='')}")
    response.headers["ETag"] = quoted(record.template_id)
    response.headers["Last-Modified"] = http_date(record.uploaded)
    return response


@bp.get(BASE)
@documented(200, tag="DEFINITION")
def list_templates() -> Response:
    """List the uploaded templates."""
    from cdr.api.schemas.documents import template_document

    return jsonify([template_document(r) for r in service.list_templates(svc(), ctx())])


@bp.get(f"{BASE}/<template_id>")
@documented(200, 404, tag="DEFINITION", produces=(XML, WEB_TEMPLATE))
def get_template(template_id: str) -> Response:
    """Get a template as OPT XML, or as web template JSON (``Accept: application/openehr.wt+json``)."""
    if best_of([XML, WEB_TEMPLATE, JSON], XML) == WEB_TEMPLATE:
        response = jsonify(service.web_template(svc(), ctx(), template_id))
        response.mimetype = WEB_TEMPLATE
        return response
    return Response(service.template_opt(svc(), ctx(), template_id), mimetype=XML)


EXAMPLE_MEDIA = {
    JSON: Format.JSON,
    XML: Format.XML,
    "application/openehr.wt.flat+json": Format.FLAT,
    "application/openehr.wt.structured+json": Format.STRUCTURED,
}


@bp.get(f"{BASE}/<template_id>/example")
@documented(200, 400, 404, 406, tag="DEFINITION", query=("format",), produces=tuple(EXAMPLE_MEDIA))
def template_example(template_id: str) -> Response:
    """An example composition of the template, in ``format`` (JSON, XML, FLAT, STRUCTURED) or by Accept."""
    name = parse_args(FormatQuery())["format"]
    if name is not None:
        try:
            fmt = Format(name.upper())
        except ValueError:
            raise InvalidInput(
                f"format {name!r} is not one of {', '.join(f.value for f in Format)}"
            ) from None
    else:
        fmt = EXAMPLE_MEDIA[best_of(list(EXAMPLE_MEDIA), JSON)]
    comp = service.example(svc(), ctx(), template_id)
    rendered = render_composition(svc(), to_json(comp), fmt)
    if isinstance(rendered, bytes):
        return Response(rendered, mimetype=XML)
    response = jsonify(rendered)
    response.mimetype = {v: k for k, v in EXAMPLE_MEDIA.items()}[fmt]
    return response
