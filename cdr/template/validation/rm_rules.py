"""Rules of the reference model itself, applied to every object the walk reaches, constrained or not.

* attributes the RM makes mandatory (REQUIRED);
* attributes the RM codes with the openEHR terminology or an openEHR code set (OPENEHR_TERMINOLOGY,
  TERMINOLOGY_MISMATCH, OPENEHR_RUBRIC), with rubrics accepted in every language the terminology has;
* the RM class invariants of :mod:`cdr.rm.invariants` (RM_INVARIANT), less the few EHRbase does not enforce;
* ISM_TRANSITION: the transition must be one that can lead into the current state.

The checks per RM class are worked out once per class and kept, so objects without rules cost one look-up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cache
from typing import Any

from cdr.rm.base import RMObject, rm_fields
from cdr.rm.identification import ObjectVersionId
from cdr.rm.instances import is_rm
from cdr.rm.invariants import Invariant, missing_mandatory
from cdr.rm.invariants import check as check_invariants
from cdr.template.issues import IssueCode
from cdr.template.validation.context import Context
from cdr.template.validation.datapath import DataPath, child
from cdr.terminology import (
    Binding,
    binding,
    code_set,
    code_set_for_terminology,
    is_acceptable_rubric,
    rubric,
)
from cdr.terminology import has_code as group_has_code
from cdr.terminology.ism import ism_transition_consistent, state_name, transition_name

TEMPORAL_TYPES = frozenset({"DV_DATE", "DV_TIME", "DV_DATE_TIME", "DV_DURATION"})
"""Data value types whose ``value`` is an ISO 8601 text."""


class Rule(ABC):
    """One RM rule of a class, applied to an instance (``d``: its ``__dict__``, read once per object).

    Rules are objects of one small class hierarchy rather than closures: compiled, a call through the
    base class's method is a C call, a closure's a Python-level call with its arguments parsed."""

    @abstractmethod
    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        """Add the issues ``obj`` has under this rule to ``ctx``."""


OPENEHR = "openehr"
# coded attributes whose codes must come from the openEHR terminology (other terminologies are an error);
# for the rest (e.g. PARTICIPATION.function) local or external codes are allowed; openehr ones are checked
_OPENEHR_ONLY = frozenset(
    {
        "category",
        "setting",
        "current_state",
        "transition",
        "null_flavour",
        "math_function",
        "change_type",
        "lifecycle_state",
        "mode",
    }
)
# attributes whose text must be the rubric of their openehr code; elsewhere (PARTY_RELATED.relationship,
# PARTICIPATION.function...) EHRbase accepts any text and so do we
_RUBRIC_CHECKED = frozenset(
    {"category", "setting", "current_state", "transition", "null_flavour", "math_function"}
)


@cache
def field_names(cls: type[RMObject]) -> frozenset[str]:
    return frozenset(f.name for f in rm_fields(cls))


@cache
def object_fields(cls: type[RMObject]) -> tuple[str, ...]:
    """Attributes of ``cls`` that hold RM objects (single or lists), in declaration order."""
    return tuple(f.name for f in rm_fields(cls) if f.is_object)


def _spec_ancestors(cls: type) -> list[str]:
    return [
        c.rm_type
        for c in cls.__mro__
        if isinstance(c, type) and issubclass(c, RMObject) and c is not RMObject
    ]


# ------------------------------------------------------------------------------------- mandatory


class _Mandatory(Rule):
    """Fast path over the class's mandatory names; :func:`missing_mandatory` names them when one is absent."""

    def __init__(self, required: tuple[str, ...]) -> None:
        self.required = required

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        for name in self.required:
            if d.get(name) is None:
                break
        else:
            return
        rm_type = type(obj).rm_type
        for name in missing_mandatory(obj):
            # a temporal value without its ISO 8601 text cannot be read (EHRbase: 400), like a malformed one
            unreadable = name == "value" and rm_type in TEMPORAL_TYPES
            ctx.add(
                child(path, name),
                IssueCode.INVALID_DATE_TIME if unreadable else IssueCode.REQUIRED,
                f"attribute '{name}' is mandatory in {rm_type}",
            )


# ------------------------------------------------------------------------------------ terminology


def _binding_rule(attribute: str, bound: Binding) -> Rule:
    if bound.kind == "group":
        return _Group(attribute, bound.target)
    return _CodeSet(attribute, bound.target)


def _code_of(value: Any) -> tuple[str | None, str | None, str | None]:
    """(terminology id, code, text) of a CODE_PHRASE or DV_CODED_TEXT (text None for a CODE_PHRASE)."""
    d = value.__dict__
    text = None
    if "defining_code" in d:
        text = d.get("value")
        value = d.get("defining_code")
        if value is None:
            return None, None, text
        d = value.__dict__
    tid = d.get("terminology_id")
    tid_value = tid.__dict__.get("value") if tid is not None else None
    return tid_value, d.get("code_string"), text


class _Group(Rule):
    """A code of the openEHR terminology group ``group_id`` (and its rubric, where checked)."""

    def __init__(self, attribute: str, group_id: str) -> None:
        self.attribute = attribute
        self.group_id = group_id
        self.strict = attribute in _OPENEHR_ONLY
        self.rubric_checked = attribute in _RUBRIC_CHECKED

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        attribute, group_id = self.attribute, self.group_id
        value = d.get(attribute)
        if value is None or not is_rm(value):
            return
        if "defining_code" not in value.__dict__ and "code_string" not in value.__dict__:
            return  # a plain DV_TEXT where the RM allows it (PARTICIPATION.function)
        tid, code, text = _code_of(value)
        if tid is None or code is None:
            return  # missing parts are reported as REQUIRED
        apath = child(path, attribute, value)
        if tid != OPENEHR:
            if self.strict:
                ctx.add(
                    apath,
                    IssueCode.TERMINOLOGY_MISMATCH,
                    f"{attribute} must be coded in the openehr terminology (group {group_id}), got {tid}",
                )
            return
        if not group_has_code(group_id, code):
            ctx.add(
                apath,
                IssueCode.OPENEHR_TERMINOLOGY,
                f"code {code} is not in the openehr terminology group {group_id}",
            )
            return
        if self.rubric_checked and text is not None and not is_acceptable_rubric(code, group_id, text):
            expected = rubric(code, group_id, ctx.language or "en")
            ctx.add(
                child(apath, "value"),
                IssueCode.OPENEHR_RUBRIC,
                f"'{text}' is not the rubric of openehr code {code} (expected '{expected}')",
            )


class _CodeSet(Rule):
    """The code must be in the set; a terminology id naming no code set at all (``Unicode``, which older
    EHRbase SDK output writes for encodings) is tolerated, one naming another code set is not."""

    def __init__(self, attribute: str, code_set_id: str) -> None:
        self.attribute = attribute
        self.cs = code_set(code_set_id)

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        attribute, cs = self.attribute, self.cs
        value = d.get(attribute)
        if value is None or not is_rm(value):
            return
        tid, code, _ = _code_of(value)
        if tid is None or code is None:
            return
        named = code_set_for_terminology(tid)
        if named is not None and named.code_set_id != cs.code_set_id:
            ctx.add(
                child(path, attribute, value),
                IssueCode.TERMINOLOGY_MISMATCH,
                f"{attribute} must be coded in {cs.external_id}, got {tid}",
            )
        elif not cs.has(code):
            ctx.add(
                child(path, attribute, value),
                IssueCode.OPENEHR_TERMINOLOGY,
                f"'{code}' is not in the openEHR code set {cs.external_id}",
            )


# --------------------------------------------------------------------------------------------- ISM


class _Ism(Rule):
    """ISM_TRANSITION: the transition must be one that can lead into the current state."""

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        _ism_check(d, path, ctx)


def _ism_check(d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
    state, move = d.get("current_state"), d.get("transition")
    if state is None or move is None:
        return
    s_tid, s_code, _ = _code_of(state)
    t_tid, t_code, _ = _code_of(move)
    if s_tid != OPENEHR or t_tid != OPENEHR or s_code is None or t_code is None:
        return
    if state_name(s_code) is None or transition_name(t_code) is None:
        return  # unknown codes are reported by the group checks
    if not ism_transition_consistent(t_code, s_code):
        ctx.add(
            child(path, "transition", move),
            IssueCode.ISM_TRANSITION_INVALID,
            f"transition {t_code} ({transition_name(t_code)}) cannot lead into current_state {s_code} "
            f"({state_name(s_code)})",
        )


# -------------------------------------------------------------------------------------- invariants


# invariants EHRbase does not hold data to, so neither do we. EHRbase checks RM invariants with archie's
# RMObjectValidator (openEHR_SDK CompositionValidator, validateInvariants on): archie's set is the reference.
# - Is_archetype_root: archie declares it on ENTRY as ignored ("not yet implemented"); entries and sections
#   in a composition routinely come without archetype_details (their archetype_node_id names the
#   archetype); the composition itself must have them (checked at the root, with the template id);
# - DV_TEXT Value_valid on line breaks: archie's DV_TEXT has no such invariant, and free text with new
#   lines is accepted everywhere in practice.
# PARTY_REF Type_validity *is* enforced: archie checks it (PERSON, ORGANISATION, GROUP, AGENT, ROLE, PARTY,
# ACTOR), so EHRbase refuses e.g. 'ANY' or a FHIR resource name there (OBJECT_REF.type stays free).
NOT_ENFORCED = frozenset({"Is_archetype_root"})


def _enforced(problem: Invariant) -> bool:
    if problem.name in NOT_ENFORCED:
        return False
    return not (problem.name == "Value_valid" and "line break" in problem.message)


class _Invariants(Rule):
    """The RM class invariants of :mod:`cdr.rm.invariants`, less those not enforced.

    A temporal value that is not ISO 8601 is INVALID_DATE_TIME, as where the template constrains it: the
    value cannot be read at all (EHRbase fails to deserialise it: 400), which other broken invariants can.
    """

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        for problem in check_invariants(obj):
            if _enforced(problem):
                where = child(path, problem.attribute) if problem.attribute else path
                if problem.name == "Value_valid" and type(obj).rm_type in TEMPORAL_TYPES:
                    ctx.add(where, IssueCode.INVALID_DATE_TIME, problem.message)
                else:
                    ctx.add(where, IssueCode.RM_INVARIANT, f"{problem.name}: {problem.message}")


class _VersionIdInvariants(_Invariants):
    """OBJECT_VERSION_ID's: not for an item's uid below the root under ``item_version_uid`` (see
    :attr:`.profile.ValidationProfile.item_version_uid`); a rule of its own so other classes pay nothing."""

    def check(self, obj: RMObject, d: dict[str, Any], path: DataPath | None, ctx: Context) -> None:
        if not (ctx.profile.item_version_uid and path is not None and path.parent is not None):
            super().check(obj, d, path, ctx)


_ISM = _Ism()
_INVARIANTS = _Invariants()
_VERSION_ID_INVARIANTS = _VersionIdInvariants()


# ------------------------------------------------------------------------------------------ per class


@cache
def checks_for(cls: type[RMObject]) -> tuple[Rule, ...]:
    """Every RM rule that applies to instances of ``cls``."""
    out: list[Rule] = []
    required = tuple(f.name for f in rm_fields(cls) if f.required)
    if required:
        out.append(_Mandatory(required))
    names = field_names(cls)
    seen: set[str] = set()
    for rm_type in _spec_ancestors(cls):
        for attribute in names:
            bound = binding(rm_type, attribute)
            if bound is not None and attribute not in seen:
                seen.add(attribute)
                out.append(_binding_rule(attribute, bound))
    if cls.rm_type == "ISM_TRANSITION":
        out.append(_ISM)
    out.append(_VERSION_ID_INVARIANTS if cls is ObjectVersionId else _INVARIANTS)
    return tuple(out)


_CHECKS: dict[type, tuple[Rule, ...]] = {}


def check_object(obj: RMObject, path: DataPath | None, ctx: Context, d: dict[str, Any] | None = None) -> None:
    """Apply the RM rules of ``obj``'s class to ``obj`` (not to its children); ``d``: its ``__dict__``,
    when the caller has it already."""
    cls = type(obj)
    checks = _CHECKS.get(cls)
    if checks is None:
        checks = _CHECKS[cls] = checks_for(cls)
    values = obj.__dict__ if d is None else d
    for rule in checks:
        rule.check(obj, values, path, ctx)
