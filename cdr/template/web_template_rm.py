"""Reference model attributes a web template shows although the OPT does not constrain them.

EHRbase adds nodes for RM attributes that clients fill from context (``composer``, ``language``,
``subject``, event ``time``...) after the nodes the template constrains, in a fixed order per RM type. Their
``name`` is the attribute name, ``min`` the RM's own existence. The ACTION ``ism_transition`` is always
rebuilt here: the OPT gives one ISM_TRANSITION alternative per careflow step, the web template merges them
into one node whose careflow step list records the state of each step (``currentStates``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cdr.template.aom import CCodePhrase, CComplexObject, CObject
from cdr.template.web_template_inputs import Json, TermContext, code_list_item, inputs_for, text_fields


@dataclass(frozen=True, slots=True)
class RmAttribute:
    """An RM attribute shown as a node: name, RM type, RM minimum, and whether it is filled from context."""

    name: str
    rm_type: str
    min: int = 1
    in_context: bool = True
    path: str = ""  # attribute path when it is not just the name (``instruction_details/activity_id``)


_ENTRY = (
    RmAttribute("subject", "PARTY_PROXY"),
    RmAttribute("language", "CODE_PHRASE"),
    RmAttribute("encoding", "CODE_PHRASE"),
)

RM_ATTRIBUTES: dict[str, tuple[RmAttribute, ...]] = {
    "COMPOSITION": (
        RmAttribute("composer", "PARTY_PROXY"),
        RmAttribute("language", "CODE_PHRASE"),
        RmAttribute("territory", "CODE_PHRASE"),
    ),
    "EVENT_CONTEXT": (RmAttribute("start_time", "DV_DATE_TIME"), RmAttribute("setting", "DV_CODED_TEXT")),
    "OBSERVATION": _ENTRY,
    "EVALUATION": _ENTRY,
    "ADMIN_ENTRY": _ENTRY,
    "INSTRUCTION": (
        RmAttribute("subject", "PARTY_PROXY"),
        RmAttribute("narrative", "DV_TEXT"),
        RmAttribute("language", "CODE_PHRASE"),
        RmAttribute("encoding", "CODE_PHRASE"),
        RmAttribute("expiry_time", "DV_DATE_TIME", min=0, in_context=False),
    ),
    "ACTION": (
        *_ENTRY,
        RmAttribute("activity_id", "STRING", in_context=False, path="instruction_details/activity_id"),
        RmAttribute(
            "instruction_id", "LOCATABLE_REF", in_context=False, path="instruction_details/instruction_id"
        ),
        RmAttribute("time", "DV_DATE_TIME"),
        RmAttribute("ism_transition", "ISM_TRANSITION"),
    ),
    "ACTIVITY": (RmAttribute("timing", "DV_PARSABLE", min=0), RmAttribute("action_archetype_id", "STRING")),
    "EVENT": (RmAttribute("time", "DV_DATE_TIME"),),
    "POINT_EVENT": (RmAttribute("time", "DV_DATE_TIME"),),
    "INTERVAL_EVENT": (
        RmAttribute("math_function", "DV_CODED_TEXT", in_context=False),
        RmAttribute("width", "DV_DURATION", in_context=False),
        RmAttribute("time", "DV_DATE_TIME"),
    ),
}
"""Per RM type, the attributes added when the template leaves them unconstrained, in EHRbase's order."""

CONTEXT_ATTRIBUTES: frozenset[tuple[str, str]] = frozenset(
    {("COMPOSITION", "category")}
    | {(rm, a.name) for rm, attrs in RM_ATTRIBUTES.items() for a in attrs if a.in_context}
    | {("ISM_TRANSITION", a) for a in ("current_state", "careflow_step", "transition")}
)
"""(parent RM type, attribute) pairs whose nodes EHRbase flags ``inContext`` even when constrained."""


@dataclass(slots=True)
class RmNodeSpec:
    """What the tree builder needs to create one RM attribute node."""

    name: str
    rm_type: str
    min: int
    aql_suffix: str
    in_context: bool
    inputs: list[Json]
    children: list[RmNodeSpec]
    display_name: str | None = None  # name when it differs from the attribute name


def missing_attributes(rm_type: str, constrained: Iterable[str]) -> list[RmAttribute]:
    """The RM attributes of ``rm_type`` to add as nodes, skipping those the template constrains."""
    taken = set(constrained)
    return [
        a for a in RM_ATTRIBUTES.get(rm_type, ()) if a.name not in taken and a.path.split("/")[0] not in taken
    ]


def rm_attribute_spec(
    attr: RmAttribute, ctx: TermContext, action: CComplexObject | None = None
) -> RmNodeSpec:
    """The node for one added RM attribute (``action`` is the ACTION, for its ism_transition)."""
    if attr.rm_type == "ISM_TRANSITION":
        children = ism_transition_children(action, ctx)
        return RmNodeSpec(attr.name, attr.rm_type, attr.min, attr.name, attr.in_context, [], children)
    inputs, _ = inputs_for(attr.rm_type, None, ctx)
    return RmNodeSpec(attr.name, attr.rm_type, attr.min, attr.path or attr.name, attr.in_context, inputs, [])


def ism_transition_children(action: CComplexObject | None, ctx: TermContext) -> list[RmNodeSpec]:
    """current_state and careflow_step merged over every ISM_TRANSITION alternative, then transition.

    Each careflow step (at-code) lists the state codes the template pairs it with as ``currentStates``.
    """
    states: list[str] = []
    steps: dict[str, list[str]] = {}
    step_node: CObject | None = None
    state_node: CObject | None = None
    attr = action.attribute("ism_transition") if action is not None else None
    for alt in attr.children if attr is not None else []:
        if not isinstance(alt, CComplexObject):
            continue
        alt_states = _codes(alt, "current_state")
        for code in alt_states:
            if code not in states:
                states.append(code)
        for code in _codes(alt, "careflow_step"):
            steps.setdefault(code, [])
            steps[code].extend(s for s in alt_states if s not in steps[code])
        step_node = step_node or _defining_code(alt, "careflow_step")
        state_node = state_node or _defining_code(alt, "current_state")
    out: list[RmNodeSpec] = []
    if steps and step_node is not None:
        items = []
        for code, current in steps.items():
            item = code_list_item(code, "local", step_node, ctx)
            item["currentStates"] = current
            items.append(item)
        inputs = [{"suffix": "code", "type": "CODED_TEXT", "list": items, "terminology": "local"}]
        out.append(
            RmNodeSpec(
                "careflow_step",
                "DV_CODED_TEXT",
                1,
                "careflow_step",
                True,
                inputs,
                [],
                display_name="Careflow_step",
            )
        )
    if states and state_node is not None:
        items = [code_list_item(code, "openehr", state_node, ctx, "instruction_states") for code in states]
        inputs = [{"suffix": "code", "type": "CODED_TEXT", "list": items, "terminology": "openehr"}]
        out.append(
            RmNodeSpec(
                "current_state",
                "DV_CODED_TEXT",
                1,
                "current_state",
                True,
                inputs,
                [],
                display_name="Current_state",
            )
        )
    elif not states:
        out.append(
            RmNodeSpec(
                "current_state", "DV_CODED_TEXT", 1, "current_state", True, text_fields("code", "value"), []
            )
        )
    out.append(
        RmNodeSpec("transition", "DV_CODED_TEXT", 0, "transition", True, text_fields("code", "value"), [])
    )
    return out


def _defining_code(obj: CComplexObject, attribute: str) -> CCodePhrase | None:
    attr = obj.attribute(attribute)
    for value in attr.children if attr is not None else []:
        if isinstance(value, CComplexObject) and (dc := value.attribute("defining_code")) is not None:
            for phrase in dc.children:
                if isinstance(phrase, CCodePhrase):
                    return phrase
    return None


def _codes(obj: CComplexObject, attribute: str) -> list[str]:
    phrase = _defining_code(obj, attribute)
    return list(phrase.code_list) if phrase is not None else []
