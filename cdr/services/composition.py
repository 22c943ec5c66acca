"""COMPOSITION use cases: create, update, logical delete (each one contribution), reads of versions and of the
VERSIONED_COMPOSITION.

A composition is accepted only when its template has been uploaded and it validates against it; the 422 then
carries every issue with its data path. The EHR must exist (404) and allow modification (409).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from cdr.errors import InvalidInput, NotFound
from cdr.rm.base import RMObject
from cdr.services import versions
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.errors import InvalidContent, Issue, NotLatestVersion, TemplateViolation, UnknownTemplate
from cdr.services.item_tags import NO_TAGS, WriteTags, tags_writer
from cdr.services.templates import StaleTemplate
from cdr.services.value_sets import check_external_codes
from cdr.storage import StaleVersion, VersionChange, VersionRecord, VersionUid
from cdr.storage.records import COMPLETE, CREATION, DELETED, MODIFICATION
from cdr.template.issues import IssueCode
from cdr.template.validation import ExternalCode, validate

_OPENEHR_TERMS = frozenset({IssueCode.OPENEHR_TERMINOLOGY, IssueCode.OPENEHR_RUBRIC})
"""Issues of the openEHR terminology check EHRbase runs after the template: 400 when they are all."""

KIND = "COMPOSITION"


def template_id_of(comp: RMObject) -> str | None:
    details = comp.__dict__.get("archetype_details")
    template_id = details.__dict__.get("template_id") if details is not None else None
    value = template_id.__dict__.get("value") if template_id is not None else None
    return value if isinstance(value, str) and value else None


def check_composition(svc: Services, comp: RMObject) -> str:
    """The composition's template id, once it is known and the composition conforms to it.

    :class:`UnknownTemplate` or :class:`TemplateViolation` (both 422) otherwise, the latter with every issue;
    :class:`InvalidContent` (400) when a date, time or duration in it is not ISO 8601, or when its only issues
    are codes outside the openEHR terminology groups and code sets the RM binds.
    The rules are those of ``svc.validation_profile``; codes bound to external value sets are asked of
    ``svc.external_terminology`` when one is configured (:mod:`cdr.services.value_sets`).
    """
    return _check(svc, comp, cached=False)[0]


def _check(svc: Services, comp: RMObject, *, cached: bool) -> tuple[str, dt.datetime]:
    """:func:`check_composition` against the registry's parse (``cached``: the one this process holds,
    unchecked); the template id and the upload time of the template it was validated against."""
    template_id = template_id_of(comp)
    if template_id is None:
        issue = Issue("/archetype_details/template_id", "REQUIRED", "the composition names no template")
        raise UnknownTemplate("the composition names no template (archetype_details.template_id)", [issue])
    opt, uploaded = (svc.templates.cached if cached else svc.templates.checked)(template_id)
    terminology = svc.external_terminology
    external: list[ExternalCode] | None = [] if terminology is not None else None
    found = validate(comp, opt, svc.validation_profile, external)
    issues = [Issue(i.path, str(i.code), i.message, i.constraint_path or None) for i in found]
    unreadable = [i for i in issues if i.code == IssueCode.INVALID_DATE_TIME]
    if unreadable:
        # a date, time or duration that is not ISO 8601 is malformed input, not a template violation:
        # EHRbase cannot deserialise it and answers 400 (its suites' ISO 8601 value tables)
        listed = "; ".join(f"{i.path}: {i.message}" for i in unreadable)
        raise InvalidContent(f"the composition has values that are not ISO 8601: {listed}", issues)
    if terminology is not None and external:
        issues += check_external_codes(terminology, external)
    if issues:
        if all(i.code in _OPENEHR_TERMS for i in issues):
            # the template holds, but a code is not in the openEHR group or code set the RM binds (language
            # 'xx', territory, setting), or its text is not the code's rubric: EHRbase checks these after the
            # template and raises an illegal argument (400; its COMPOSITION suite: an invalid language,
            # territory or category is 400, a missing one 422; ehrbase#1252: a category whose text is not
            # the rubric is refused the same way)
            listed = "; ".join(f"{i.path}: {i.message}" for i in issues)
            raise InvalidContent(
                f"the composition has codes the openEHR terminology does not have, or texts that are not "
                f"their rubric: {listed}",
                issues,
            )
        listed = "; ".join(f"{i.path}: {i.message}" for i in issues)
        raise TemplateViolation(
            f"the composition does not conform to template {template_id!r} ({len(issues)} issues): {listed}",
            issues,
        )
    return template_id, uploaded


def _validated_commit(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    comp: RMObject,
    change: Callable[[str], VersionChange],
    target: str | None = None,
    tags: WriteTags = NO_TAGS,
) -> VersionRecord:
    """Validate against the cached template and commit ``change(template_id)`` with ``tags``; the commit
    confirms the template's upload time under its row lock, so the cache is not asked about first (a
    statement less). When another process replaced the template meanwhile, once more against a fresh
    parse."""
    tags.check()
    then = tags_writer(svc, tags)

    def attempt(cached: bool) -> VersionRecord:
        template_id, uploaded = _check(svc, comp, cached=cached)
        validated = {template_id: uploaded}
        _, committed = svc.commit(
            ctx, ehr_id, [change(template_id)], target=target, validated=validated, then=then
        )
        return committed[0]

    try:
        return attempt(cached=True)
    except StaleTemplate:
        return attempt(cached=False)


def create_composition(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, comp: RMObject, tags: WriteTags = NO_TAGS
) -> VersionRecord:
    """Version 1 of a new composition (its ``uid``, when given, chooses the object id), with ``tags``."""
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    lifecycle = ctx.lifecycle_state or COMPLETE
    return _validated_commit(
        svc,
        ctx,
        ehr_id,
        comp,
        lambda _: VersionChange(KIND, CREATION, comp, lifecycle_state=lifecycle),
        tags=tags,
    )


def _object_id(value: str) -> uuid.UUID:
    """The versioned object id in a path segment that is either a uuid or a version uid."""
    head = value.split("::")[0]
    return versions.parse_object_id(head, "composition")


def update_composition(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    object_id: str,
    preceding_version_uid: str,
    comp: RMObject,
    tags: WriteTags = NO_TAGS,
) -> VersionRecord:
    """The next version of a composition, with ``tags``; ``preceding_version_uid`` (If-Match) must be the
    latest (412)."""
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    vo_id = _object_id(object_id)
    preceding = versions.parse_version_uid(preceding_version_uid)
    # an unknown composition is 404 whatever If-Match says (EHRbase's suites, ITS-REST)
    latest = svc.storage.compositions.latest(ehr_id, vo_id)
    body_uid = (comp.__dict__.get("uid").__dict__.get("value") or "") if comp.__dict__.get("uid") else ""
    if body_uid and body_uid.split("::")[0] != str(vo_id):
        raise InvalidInput(f"the composition's uid {body_uid} does not match {vo_id} in the URL")
    if latest.deleted:
        raise NotFound(f"composition {vo_id} is deleted")
    if str(preceding) != latest.uid:
        raise StaleVersion(f"{preceding} is not the latest version of composition {vo_id}", latest.uid)

    def change(template_id: str) -> VersionChange:
        if latest.template_id is not None and template_id != latest.template_id:
            raise InvalidInput(
                f"composition {vo_id} has template {latest.template_id!r}, not {template_id!r}"
            )
        return VersionChange(
            KIND,
            ctx.change_type or MODIFICATION,
            comp,
            latest.uid,
            lifecycle_state=ctx.lifecycle_state or COMPLETE,
        )

    return _validated_commit(svc, ctx, ehr_id, comp, change, target=latest.uid, tags=tags)


def delete_composition(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, version_uid: str
) -> VersionRecord:
    """A deletion version after ``version_uid``, which must be the latest: 409 with the latest uid if not,
    400 if the composition is deleted already."""
    ctx.authorize(Action.WRITE_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    if "::" not in version_uid:
        latest = svc.storage.compositions.latest(ehr_id, _object_id(version_uid))
        raise InvalidInput(
            f"delete needs the latest version uid ({latest.uid}), not the object id {version_uid}"
        )
    uid = versions.parse_version_uid(version_uid)
    latest = svc.storage.compositions.latest(ehr_id, uid.object_id)
    if latest.deleted:
        raise InvalidInput(f"composition {uid.object_id} is already deleted")
    if str(uid) != latest.uid:
        raise NotLatestVersion(f"{uid} is not the latest version of composition {uid.object_id}", latest.uid)
    change = VersionChange(KIND, DELETED, None, latest.uid)
    _, committed = svc.commit(ctx, ehr_id, [change], target=latest.uid)
    return committed[0]


def get_composition(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, uid_based_id: str, at: dt.datetime | None = None
) -> VersionRecord:
    """A version by version uid, or by object id the latest one (or the one current at ``at``)."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    store = svc.storage.compositions
    try:
        if "::" in uid_based_id:
            return versions.version(store, ehr_id, uid_based_id)
        return versions.at_time_or_latest(store, ehr_id, _object_id(uid_based_id), at)
    except NotFound:
        svc.require_ehr(ehr_id, ctx)  # the EHR is asked about only when nothing was found: one statement less
        raise


def versioned_composition(
    svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, object_id: str
) -> versions.VersionedObjectView:
    ctx.authorize(Action.READ_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    return versions.versioned_object(svc.storage.compositions, ehr_id, _object_id(object_id))


def composition_version(
    svc: Services,
    ctx: RequestContext,
    ehr_id: uuid.UUID,
    object_id: str,
    version_uid: str | None = None,
    at: dt.datetime | None = None,
) -> VersionRecord:
    """A VERSION of the composition: by uid (one of ``object_id``), else at ``at``, else the latest."""
    ctx.authorize(Action.READ_EHR, ehr_id)
    svc.require_ehr(ehr_id, ctx)
    vo_id = _object_id(object_id)
    store = svc.storage.compositions
    if version_uid is not None:
        uid: VersionUid = versions.parse_version_uid(version_uid)
        if uid.object_id != vo_id:
            raise NotFound(f"{uid} is not a version of composition {vo_id}")
        return store.get(ehr_id, str(uid))
    return versions.at_time_or_latest(store, ehr_id, vo_id, at)
