"""Validate an RM object (a COMPOSITION, or any LOCATABLE) against an operational template.

:func:`validate` collects every issue and never raises for problems in the data. Issue paths are AQL-style
data paths (the rule is in :mod:`.datapath`); ``constraint_path`` is the template path of the constraint that
was broken (empty for rules of the RM itself).

Modules: :mod:`.structure` (types, existence, cardinality, occurrences, slots, names, unknown nodes,
unresolved internal references), :mod:`.primitives` and :mod:`.temporal` (strings, numbers, booleans, dates,
times, durations), :mod:`.values` (DV_QUANTITY, DV_ORDINAL, DV_SCALE), :mod:`.state` (DV_STATE against a
C_DV_STATE machine), :mod:`.coded` (code phrases and term texts), :mod:`.ism` (ACTION.ism_transition against
the archetype's alternatives), :mod:`.rm_rules` (RM-mandatory attributes, openEHR terminology, invariants,
the openEHR ISM), :mod:`.plans` (what is precomputed per template).

ISM_TRANSITION state vs careflow step (details and evidence in :mod:`.ism` and docs/conformance.md): the
transition must lead into ``current_state`` (openEHR ISM); ``careflow_step`` must be a careflow step of the
ACTION and ``current_state`` a state some careflow step leads into (union of the alternatives); the pairing of
the two is enforced only when a ``transition`` is recorded, as EHRbase does (its SDK test
``missingIsmTransition`` accepts a careflow step recorded with another step's state when no transition is
given).

RM invariants follow archie's set, which EHRbase applies (PARTY_REF ``Type_validity`` enforced,
``Is_archetype_root`` on nested entries and DV_TEXT line breaks not). One deliberate difference from
EHRbase: a data value whose RM type the template does not allow is WRONG_TYPE even where the constraint is not
a choice (EHRbase's web-template walker does not compare types there; the AOM does). The ``ehrbase``
validation profile (:mod:`.profile`) drops that one check, for ELEMENT.value, for migrations from EHRbase and
for running EHRbase's suites; the default profile stays ``strict``.
"""

from __future__ import annotations

from cdr.rm.base import RMObject, is_rm_subtype
from cdr.template.aom import OperationalTemplate
from cdr.template.issues import IssueCode, ValidationIssue
from cdr.template.validation import rm_rules
from cdr.template.validation.context import Context, ExternalCode
from cdr.template.validation.datapath import DataPath, child
from cdr.template.validation.plans import conforms, plans_for
from cdr.template.validation.profile import (
    DEFAULT,
    EHRBASE,
    PROFILES,
    STRICT,
    ValidationProfile,
    profile_named,
)
from cdr.template.validation.structure import Walker

__all__ = [
    "DEFAULT",
    "EHRBASE",
    "PROFILES",
    "STRICT",
    "ExternalCode",
    "ValidationIssue",
    "ValidationProfile",
    "profile_named",
    "validate",
]


def _language(obj: RMObject) -> str | None:
    language = obj.__dict__.get("language")
    code = language.__dict__.get("code_string") if isinstance(language, RMObject) else None
    return code if isinstance(code, str) else None


def _check_root_ids(obj: RMObject, opt: OperationalTemplate, ctx: Context, at: DataPath | None) -> None:
    root = opt.definition
    d = obj.__dict__
    node_id = d.get("archetype_node_id")
    if node_id is not None and node_id != root.archetype_id:
        ctx.add(
            at,
            IssueCode.ARCHETYPE_ID_MISMATCH,
            f"archetype_node_id {node_id} is not the template's root archetype {root.archetype_id}",
            root.path,
        )
    details = d.get("archetype_details")
    details_path = child(at, "archetype_details")
    if details is None:
        ctx.add(
            details_path,
            IssueCode.REQUIRED,
            f"archetype_details (with template_id {opt.template_id}) is mandatory at the root",
            root.path,
        )
        return
    archetype_id = details.__dict__.get("archetype_id")
    archetype_value = archetype_id.__dict__.get("value") if archetype_id is not None else None
    if archetype_value is not None and archetype_value != root.archetype_id:
        ctx.add(
            child(details_path, "archetype_id"),
            IssueCode.ARCHETYPE_ID_MISMATCH,
            f"archetype_details.archetype_id {archetype_value} is not {root.archetype_id}",
            root.path,
        )
    template_id = details.__dict__.get("template_id")
    template_value = template_id.__dict__.get("value") if template_id is not None else None
    if template_value is None:
        ctx.add(
            child(details_path, "template_id"),
            IssueCode.REQUIRED,
            f"archetype_details.template_id is mandatory at the root (expected {opt.template_id})",
            root.path,
        )
    elif _same_id(template_value) != _same_id(opt.template_id):
        ctx.add(
            child(details_path, "template_id"),
            IssueCode.TEMPLATE_ID_MISMATCH,
            f"template_id {template_value} is not {opt.template_id}",
            root.path,
        )


def _same_id(template_id: str) -> str:
    """Template ids are names typed by people; runs of white space in them are not significant."""
    return " ".join(template_id.split())


def _unique(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """One issue per (path, code): the template and the RM may both require the same attribute; and an
    ISO 8601 value the RM invariant calls malformed is reported once, as INVALID_DATE_TIME."""
    malformed = {i.path for i in issues if i.code == IssueCode.INVALID_DATE_TIME}
    seen: set[tuple[str, str]] = set()
    out = []
    for issue in issues:
        key = (issue.path, issue.code)
        if key in seen or (issue.code == IssueCode.RM_INVARIANT and issue.path in malformed):
            continue
        seen.add(key)
        out.append(issue)
    return out


def validate(
    obj: RMObject,
    opt: OperationalTemplate,
    profile: ValidationProfile = STRICT,
    external: list[ExternalCode] | None = None,
) -> list[ValidationIssue]:
    """Every way ``obj`` breaks the template ``opt`` or the RM (empty when valid).

    ``obj`` is normally a COMPOSITION; a VERSION wrapping one (ORIGINAL_VERSION, as ITS-XML documents often
    are) is accepted too: its own RM rules are checked and its ``data`` is validated, at paths ``/data...``.
    ``profile`` chooses the rules (:mod:`.profile`): the spec-strict ones unless the caller asks for the
    departures of another profile. ``external``, when given, receives the codes the template binds to external
    value sets (C_CODE_REFERENCE), which no template can list; a terminology server may check them.
    """
    root = opt.definition
    data = obj.__dict__.get("data")
    wrapper = (
        is_rm_subtype(type(obj).rm_type, "VERSION")
        and isinstance(data, RMObject)
        and conforms(type(data), root.rm_type_name)
    )
    target = data if wrapper and isinstance(data, RMObject) else obj
    ctx = Context(opt, language=_language(target), profile=profile, external=external)
    walker = Walker(ctx, plans_for(opt))
    at: DataPath | None = None
    if wrapper:
        rm_rules.check_object(obj, None, ctx)
        walker.free_attributes(obj, obj.__dict__, None, frozenset({"data"}))
        at = child(None, "data", target)
    if not conforms(type(target), root.rm_type_name):
        ctx.add(
            at,
            IssueCode.WRONG_TYPE,
            f"RM type {type(target).rm_type} is not the template's root type {root.rm_type_name}",
            root.path,
        )
        walker.free(target, at)
        return _unique(ctx.issues)
    _check_root_ids(target, opt, ctx, at)
    walker.constrained(target, root, at)
    return _unique(ctx.issues)
