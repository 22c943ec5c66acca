"""What a FLAT reader fills in that the document leaves out, from the template and the ``ctx/`` shortcuts.

The same rules serve the writer: an attribute whose value equals what :class:`Defaults` would produce is not
written, everything else is, which is what keeps canonical -> FLAT -> canonical stable. Rules (EHRbase's):
names from the template in the composition language, archetype node ids and ``archetype_details`` at
archetype roots (``template_id`` on the composition), entry ``language`` = composition language,
``encoding`` UTF-8, ``subject`` PARTY_SELF, event and action ``time`` = ``ctx/time`` (else the context start
time), HISTORY ``origin`` = ``ctx/history_origin`` (else the first event time), an ISM transition's current
state from its careflow step, ACTIVITY ``action_archetype_id`` from the template, and the composition
category when the template allows one only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cdr.formats.flat_codec import ReadContext, make
from cdr.formats.flat_ctx import FlatContext
from cdr.formats.flat_datatypes import code_phrase, coded_text, text_value
from cdr.formats.flat_schema import fixed_name
from cdr.rm import RMObject
from cdr.rm.base import RM_TYPES, is_rm_subtype
from cdr.template.aom import (
    ArchetypeInternalRef,
    CArchetypeRoot,
    CCodePhrase,
    CComplexObject,
    CObject,
    CPrimitiveObject,
    CString,
    OperationalTemplate,
)
from cdr.terminology import openehr as openehr_terms

__all__ = ["RM_VERSION", "STRUCTURE_OWNERS", "Defaults", "has_type_defaults", "mandatory_structure"]

RM_VERSION = "1.1.0"
_PERSISTENT = "431"


@dataclass(slots=True)
class Defaults:
    """Defaults for one composition: its language, the ``ctx/`` values and the template."""

    opt: OperationalTemplate
    language: str
    ctx: FlatContext = field(default_factory=FlatContext)
    read_context: ReadContext | None = None
    start_time: str | None = None
    compare: bool = False  # the writer compares present values with the defaults: build them all

    @property
    def rctx(self) -> ReadContext:
        if self.read_context is None:
            self.read_context = ReadContext(self.language, term_text=term_text_lookup(self.language))
        return self.read_context

    # ------------------------------------------------------------------------------------ locatable

    def node_name(self, constraint: CObject | None, wt_name: str | None) -> str | None:
        key = ("name", id(constraint), wt_name, self.language)
        memo = _memo(self.opt)
        if key in memo:
            return memo[key]
        fixed = fixed_name(constraint)
        if fixed is not None:
            name: str | None = fixed
        elif wt_name is not None:
            name = wt_name
        else:
            name = constraint.text(self.language) if constraint is not None else None
        memo[key] = name
        return name

    def name_value(self, constraint: CObject | None, text: str) -> RMObject:
        """A default name: DV_CODED_TEXT where the template codes the name, else DV_TEXT."""
        key = ("name_code", id(constraint), self.language)
        memo = _memo(self.opt)
        if key not in memo:
            code = _attr_code(constraint, "name")
            found = None
            if code is not None and len(code.code_list) == 1:
                term = self.rctx.term_text(constraint, code.code_list[0]) if constraint is not None else None
                found = (term, code.terminology_id or "local", code.code_list[0])
            memo[key] = found
        coded = memo[key]
        if coded is not None:
            return coded_text(coded[0] or text, coded[1], coded[2])
        return text_value(text)

    def archetype_details(self, constraint: CObject | None, rm_type: str) -> RMObject | None:
        if not isinstance(constraint, CArchetypeRoot):
            return None
        template = make("TEMPLATE_ID", value=self.opt.template_id) if rm_type == "COMPOSITION" else None
        return make(
            "ARCHETYPED",
            archetype_id=make("ARCHETYPE_ID", value=constraint.archetype_id),
            template_id=template,
            rm_version=RM_VERSION,
        )

    @staticmethod
    def archetype_node_id(constraint: CObject | None) -> str | None:
        if isinstance(constraint, CArchetypeRoot):
            return constraint.archetype_id
        return constraint.node_id if constraint is not None and constraint.node_id else None

    # ------------------------------------------------------------------------------------- by type

    def for_type(self, rm_type: str, constraint: CObject | None, values: dict[str, Any]) -> dict[str, Any]:
        """Default attribute values of an object of ``rm_type`` given what it already holds."""
        out: dict[str, Any] = {}
        kind = _type_kind(rm_type)
        if kind == "COMPOSITION":
            out["language"] = code_phrase("ISO_639-1", self.language)
            territory = self.ctx.text("territory")
            if territory is not None:
                out["territory"] = code_phrase("ISO_3166-1", territory)
            category = self._category(constraint)
            if category is not None:
                out["category"] = category
            composer = self.ctx.composer()
            if composer is not None:
                out["composer"] = composer
        elif kind == "EVENT_CONTEXT":
            self._context(out)
        elif kind == "ENTRY":
            self._entry(rm_type, constraint, values, out)
        elif kind == "EVENT":
            time = self._time() if values.get("time") is None or self.compare else None
            if time is not None:
                out["time"] = make("DV_DATE_TIME", value=time)
        elif kind == "HISTORY" and (values.get("origin") is None or self.compare):
            origin = self.ctx.text("history_origin")
            events = [e for e in values.get("events") or [] if getattr(e, "time", None) is not None]
            if origin is None and events:
                origin = min((e.time.value for e in events if e.time.value), default=None)
            origin = origin or self._time()
            if origin is not None:
                out["origin"] = make("DV_DATE_TIME", value=origin)
        elif kind == "ACTIVITY":
            out["action_archetype_id"] = _action_archetype_id(constraint)
            timing = self.ctx.text("activity_timing")
            if timing is not None:
                out["timing"] = make("DV_PARSABLE", value=timing, formalism="timing")
            given = values.get("timing")
            if given is not None and given.formalism is None:
                given.formalism = "timing"  # EHRbase's default formalism for an activity timing
        elif kind == "ISM_TRANSITION":
            self._ism(constraint, values, out)
        return out

    def _time(self) -> str | None:
        return self.ctx.text("time") or self.start_time

    def _category(self, constraint: CObject | None) -> RMObject | None:
        key = ("category", id(constraint), self.language)
        memo = _memo(self.opt)
        if key not in memo:
            phrase = _attr_code(constraint, "category")
            if phrase is None or len(phrase.code_list) != 1:
                memo[key] = None
            else:
                code = phrase.code_list[0]
                memo[key] = (openehr_terms.rubric(code, "composition_category", self.language), code)
        found = memo[key]
        return None if found is None else coded_text(found[0], "openehr", found[1])

    def _context(self, out: dict[str, Any]) -> None:
        time = self.ctx.text("time")
        if time is not None:
            out["start_time"] = make("DV_DATE_TIME", value=time)
        end = self.ctx.text("end_time")
        if end is not None:
            out["end_time"] = make("DV_DATE_TIME", value=end)
        for name, value in (
            ("setting", self.ctx.setting() or self._other_care()),
            ("location", self.ctx.text("location")),
            ("health_care_facility", self.ctx.facility(self.rctx)),
        ):
            if value is not None:
                out[name] = value
        # EHRbase (openEHR_SDK EventContextValueInserter) puts ctx/participation_* on the context too, not
        # only on each entry's other_participations (EntryDefaultValueInserter)
        participations = self.ctx.participation_list(self.rctx) if self.ctx.participations else None
        if participations:
            out["participations"] = participations

    def _other_care(self) -> RMObject:
        """EHRbase's setting when neither the document nor ``ctx/setting`` gives one (openEHR_SDK
        ``FlatJsonUnmarshaller``: default ``Setting.OTHER_CARE``)."""
        return coded_text(openehr_terms.rubric("238", "setting", "en"), "openehr", "238")

    def _entry(
        self, rm_type: str, constraint: CObject | None, values: dict[str, Any], out: dict[str, Any]
    ) -> None:
        # built only where missing when the reader asks (``values`` holds Drafts' values, never None there)
        if values.get("language") is None or self.compare:
            out["language"] = code_phrase("ISO_639-1", self.language)
        if values.get("encoding") is None or self.compare:
            out["encoding"] = code_phrase("IANA_character-sets", "UTF-8")
        if values.get("subject") is None or self.compare:
            out["subject"] = make("PARTY_SELF")
        if not self.ctx.has_entry_defaults():
            return self._entry_by_type(rm_type, values, out)
        provider = self.ctx.provider()
        if provider is not None:
            out["provider"] = provider
        participations = self.ctx.participation_list(self.rctx)
        if participations:
            out["other_participations"] = participations
        for attr, which in (("workflow_id", "work_flow_id"), ("guideline_id", "guideline_id")):
            ref = self.ctx.object_ref(which)
            if ref is not None:
                out[attr] = ref
        self._entry_by_type(rm_type, values, out)

    def _entry_by_type(self, rm_type: str, values: dict[str, Any], out: dict[str, Any]) -> None:
        if rm_type == "ACTION":
            time = self.ctx.text("action_time") or self._time()
            if time is not None:
                out["time"] = make("DV_DATE_TIME", value=time)
        elif rm_type == "INSTRUCTION":
            narrative = self.ctx.narrative()
            if narrative is None:
                name = values.get("name")
                narrative = text_value(name.value) if name is not None else None
            if narrative is not None:
                out["narrative"] = narrative

    def _ism(self, constraint: CObject | None, values: dict[str, Any], out: dict[str, Any]) -> None:
        step, state = values.get("careflow_step"), values.get("current_state")
        alternatives = _ism_alternatives(constraint)
        if state is None and step is not None and step.defining_code is not None:
            code = alternatives.get(step.defining_code.code_string)
            if code is not None:
                out["current_state"] = coded_text(
                    openehr_terms.rubric(code, "instruction_states", self.language), "openehr", code
                )
        if state is None and "current_state" not in out:
            code = self.ctx.text("action_ism_transition_current_state")
            if code is not None:
                out["current_state"] = coded_text(
                    openehr_terms.rubric(code, "instruction_states", self.language), "openehr", code
                )


def has_type_defaults(rm_type: str) -> bool:
    """Whether :meth:`Defaults.for_type` can give anything for ``rm_type`` (most types have no defaults)."""
    return _type_kind(rm_type) is not None


_TYPED = frozenset({"COMPOSITION", "EVENT_CONTEXT", "HISTORY", "ACTIVITY", "ISM_TRANSITION"})
_KINDS: dict[str, str | None] = {}


def _type_kind(rm_type: str) -> str | None:
    """Which defaults :meth:`Defaults.for_type` gives ``rm_type``: its own, an ENTRY's or an EVENT's.

    Remembered per type name, as the reader asks for every object it finishes.
    """
    if rm_type in _KINDS:
        return _KINDS[rm_type]
    kind = (
        rm_type
        if rm_type in _TYPED
        else "ENTRY"
        if is_rm_subtype(rm_type, "ENTRY")
        else "EVENT"
        if is_rm_subtype(rm_type, "EVENT")
        else None
    )
    _KINDS[rm_type] = kind
    return kind


_MEMOS: dict[int, tuple[OperationalTemplate, dict[tuple[Any, ...], Any]]] = {}


def _memo(opt: OperationalTemplate) -> dict[tuple[Any, ...], Any]:
    """Template-derived defaults already worked out (names per node and language), kept per template:
    every composition of a template asks the same questions."""
    found = _MEMOS.get(id(opt))
    if found is None or found[0] is not opt:
        found = _MEMOS[id(opt)] = (opt, {})
    return found[1]


def term_text_lookup(language: str) -> Any:
    def lookup(constraint: CObject, code: str) -> str | None:
        root = constraint.archetype_root
        text = root.term_text(code, language) if root is not None else None
        if text is None:
            root_all = constraint.template_root
            for node in root_all.walk():
                if isinstance(node, CArchetypeRoot):
                    found = node.term_definitions.get(language, {}).get(code)
                    if found is not None and found.text:
                        return found.text
        return text

    return lookup


def _attr_code(constraint: CObject | None, attribute: str) -> CCodePhrase | None:
    if not isinstance(constraint, CComplexObject):
        return None
    attr = constraint.attribute(attribute)
    for child in attr.children if attr is not None else []:
        if isinstance(child, CCodePhrase):
            return child
        if isinstance(child, CComplexObject):
            found = _attr_code(child, "defining_code")
            if found is not None:
                return found
    return None


def _action_archetype_id(constraint: CObject | None) -> str:
    if isinstance(constraint, CComplexObject):
        attr = constraint.attribute("action_archetype_id")
        for child in attr.children if attr is not None else []:
            if isinstance(child, CPrimitiveObject) and isinstance(child.item, CString):
                if child.item.pattern:
                    return f"/{child.item.pattern}/"
                if child.item.list:
                    return str(child.item.list[0])
    return "/.*/"


def _ism_alternatives(constraint: CObject | None) -> dict[str, str]:
    """Careflow step code -> current state code, from the ISM_TRANSITION alternatives of an ACTION."""
    out: dict[str, str] = {}
    parent = constraint.parent_object if constraint is not None else None
    attr = parent.attribute("ism_transition") if isinstance(parent, CComplexObject) else None
    for alt in attr.children if attr is not None else []:
        step, state = _attr_code(alt, "careflow_step"), _attr_code(alt, "current_state")
        if step is not None and state is not None and step.code_list and len(state.code_list) == 1:
            for code in step.code_list:
                out[code] = state.code_list[0]
    return out


STRUCTURE_OWNERS: dict[str, tuple[str, ...]] = {
    "OBSERVATION": ("data",),
    "EVALUATION": ("data",),
    "ADMIN_ENTRY": ("data",),
    "GENERIC_ENTRY": ("data",),
    "ACTION": ("description",),
    "ACTIVITY": ("description",),
    "POINT_EVENT": ("data",),
    "INTERVAL_EVENT": ("data",),
}
"""RM-mandatory data structure attributes (RM 1.1.0), rebuilt empty where no value lies below."""

_CONCRETE_STRUCTURES = {"ITEM_STRUCTURE": "ITEM_TREE", "EVENT": "POINT_EVENT"}


def mandatory_structure(owner: CObject | None, attribute: str) -> tuple[str, CObject] | None:
    """The RM type and constraint of the empty structure the reader puts at a mandatory ``attribute``.

    ``EVALUATION.data``, ``EVENT.data``, ``ACTION.description``... are mandatory in the RM, yet a FLAT
    document whose data has no leaf value below them (a minimal composition) has no key for them: the writer
    writes none and the reader rebuilds them from the template (node id and name), as EHRbase's skeleton
    builder does. Only where the template constrains the attribute to one concrete object.
    """
    attr = owner.attribute(attribute) if isinstance(owner, CComplexObject) else None
    if attr is None or len(attr.children) != 1:
        return None
    child = attr.children[0]
    constraint = child.target if isinstance(child, ArchetypeInternalRef) else child
    if constraint is None:
        return None
    rm_type = _CONCRETE_STRUCTURES.get(constraint.rm_type_name, constraint.rm_type_name)
    cls = RM_TYPES.get(rm_type)
    if cls is None or cls.rm_abstract:
        return None
    return rm_type, constraint
