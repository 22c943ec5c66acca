"""Template use cases: upload (OPT 1.4), list, read as OPT or web template, example compositions, and the
admin-only delete and replace, which are refused while any version uses the template."""

from __future__ import annotations

from typing import Any

from cdr.errors import Conflict
from cdr.rm.base import RMObject
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.errors import TemplateInUse, Unprocessable
from cdr.storage import TemplateRecord
from cdr.storage.engine import write_transaction
from cdr.storage.templates import TemplateInUseError
from cdr.template.aom import CCodeReference, OperationalTemplate
from cdr.template.example import maximal_example, minimal_example
from cdr.template.example_draw import ExampleSettings
from cdr.template.example_plan import NoExample
from cdr.template.web_template import build_web_template
from cdr.terminology.fhir import binding_of


def upload_template(svc: Services, ctx: RequestContext, opt: bytes) -> TemplateRecord:
    """Store a new OPT; :class:`~cdr.errors.TemplateError` (400, every reason) for a broken one,
    :class:`Conflict` (409) when its template id exists (replacing is an admin operation)."""
    ctx.authorize(Action.WRITE_DEFINITION)
    try:
        with write_transaction(svc.storage.engine) as conn:
            record = svc.storage.templates.upload(opt, conn=conn)
            ctx.record(conn, Action.WRITE_DEFINITION, None, record.template_id)
    except Conflict:
        from cdr.template import parse_opt

        template_id = parse_opt(opt).template_id
        raise Conflict(f"Operational template with this template ID already exists: {template_id}") from None
    return record


def list_templates(svc: Services, ctx: RequestContext) -> list[TemplateRecord]:
    ctx.authorize(Action.READ_DEFINITION)
    return svc.storage.templates.list()


def template_opt(svc: Services, ctx: RequestContext, template_id: str) -> str:
    """The OPT XML as uploaded; :class:`~cdr.errors.NotFound` if unknown."""
    ctx.authorize(Action.READ_DEFINITION)
    return svc.storage.templates.opt(template_id)


def web_template(svc: Services, ctx: RequestContext, template_id: str) -> dict[str, Any]:
    """The EHRbase-compatible web template JSON of an uploaded template."""
    ctx.authorize(Action.READ_DEFINITION)
    svc.storage.templates.get(template_id)  # NotFound (404) here: the template is the resource addressed
    return build_web_template(svc.templates.get(template_id))


def example(svc: Services, ctx: RequestContext, template_id: str, *, minimal: bool = False) -> RMObject:
    """An example composition of the template: every optional node once (or only what is mandatory)."""
    ctx.authorize(Action.READ_DEFINITION)
    svc.storage.templates.get(template_id)
    opt = svc.templates.get(template_id)
    settings = ExampleSettings(reference_codes=_reference_codes(svc, opt))
    try:
        return minimal_example(opt, settings) if minimal else maximal_example(opt, settings)
    except NoExample as exc:
        raise Unprocessable(str(exc)) from None


def _reference_codes(svc: Services, opt: OperationalTemplate) -> tuple[tuple[str, str, str, str], ...]:
    """A code of each FHIR value set the template binds a node to, from the configured terminology server,
    so that the example passes the check a commit makes; none without a server (such nodes get code "1")."""
    server = svc.terminology_server
    if server is None:
        return ()
    found = []
    uris = {c.reference_set_uri for c in opt.definition.walk() if isinstance(c, CCodeReference)}
    for uri in sorted(uris):
        binding = binding_of(uri)
        coding = server.example_coding(binding.url) if binding and binding.resource == "ValueSet" else None
        if coding is not None:
            found.append((uri, *coding))
    return tuple(found)


def delete_template(svc: Services, ctx: RequestContext, template_id: str) -> None:
    """Admin: delete a template no version uses; :class:`TemplateInUse` (422) otherwise."""
    ctx.authorize(Action.ADMIN)
    try:
        with write_transaction(svc.storage.engine) as conn:
            svc.storage.templates.delete(template_id, conn)
            ctx.record(conn, Action.ADMIN, None, template_id)
    except TemplateInUseError as exc:
        raise TemplateInUse(f"template {template_id!r} cannot be deleted: {exc.message}") from None
    svc.templates.forget(template_id)


def replace_template(svc: Services, ctx: RequestContext, template_id: str, opt: bytes) -> TemplateRecord:
    """Admin: replace an unused template by a new OPT with the same id (422 while in use)."""
    ctx.authorize(Action.ADMIN)
    from cdr.template import parse_opt

    parsed = parse_opt(opt)
    if parsed.template_id != template_id:
        from cdr.errors import InvalidInput

        raise InvalidInput(f"the OPT's template_id {parsed.template_id!r} is not {template_id!r}")
    try:
        with write_transaction(svc.storage.engine) as conn:
            record = svc.storage.templates.upload(opt, replace=True, conn=conn)
            ctx.record(conn, Action.ADMIN, None, template_id)
    except TemplateInUseError as exc:
        raise TemplateInUse(exc.message) from None
    svc.templates.forget(template_id)
    return record
