"""ACTION.ism_transition against the template's ISM_TRANSITION alternatives, the way EHRbase matches them.

An archetype constrains ``ism_transition`` with one ISM_TRANSITION alternative per careflow step, each pairing
that step (``careflow_step``, a local code) with the instruction state(s) it leads into (``current_state``).
ISM_TRANSITION is not LOCATABLE, so data carry no node id that names their alternative.

What is checked, in this order:

1. if one alternative accepts the whole object, it is valid (the AOM rule; the pairing then holds);
2. otherwise each constrained attribute is checked on its own against the *union* of the alternatives: the
   value is valid if some alternative's constraint on that attribute accepts it. So ``careflow_step`` must be
   a careflow step of the ACTION (code, and for local codes the term text), ``current_state`` one of the
   states some careflow step leads into, ``transition`` whatever some alternative allows. Where every
   alternative refuses the value, the nearest refusal is reported; where all refuse only the code, one
   CODE_NOT_ALLOWED lists the codes of all alternatives;
3. the RM rule of :mod:`.rm_rules` (the transition must lead into ``current_state`` in the openEHR ISM) is
   checked once, whatever the template says;
4. the *pairing* of careflow step and state is enforced only when a ``transition`` is recorded (together
   with ``careflow_step``): ISM_TRANSITION_INVALID when no alternative allows both that careflow step and
   that current state.

Why the union, and why the pairing only with a transition: this is EHRbase's behaviour, and its SDK tests pin
it. EHRbase validates against a web template, in which the alternatives are merged into one
``ism_transition`` node whose ``current_state`` lists the union of states and whose ``careflow_step`` lists
every step with the states it allows (``currentStates``); its IsmTransitionValidator checks that pairing
only when the data has both a transition and a careflow step. The SDK's ``missingIsmTransition`` case
(careflow step ``at0109``, paired with *planned* in the template, recorded with current state *cancelled*
and no transition) must validate clean, and ``ismTransitionWithInvalidCurrentState`` (``at0109`` with
*active* after a *cancel* transition) must not. Without a transition, a record states only where the
instruction now is; with one it claims that this step moved it there, and the template says where that
step leads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from cdr.rm.base import RMObject
from cdr.template.aom import CCodePhrase, CComplexObject, CObject
from cdr.template.issues import IssueCode, ValidationIssue
from cdr.template.validation import coded, rm_rules
from cdr.template.validation.context import Context
from cdr.template.validation.datapath import DataPath, child
from cdr.template.validation.plans import AttributePlan
from cdr.terminology import rubric as openehr_rubric

if TYPE_CHECKING:
    from cdr.template.validation.structure import Walker

STEP = "careflow_step"
STATE = "current_state"
INVALID_CURRENT_STATE = "IsmTransition contains invalid current_state"
"""EHRbase's opening words for a current_state the ACTION's careflow steps do not lead into (its COMPOSITION
suite looks for them in the message)."""


def _collect(ctx: Context, run: Callable[[], None]) -> list[ValidationIssue]:
    """The issues ``run`` adds, taken off ``ctx``."""
    saved = ctx.issues
    ctx.issues = []
    try:
        run()
        return ctx.issues
    finally:
        ctx.issues = saved


def check_alternatives(walker: Walker, obj: RMObject, alternatives: list[CObject], path: DataPath) -> None:
    """Validate an ISM_TRANSITION against several alternatives (see the module docstring)."""
    ctx = walker.ctx
    for alt in alternatives:
        if not _collect(ctx, partial(walker.constrained, obj, alt, path)):
            return
    rm_rules.check_object(obj, path, ctx)
    plans = [
        {ap.name: ap for ap in walker.plans.node(alt).attributes} if isinstance(alt, CComplexObject) else {}
        for alt in alternatives
    ]
    names = list(dict.fromkeys(name for plan in plans for name in plan))
    fields = rm_rules.field_names(type(obj))
    accepted: dict[str, set[int]] = {}
    for name in names:
        if name in fields:
            accepted[name] = _union_attribute(walker, obj, name, plans, path)
    walker.free_attributes(obj, obj.__dict__, path, frozenset(names))
    _check_pairing(obj, accepted, plans, path, ctx)


def _union_attribute(
    walker: Walker, obj: RMObject, name: str, plans: list[dict[str, AttributePlan]], path: DataPath
) -> set[int]:
    """Check one attribute against every alternative; report only if none accepts. Returns the acceptors."""
    ctx = walker.ctx
    ok: set[int] = set()
    refusals: list[tuple[AttributePlan, list[ValidationIssue]]] = []
    for i, plan in enumerate(plans):
        ap = plan.get(name)
        if ap is None:  # this alternative leaves the attribute free
            ok.add(i)
            continue
        found = _collect(ctx, partial(walker.attribute, obj, obj.__dict__, ap, path))
        if found:
            refusals.append((ap, found))
        else:
            ok.add(i)
    if not ok:
        ctx.issues.extend(_explain(obj, name, refusals, ctx))
    elif not any(plans[i].get(name) is not None for i in ok):
        value = obj.__dict__.get(name)
        if isinstance(value, RMObject):  # accepted only by leaving it free: RM rules still apply
            walker.free(value, child(path, name, value))
    return ok


def _explain(
    obj: RMObject, name: str, refusals: list[tuple[AttributePlan, list[ValidationIssue]]], ctx: Context
) -> list[ValidationIssue]:
    """The issues to report for a value no alternative accepts: one union message for a refused code."""
    only_code = all(len(found) == 1 and found[0].code == IssueCode.CODE_NOT_ALLOWED for _, found in refusals)
    if only_code and len({found[0].path for _, found in refusals}) == 1:
        first = refusals[0][1][0]
        allowed = list(dict.fromkeys(d for ap, _ in refusals for d in _codes(ap, ctx.language)))
        code = _code_string(obj.__dict__.get(name))
        message = (
            f"code {code} is not allowed for {name} by any ISM_TRANSITION alternative of this ACTION; "
            f"allowed: {', '.join(allowed)}"
        )
        if name == STATE:
            message = f"{INVALID_CURRENT_STATE}: {message}"
        return [first.model_copy(update={"message": message})]
    return min(
        (found for _, found in refusals),
        key=lambda found: (len(found), sum(i.code == IssueCode.CODE_NOT_ALLOWED for i in found)),
    )


def _phrases(ap: AttributePlan) -> list[CCodePhrase]:
    """The C_CODE_PHRASEs constraining ``defining_code`` of a coded attribute."""
    out: list[CCodePhrase] = []
    for target in ap.targets:
        attr = target.attribute("defining_code") if isinstance(target, CComplexObject) else None
        out.extend(c for c in (attr.children if attr is not None else []) if isinstance(c, CCodePhrase))
    return out


def _codes(ap: AttributePlan, language: str | None) -> list[str]:
    return [coded.describe(c, code, language) for c in _phrases(ap) for code in c.code_list]


def _code_string(value: Any) -> str | None:
    phrase = value.__dict__.get("defining_code") if isinstance(value, RMObject) else None
    code = phrase.__dict__.get("code_string") if isinstance(phrase, RMObject) else None
    return code if isinstance(code, str) else None


def _check_pairing(
    obj: RMObject,
    accepted: dict[str, set[int]],
    plans: list[dict[str, AttributePlan]],
    path: DataPath,
    ctx: Context,
) -> None:
    d = obj.__dict__
    if d.get("transition") is None or d.get(STEP) is None:
        return
    steps, states = accepted.get(STEP), accepted.get(STATE)
    if not steps or not states or steps & states:
        return  # an invalid step or state is already reported on its own
    step, state = _code_string(d.get(STEP)), _code_string(d.get(STATE))
    targets = [ap for i in sorted(steps) if (ap := plans[i].get(STATE)) is not None]
    paired = list(dict.fromkeys(text for ap in targets for text in _codes(ap, ctx.language)))
    where = next((ap.path for plan in plans if (ap := plan.get(STEP)) is not None), "")
    ctx.add(
        child(path, STEP, d.get(STEP)),
        IssueCode.ISM_TRANSITION_INVALID,
        f"{INVALID_CURRENT_STATE}: careflow step {step} leads into current_state "
        f"{' or '.join(paired) or '?'} in the template, not {_describe_state(state, ctx.language)}",
        where,
    )


def _describe_state(code: str | None, language: str | None) -> str:
    name = openehr_rubric(code, "instruction states", language or "en") if code else None
    return f"{code} ({name})" if name else str(code)
