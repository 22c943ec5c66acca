"""The FLAT schema of a template: web template nodes bound to the constraints and RM steps behind them.

FLAT keys are web template ids, but the canonical composition also holds what the web template folds away
(HISTORY, ITEM_TREE, a single EVENT, the ELEMENT around a value). Each :class:`SchemaNode` therefore keeps
the RM steps from its parent node (``data[at0001]/events[at0002]/data[at0003]/items[at0004]/value``), each
with the constraint object it matches, so that the reader can rebuild the folded objects and the writer can
find the data again. Built once per template and cached on the template object.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cdr.formats.flat_codec import base_type
from cdr.rm.base import RM_TYPES, is_rm_subtype
from cdr.template.aom import (
    ArchetypeInternalRef,
    CArchetypeRoot,
    CComplexObject,
    CObject,
    CPrimitiveObject,
    CString,
    OperationalTemplate,
)
from cdr.template.web_template import build_web_template

__all__ = ["FlatSchema", "SchemaNode", "Step", "flat_schema", "is_structural"]


@dataclass(slots=True, frozen=True)
class Step:
    """One RM attribute step: ``attribute[node_id and name/value='name']`` and the constraint it meets."""

    attribute: str
    node_id: str
    name: str | None
    constraint: CObject | None

    def matches(self, obj: Any) -> bool:
        """Whether the RM object ``obj`` (found under this attribute) is the one this step selects."""
        if self.node_id and getattr(obj, "archetype_node_id", None) != self.node_id:
            return False
        if self.name is not None:
            name = getattr(obj, "name", None)
            return name is not None and name.value == self.name
        return True


@cache
def fold_id(text: str) -> str:
    """A web template id without accents and without non-ASCII symbols (for lenient matching)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if c.isascii())


def _fold_digits(text: str) -> str:
    """Also without digits: one EHRbase drops a subscript digit (``spo``), another spells it (``spo2``)."""
    return "".join(c for c in fold_id(text) if not c.isdigit())


def is_structural(rm_type: str) -> bool:
    """Whether a web template node of ``rm_type`` is an RM object built from child nodes (not a value)."""
    cls = RM_TYPES.get(base_type(rm_type))
    if cls is None:
        return False
    return is_rm_subtype(cls.rm_type, "LOCATABLE") or cls.rm_type in ("EVENT_CONTEXT", "ISM_TRANSITION")


@dataclass(slots=True, eq=False)
class SchemaNode:
    """A web template node with its RM steps from the parent node and its constraint."""

    id: str
    rm_type: str
    min: int
    max: int
    in_context: bool
    steps: tuple[Step, ...]
    wt: dict[str, Any] = field(repr=False)
    children: dict[str, SchemaNode] = field(default_factory=dict)
    structural: bool = False
    element_leaf: bool = False  # a value node standing for its ELEMENT: steps end ``items[atNNNN]/value``
    labels: dict[str, tuple[str, str]] | None = field(default=None, repr=False)

    @property
    def multiple(self) -> bool:
        return self.max != 1

    @property
    def constraint(self) -> CObject | None:
        return self.steps[-1].constraint if self.steps else None

    @property
    def instance_depth(self) -> int:
        """How many steps lead to the object that repeats with this node's index."""
        return len(self.steps) - 1 if self.element_leaf else len(self.steps)

    def child_for(self, step_id: str) -> SchemaNode | None:
        """The child a FLAT step names: by id, else by its id folded to ASCII (EHRbase versions differ:
        ``capacité_de`` / ``capacite_de``, ``spo₂`` / ``spo``)."""
        found = self.children.get(step_id)
        if found is not None or step_id.startswith("_"):
            return found
        for fold in (fold_id, _fold_digits):
            folded = [c for c in self.children.values() if fold(c.id) == fold(step_id)]
            if len(folded) == 1:
                return folded[0]
        return None

    def code_labels(self) -> dict[str, tuple[str, str]]:
        """Code -> (terminology, label) of the codes this coded node lists, as the web template labels them.

        EHRbase's FLAT reader (openEHR_SDK ``DvCodedTextRMUnmarshaller``, "Set value from Node") replaces the
        text of a code the web template lists by that code's label, whatever ``|value`` says; see
        :func:`cdr.formats.flat_reader.apply_code_label` for the rules. Only codes with a real term are
        listed: the web template labels an external code without a term in the template by the code itself.
        """
        found = self.labels
        if found is None:
            found = self.labels = {}
            for inp in self.wt.get("inputs") or ():
                terminology = inp.get("terminology")
                if inp.get("suffix") != "code" or not terminology:
                    continue
                for item in inp.get("list") or ():
                    if item.get("localizedLabels"):
                        found[item["value"]] = (terminology, item["label"])
        return found

    def localized_name(self, language: str) -> str | None:
        names = self.wt.get("localizedNames") or {}
        return names.get(language) or self.wt.get("localizedName") or self.wt.get("name")


@dataclass(slots=True, eq=False)
class FlatSchema:
    """The bound web template of one operational template."""

    opt: OperationalTemplate
    web_template: dict[str, Any]
    root: SchemaNode
    read_plan: Any = field(default=None, repr=False)  # :func:`cdr.formats.flat_plan.read_plan`, kept here

    @property
    def template_id(self) -> str:
        return self.opt.template_id


def flat_schema(opt: OperationalTemplate) -> FlatSchema:
    """The FLAT schema of ``opt`` (built on first use, then kept on the template object)."""
    cached = _CACHE.get(id(opt))
    if cached is not None and cached.opt is opt:
        return cached
    wt = build_web_template(opt)
    root_constraint = _resolve(opt.definition)
    root = SchemaNode(
        id=wt["tree"]["id"],
        rm_type=wt["tree"]["rmType"],
        min=1,
        max=1,
        in_context=False,
        steps=(),
        wt=wt["tree"],
        structural=True,
    )
    _bind_children(root, [], root_constraint)
    schema = FlatSchema(opt, wt, root)
    _CACHE[id(opt)] = schema
    return schema


_CACHE: dict[int, FlatSchema] = {}


def _split_steps(path: str) -> list[str]:
    """Split on ``/`` outside brackets; quotes are not trusted (EHRbase leaves apostrophes in names)."""
    out: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(path):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "/" and depth == 0:
            out.append(path[start:i])
            start = i + 1
    out.append(path[start:])
    return [s for s in out if s]


def _segments(aql_path: str | None) -> list[tuple[str, str, str | None]]:
    """``/items[at0002 and name/value='x']/value`` -> ``[("items", "at0002", "x"), ("value", "", None)]``."""
    out: list[tuple[str, str, str | None]] = []
    for raw in _split_steps(aql_path or ""):
        attribute, bracket, rest = raw.partition("[")
        if not bracket:
            out.append((attribute.strip(), "", None))
            continue
        predicate = rest[:-1] if rest.endswith("]") else rest
        node_id = re.split(r"\s+and\s+|,", predicate, maxsplit=1)[0].strip()
        name = None
        first, last = predicate.find("'"), predicate.rfind("'")
        if 0 <= first < last:
            name = predicate[first + 1 : last]
        out.append((attribute.strip(), "" if "=" in node_id or node_id.startswith("'") else node_id, name))
    return out


def _bind_children(
    node: SchemaNode, base: list[tuple[str, str, str | None]], constraint: CObject | None
) -> None:
    for child in node.wt.get("children") or []:
        full = _segments(child.get("aqlPath"))
        rel = full[len(base) :] if full[: len(base)] == base else full
        steps: list[Step] = []
        current = constraint
        for i, (attribute, node_id, name) in enumerate(rel):
            last = i == len(rel) - 1
            current = _child_constraint(current, attribute, node_id, name, child["rmType"] if last else None)
            steps.append(Step(attribute, node_id, name, current))
        rm_type = child["rmType"]
        snode = SchemaNode(
            id=child["id"],
            rm_type=rm_type,
            min=int(child.get("min", 0)),
            max=int(child.get("max", 1)),
            in_context=bool(child.get("inContext")),
            steps=tuple(steps),
            wt=child,
            structural=is_structural(rm_type),
        )
        snode.element_leaf = (
            not snode.structural
            and len(steps) >= 2
            and steps[-1].attribute == "value"
            and bool(steps[-2].node_id)
        )
        node.children[snode.id] = snode
        if snode.structural:
            _bind_children(snode, full, current)


def _resolve(obj: CObject | None) -> CObject | None:
    if isinstance(obj, ArchetypeInternalRef):
        return obj.target
    return obj


def _child_constraint(
    parent: CObject | None, attribute: str, node_id: str, name: str | None, rm_type: str | None
) -> CObject | None:
    """The constraint object a step selects below ``parent`` (``None`` where the template says nothing)."""
    if not isinstance(parent, CComplexObject):
        return None
    attr = parent.attribute(attribute)
    if attr is None:
        return None
    candidates = [c for c in attr.children if not node_id or c.node_id == node_id or c.path_id == node_id]
    if name is not None and len(candidates) > 1:
        named = [c for c in candidates if fixed_name(_resolve(c)) == name]
        candidates = named or candidates
    if rm_type is not None and len(candidates) > 1:
        typed = [c for c in candidates if c.rm_type_name == base_type(rm_type)]
        candidates = typed or candidates
    return _resolve(candidates[0]) if candidates else None


def fixed_name(obj: CObject | None) -> str | None:
    """The name string a template fixes for a node (``name/value`` constrained to one string), if any."""
    if not isinstance(obj, CComplexObject):
        return None
    attr = obj.attribute("name")
    for value in attr.children if attr is not None else []:
        if isinstance(value, CComplexObject):
            text = value.attribute("value")
            for prim in text.children if text is not None else []:
                if isinstance(prim, CPrimitiveObject) and isinstance(prim.item, CString) and prim.item.list:
                    return str(prim.item.list[0])
    return None


def archetype_root_of(obj: CObject | None) -> CArchetypeRoot | None:
    return obj if isinstance(obj, CArchetypeRoot) else None
