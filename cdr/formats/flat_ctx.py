"""The ``ctx/`` shortcuts of a FLAT document: composition-wide defaults stated once.

``ctx/language``, ``ctx/territory``, ``ctx/composer_name`` / ``_id`` / ``_self``, ``ctx/id_namespace`` and
``ctx/id_scheme`` (for every id given in ctx), ``ctx/health_care_facility|name`` / ``|id``, ``ctx/time``,
``ctx/end_time``, ``ctx/history_origin``, ``ctx/setting``, ``ctx/location``, ``ctx/participation_*:n``
(``_name``, ``_function``, ``_mode``, ``_id``, ``_identifiers``), ``ctx/provider_name`` / ``_id``,
``ctx/work_flow_id|...``, ``ctx/guideline_id|...``, ``ctx/action_time``, ``ctx/instruction_narrative``,
``ctx/activity_timing``, ``ctx/action_ism_transition_current_state``. Values the document states at a node
win over these defaults. Unknown ``ctx/`` keys are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cdr.errors import FormatError
from cdr.formats.flat_codec import ReadContext, as_bool, as_str, make, read_object
from cdr.formats.flat_datatypes import coded_text, text_value
from cdr.formats.flat_keys import CTX_PREFIX, FlatNode, split_step
from cdr.formats.flat_parties import party_ref
from cdr.rm import RMObject
from cdr.terminology import openehr as openehr_terms

__all__ = ["FlatContext", "parse_ctx"]

_SIMPLE = {
    "language",
    "territory",
    "composer_name",
    "composer_id",
    "composer_self",
    "id_namespace",
    "id_scheme",
    "time",
    "end_time",
    "history_origin",
    "setting",
    "location",
    "provider_name",
    "provider_id",
    "action_time",
    "instruction_narrative",
    "activity_timing",
    "action_ism_transition_current_state",
    "category",
    "template_id",
    "uid",
}
_PARTICIPATION = ("name", "function", "mode", "id", "identifiers", "id_scheme", "id_namespace")


@dataclass(slots=True)
class FlatContext:
    """The parsed ``ctx/`` entries; ``None`` where the document does not give one."""

    values: dict[str, Any] = field(default_factory=dict)
    health_care_facility: dict[str, Any] = field(default_factory=dict)
    work_flow_id: dict[str, Any] = field(default_factory=dict)
    guideline_id: dict[str, Any] = field(default_factory=dict)
    participations: dict[int, dict[str, Any]] = field(default_factory=dict)
    participation_identifiers: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def has_entry_defaults(self) -> bool:
        """Whether any shortcut sets entry attributes (provider, participations, workflow, guideline)."""
        return bool(
            self.participations
            or self.work_flow_id
            or self.guideline_id
            or "provider_name" in self.values
            or "provider_id" in self.values
        )

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else as_str(value, CTX_PREFIX + name)

    # ---------------------------------------------------------------------------- derived RM values

    def composer(self) -> RMObject | None:
        name, ident = self.text("composer_name"), self.text("composer_id")
        is_self = self.values.get("composer_self")
        if name is None and ident is None and is_self is None:
            return None
        ref = self._ref(ident, CTX_PREFIX + "composer_id")
        if is_self is not None and as_bool(is_self, CTX_PREFIX + "composer_self"):
            return make("PARTY_SELF", external_ref=ref)
        return make("PARTY_IDENTIFIED", name=name, external_ref=ref)

    def _ref(self, ident: str | None, key: str) -> RMObject | None:
        if ident is None:
            return None
        return party_ref(ident, self.values.get("id_scheme"), self.values.get("id_namespace"), None, key)

    def provider(self) -> RMObject | None:
        name, ident = self.text("provider_name"), self.text("provider_id")
        if name is None and ident is None:
            return None
        return make("PARTY_IDENTIFIED", name=name, external_ref=self._ref(ident, CTX_PREFIX + "provider_id"))

    def facility(self, ctx: ReadContext) -> RMObject | None:
        if not self.health_care_facility:
            return None
        attrs = dict(self.health_care_facility)
        if "id" in attrs:
            attrs.setdefault("id_scheme", self.values.get("id_scheme"))
            attrs.setdefault("id_namespace", self.values.get("id_namespace"))
        node = FlatNode(
            CTX_PREFIX + "health_care_facility", attrs={k: v for k, v in attrs.items() if v is not None}
        )
        return read_object(node, ctx, "PARTY_IDENTIFIED")

    def setting(self) -> RMObject | None:
        value = self.text("setting")
        if value is None:
            return None
        code = openehr_terms.code_for_rubric("setting", value)
        if code is not None:
            return coded_text(value, "openehr", code)
        rubric = openehr_terms.rubric(value, "setting")
        if rubric is None:
            raise FormatError(
                CTX_PREFIX + "setting", f"{value!r} is neither a code nor a rubric of openEHR 'setting'"
            )
        return coded_text(rubric, "openehr", value)

    def participation_list(self, ctx: ReadContext) -> list[RMObject]:
        out = []
        for index in sorted(self.participations):
            attrs = {k: v for k, v in self.participations[index].items() if k != "identifiers"}
            if "id" in attrs:
                attrs.setdefault("id_scheme", self.values.get("id_scheme"))
                attrs.setdefault("id_namespace", self.values.get("id_namespace"))
            node = FlatNode(
                f"{CTX_PREFIX}participation:{index}", attrs={k: v for k, v in attrs.items() if v is not None}
            )
            participation = read_object(node, ctx, "PARTICIPATION")
            identifiers = self._identifiers(index)
            if identifiers and participation.performer is not None:
                performer = participation.performer
                performer.identifiers = (performer.identifiers or []) + identifiers
            out.append(participation)
        return out

    def _identifiers(self, index: int) -> list[RMObject]:
        found = []
        packed = self.participations.get(index, {}).get("identifiers")
        if packed is not None:  # issuer::assigner::id::type;...
            for part in as_str(packed, CTX_PREFIX + "participation_identifiers").split(";"):
                fields = part.split("::")
                if len(fields) != 4:
                    raise FormatError(
                        CTX_PREFIX + "participation_identifiers",
                        "expected 'issuer::assigner::id::type' entries separated by ';'",
                    )
                issuer, assigner, ident, kind = fields
                found.append(make("DV_IDENTIFIER", issuer=issuer, assigner=assigner, id=ident, type=kind))
        for _, parts in sorted(self.participation_identifiers.get(index, {}).items()):
            found.append(make("DV_IDENTIFIER", **{k: str(v) for k, v in parts.items()}))
        return found

    def object_ref(self, which: str) -> RMObject | None:
        attrs = getattr(self, which)
        if not attrs:
            return None
        return read_object(FlatNode(CTX_PREFIX + which, attrs=dict(attrs)), ReadContext(""), "OBJECT_REF")

    def narrative(self) -> RMObject | None:
        text = self.text("instruction_narrative")
        return None if text is None else text_value(text)


def parse_ctx(entries: dict[str, Any]) -> FlatContext:
    """``ctx/`` entries (prefix removed) to a :class:`FlatContext`; unknown ones are refused."""
    out = FlatContext()
    for key, value in entries.items():
        full = CTX_PREFIX + key
        name, bar, suffix = key.partition("|")
        base, index = split_step(name)
        idx = 0 if index is None else index
        if not bar and index is None and base in _SIMPLE:
            out.values[base] = value
        elif base in ("health_care_facility", "work_flow_id", "guideline_id") and bar:
            getattr(out, base)[suffix] = value
        elif base.startswith("participation_") and base[len("participation_") :] in _PARTICIPATION:
            field_name = base[len("participation_") :]
            if bar and field_name == "identifiers":
                sub, sub_index = split_step(suffix)
                out.participation_identifiers.setdefault(idx, {}).setdefault(
                    0 if sub_index is None else sub_index, {}
                )[sub] = value
            elif bar:
                raise FormatError(full, f"unknown ctx attribute '|{suffix}'")
            else:
                out.participations.setdefault(idx, {})[field_name] = value
        else:
            raise FormatError(full, f"unknown ctx shortcut 'ctx/{key}'")
    return out
