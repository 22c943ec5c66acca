"""The archetype object model (AOM 1.4 + openEHR profile) as an operational template (OPT 1.4) carries it.

Class and attribute names follow the AOM 1.4 specification (``CComplexObject`` for C_COMPLEX_OBJECT,
``rm_type_name``, ``node_id``, ``occurrences``...). The model is internal and read far more often than it is
built, so it uses slotted dataclasses instead of pydantic. Every :class:`CObject` knows its parent attribute,
its template path (AQL style: archetype ids at archetype roots, at-codes elsewhere) and its nearest
:class:`CArchetypeRoot`, which owns the terms its codes refer to.

Built by :mod:`cdr.template.opt_parser`; consumed by the web template builder and the validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# re-exported (``X as X``): the model is imported from here; a star import would not survive mypyc
from cdr.template.aom_primitives import CBoolean as CBoolean
from cdr.template.aom_primitives import CDate as CDate
from cdr.template.aom_primitives import CDateTime as CDateTime
from cdr.template.aom_primitives import CDuration as CDuration
from cdr.template.aom_primitives import CInteger as CInteger
from cdr.template.aom_primitives import CPrimitive, Interval
from cdr.template.aom_primitives import CReal as CReal
from cdr.template.aom_primitives import CString as CString
from cdr.template.aom_primitives import CTemporal as CTemporal
from cdr.template.aom_primitives import CTime as CTime

# --------------------------------------------------------------------------------------------- basics


@dataclass(slots=True, frozen=True)
class CodePhrase:
    """A CODE_PHRASE as it appears inside constraints (assumed values, bindings, ordinal symbols)."""

    terminology_id: str
    code_string: str


@dataclass(slots=True)
class ArchetypeTerm:
    """ARCHETYPE_TERM: one code's ``items`` (``text``, ``description``, ``comment``...) in one language."""

    code: str
    items: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        return self.items.get("text")

    @property
    def description(self) -> str | None:
        return self.items.get("description")


TermDefinitions = dict[str, dict[str, ArchetypeTerm]]
"""language -> code -> term."""

TermBindings = dict[str, dict[str, CodePhrase]]
"""terminology -> code -> bound code phrase."""

ConstraintBindings = dict[str, dict[str, str]]
"""terminology -> ac-code -> query URI."""


# --------------------------------------------------------------------------------------- structure


@dataclass(slots=True, eq=False)
class CObject:
    """C_OBJECT: constrains one RM object; ``path`` is its template path, ``parent`` its owning attribute."""

    rm_type_name: str
    node_id: str = ""
    occurrences: Interval[int] | None = None
    parent: CAttribute | None = field(default=None, repr=False)
    path: str = "/"

    @property
    def parent_object(self) -> CComplexObject | None:
        return self.parent.parent if self.parent is not None else None

    @property
    def archetype_root(self) -> CArchetypeRoot | None:
        """The nearest enclosing archetype root (itself for a root): the owner of this node's terms."""
        node: CObject | None = self
        while node is not None:
            if isinstance(node, CArchetypeRoot):
                return node
            node = node.parent_object
        return None

    @property
    def template_root(self) -> CObject:
        """The outermost object of the definition tree."""
        node: CObject = self
        while (up := node.parent_object) is not None:
            node = up
        return node

    @property
    def path_id(self) -> str:
        """The id used for this node in path predicates (archetype id at roots, else the at-code)."""
        return self.node_id

    def term(self, language: str | None = None) -> ArchetypeTerm | None:
        """This node's term in ``language``, with the fallback of :meth:`CArchetypeRoot.term_definition`."""
        root = self.archetype_root
        return root.term_definition(self.node_id, language) if root is not None else None

    def text(self, language: str | None = None) -> str | None:
        """This node's term text in ``language`` (falling back to the template language, then any)."""
        t = self.term(language)
        return t.text if t is not None else None

    def is_required(self) -> bool:
        return self.occurrences is not None and (self.occurrences.lower or 0) > 0

    def walk(self) -> Iterator[CObject]:
        """This node and every node below it, depth first in document order."""
        yield self


@dataclass(slots=True, eq=False)
class CAttribute:
    """C_ATTRIBUTE: constrains one RM attribute of the parent object; ``children`` are the alternatives."""

    rm_attribute_name: str
    existence: Interval[int] | None = None
    children: list[CObject] = field(default_factory=list)
    parent: CComplexObject | None = field(default=None, repr=False)
    match_negated: bool = False

    @property
    def is_multiple(self) -> bool:
        return False

    @property
    def path(self) -> str:
        base = self.parent.path if self.parent is not None else "/"
        return ("" if base == "/" else base) + "/" + self.rm_attribute_name

    def is_required(self) -> bool:
        return self.existence is not None and (self.existence.lower or 0) > 0

    def children_by_rm_type(self, rm_type_name: str) -> list[CObject]:
        return [c for c in self.children if c.rm_type_name == rm_type_name]

    def children_by_node_id(self, node_id: str) -> list[CObject]:
        """Children whose node id (or archetype id, for roots) is ``node_id``."""
        return [c for c in self.children if c.node_id == node_id or c.path_id == node_id]

    def child(self, node_id: str) -> CObject | None:
        found = self.children_by_node_id(node_id)
        return found[0] if found else None


@dataclass(slots=True, eq=False)
class CSingleAttribute(CAttribute):
    """C_SINGLE_ATTRIBUTE: at most one child object in the data."""


@dataclass(slots=True)
class Cardinality:
    """CARDINALITY of a container attribute: how many members, ordered (list) or not, unique (set)."""

    interval: Interval[int]
    is_ordered: bool = True
    is_unique: bool = False


@dataclass(slots=True, eq=False)
class CMultipleAttribute(CAttribute):
    """C_MULTIPLE_ATTRIBUTE: a container attribute with a cardinality."""

    cardinality: Cardinality | None = None

    @property
    def is_multiple(self) -> bool:
        return True


@dataclass(slots=True, eq=False)
class CDefinedObject(CObject):
    """C_DEFINED_OBJECT: a constraint that defines (rather than references) what is allowed."""


@dataclass(slots=True, eq=False)
class CComplexObject(CDefinedObject):
    """C_COMPLEX_OBJECT: an RM object constrained attribute by attribute."""

    attributes: list[CAttribute] = field(default_factory=list)
    default_value: dict[str, Any] | None = None  # T_COMPLEX_OBJECT (template constraints section) only

    def attribute(self, name: str) -> CAttribute | None:
        for a in self.attributes:
            if a.rm_attribute_name == name:
                return a
        return None

    def walk(self) -> Iterator[CObject]:
        stack: list[CObject] = [self]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, CComplexObject):
                for attr in reversed(node.attributes):
                    stack.extend(reversed(attr.children))


@dataclass(slots=True, eq=False)
class CArchetypeRoot(CComplexObject):
    """C_ARCHETYPE_ROOT: where an archetype is used; owns that archetype's terminology (in every language).

    OPT 1.4 gives the root's ``term_definitions`` without a language (they are in the template language);
    other languages come from the template's ``component_ontologies`` and are merged in by the parser.
    """

    archetype_id: str = ""
    template_id: str | None = None
    term_definitions: TermDefinitions = field(default_factory=dict)
    term_bindings: TermBindings = field(default_factory=dict)
    constraint_definitions: TermDefinitions = field(default_factory=dict)
    constraint_bindings: ConstraintBindings = field(default_factory=dict)
    default_language: str = ""

    @property
    def path_id(self) -> str:
        return self.archetype_id

    @property
    def languages(self) -> list[str]:
        return list(self.term_definitions)

    def term_definition(self, code: str, language: str | None = None) -> ArchetypeTerm | None:
        """The term for an at- or ac-code: requested language, then the template language, then any."""
        for table in (self.term_definitions, self.constraint_definitions):
            found = _lookup(table, code, language, self.default_language)
            if found is not None:
                return found
        return None

    def term_text(self, code: str, language: str | None = None) -> str | None:
        t = self.term_definition(code, language)
        return t.text if t is not None else None

    def bindings_for(self, code: str) -> dict[str, CodePhrase]:
        """Terminology -> bound code for one at-code."""
        return {tid: codes[code] for tid, codes in self.term_bindings.items() if code in codes}


def _lookup(table: TermDefinitions, code: str, language: str | None, default: str) -> ArchetypeTerm | None:
    for lang in (language, default):
        if lang and (terms := table.get(lang)) is not None and code in terms:
            return terms[code]
    for terms in table.values():
        if code in terms:
            return terms[code]
    return None


@dataclass(slots=True)
class Assertion:
    """ASSERTION of a slot, reduced to what matching needs.

    ``string_expression`` keeps the original text (``archetype_id/value matches {/...CLUSTER\\..*/}``);
    ``patterns`` are the regular expressions on archetype ids it states (several when or-ed).
    """

    string_expression: str = ""
    patterns: list[str] = field(default_factory=list)
    tag: str | None = None
    _compiled: list[re.Pattern[str]] | None = field(default=None, repr=False)

    @property
    def compiled(self) -> list[re.Pattern[str]]:
        if self._compiled is None:
            self._compiled = [re.compile(p) for p in self.patterns]
        return self._compiled

    def matches(self, archetype_id: str) -> bool:
        """Whether the whole archetype id matches one of the patterns."""
        return any(p.fullmatch(archetype_id) for p in self.compiled)

    @property
    def matches_any(self) -> bool:
        """True for the catch-all ``.*`` assertion."""
        return any(p in (".*", "^.*$") for p in self.patterns)


@dataclass(slots=True, eq=False)
class ArchetypeSlot(CObject):
    """ARCHETYPE_SLOT: a place where archetypes matching ``includes`` and not ``excludes`` may be used."""

    includes: list[Assertion] = field(default_factory=list)
    excludes: list[Assertion] = field(default_factory=list)

    def admits(self, archetype_id: str) -> bool:
        """AOM 1.4 slot semantics: a specific include admits; otherwise an exclude refuses, and specific
        includes that did not match refuse too (a ``.*`` include or no includes at all admits the rest)."""
        specific = [a for a in self.includes if not a.matches_any]
        if any(a.matches(archetype_id) for a in specific):
            return True
        if any(a.matches(archetype_id) for a in self.excludes):
            return False
        return not specific


@dataclass(slots=True, eq=False)
class ArchetypeInternalRef(CObject):
    """ARCHETYPE_INTERNAL_REF: reuse of the constraint at ``target_path``, resolved lazily."""

    target_path: str = ""
    _target: CObject | None = field(default=None, repr=False)

    @property
    def target(self) -> CObject | None:
        """The referenced node, looked up within the owning archetype (then the whole template)."""
        if self._target is None:
            from cdr.template.paths import find_in

            root = self.archetype_root
            for base in (root, self.template_root):
                if base is not None and (found := find_in(base, self.target_path)) is not None:
                    self._target = found
                    break
        return self._target


@dataclass(slots=True, eq=False)
class ConstraintRef(CObject):
    """CONSTRAINT_REF: a terminology constraint named by an ac-code (defined at the archetype root)."""

    reference: str = ""

    def constraint_definition(self, language: str | None = None) -> ArchetypeTerm | None:
        root = self.archetype_root
        return root.term_definition(self.reference, language) if root is not None else None

    def bindings(self) -> dict[str, str]:
        root = self.archetype_root
        if root is None:
            return {}
        return {t: b[self.reference] for t, b in root.constraint_bindings.items() if self.reference in b}


@dataclass(slots=True, eq=False)
class CPrimitiveObject(CDefinedObject):
    """C_PRIMITIVE_OBJECT: wraps one :class:`CPrimitive` (``item``) for a primitive RM attribute."""

    item: CPrimitive | None = None


# ----------------------------------------------------------------------------------- domain types


@dataclass(slots=True, eq=False)
class CDomainType(CDefinedObject):
    """C_DOMAIN_TYPE: openEHR profile constraints on data value types."""


@dataclass(slots=True, eq=False)
class CCodePhrase(CDomainType):
    """C_CODE_PHRASE: allowed codes of one terminology (empty ``code_list``: any code of it)."""

    terminology_id: str | None = None
    code_list: list[str] = field(default_factory=list)
    assumed_value: CodePhrase | None = None

    def allows(self, terminology_id: str, code: str) -> bool:
        if self.terminology_id is not None and terminology_id != self.terminology_id:
            return False
        return not self.code_list or code in self.code_list

    @property
    def is_local(self) -> bool:
        return self.terminology_id == "local"


@dataclass(slots=True, eq=False)
class CCodeReference(CCodePhrase):
    """C_CODE_REFERENCE: codes from an external value set named by ``reference_set_uri``."""

    reference_set_uri: str = ""


@dataclass(slots=True)
class CQuantityItem:
    """C_QUANTITY_ITEM: one allowed unit with its magnitude and precision bounds."""

    units: str
    magnitude: Interval[float] | None = None
    precision: Interval[int] | None = None
    units_system: str | None = None
    units_display_name: str | None = None


@dataclass(slots=True)
class QuantityValue:
    """An assumed DV_QUANTITY value."""

    magnitude: int | float | None = None
    units: str | None = None
    precision: int | None = None


@dataclass(slots=True, eq=False)
class CDvQuantity(CDomainType):
    """C_DV_QUANTITY: a physical ``property`` (openehr property code) and the allowed units."""

    property: CodePhrase | None = None
    list: list[CQuantityItem] = field(default_factory=list)
    assumed_value: QuantityValue | None = None

    def item_for(self, units: str) -> CQuantityItem | None:
        for item in self.list:
            if item.units == units:
                return item
        return None


@dataclass(slots=True)
class OrdinalItem:
    """One allowed DV_ORDINAL (integer ``value``) or DV_SCALE (real ``value``) with its symbol's code."""

    value: int | float
    symbol: CodePhrase
    symbol_text: str | None = None


@dataclass(slots=True, eq=False)
class CDvOrdinal(CDomainType):
    """C_DV_ORDINAL: the list of allowed ordinals."""

    list: list[OrdinalItem] = field(default_factory=list)
    assumed_value: OrdinalItem | None = None

    def item_for(self, value: float | None = None, code: str | None = None) -> OrdinalItem | None:
        for item in self.list:
            if (value is None or item.value == value) and (code is None or item.symbol.code_string == code):
                return item
        return None


@dataclass(slots=True, eq=False)
class CDvScale(CDvOrdinal):
    """C_DV_SCALE (RM 1.1): like C_DV_ORDINAL with real values."""


@dataclass(slots=True)
class Transition:
    event: str
    action: str | None = None
    guard: str | None = None
    next_state: str | None = None


@dataclass(slots=True)
class State:
    """A state of a C_DV_STATE state machine; terminal states have no transitions."""

    name: str
    transitions: list[Transition] = field(default_factory=list)
    terminal: bool = False


@dataclass(slots=True, eq=False)
class CDvState(CDomainType):
    """C_DV_STATE: a state machine the DV_STATE value must follow."""

    states: list[State] = field(default_factory=list)
    assumed_value: str | None = None


# ------------------------------------------------------------------------------------ the template


@dataclass(slots=True)
class ResourceDescriptionItem:
    """RESOURCE_DESCRIPTION_ITEM: the per-language part of the description."""

    language: str
    purpose: str = ""
    keywords: list[str] = field(default_factory=list)
    use: str | None = None
    misuse: str | None = None
    copyright: str | None = None
    original_resource_uri: dict[str, str] = field(default_factory=dict)
    other_details: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ResourceDescription:
    """RESOURCE_DESCRIPTION: authorship, lifecycle state and per-language details."""

    original_author: dict[str, str] = field(default_factory=dict)
    other_contributors: list[str] = field(default_factory=list)
    lifecycle_state: str = ""
    resource_package_uri: str | None = None
    other_details: dict[str, str] = field(default_factory=dict)
    details: dict[str, ResourceDescriptionItem] = field(default_factory=dict)


@dataclass(slots=True)
class ArchetypeOntology:
    """FLAT_ARCHETYPE_ONTOLOGY (template ``ontology`` / ``component_ontologies``) of one archetype."""

    archetype_id: str
    term_definitions: TermDefinitions = field(default_factory=dict)
    constraint_definitions: TermDefinitions = field(default_factory=dict)
    term_bindings: TermBindings = field(default_factory=dict)
    constraint_bindings: ConstraintBindings = field(default_factory=dict)


@dataclass(slots=True)
class TAttribute:
    """T_ATTRIBUTE of the template ``constraints`` section: extra constraints at ``differential_path``."""

    rm_attribute_name: str
    differential_path: str
    children: list[CComplexObject] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class OperationalTemplate:
    """OPERATIONAL_TEMPLATE: a flattened template, ready for validation and web template generation."""

    template_id: str
    concept: str
    language: CodePhrase
    definition: CArchetypeRoot
    uid: str | None = None
    is_controlled: bool | None = None
    description: ResourceDescription | None = None
    ontology: ArchetypeOntology | None = None
    component_ontologies: list[ArchetypeOntology] = field(default_factory=list)
    annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    constraints: list[TAttribute] = field(default_factory=list)
    view: dict[str, dict[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def default_language(self) -> str:
        return self.language.code_string

    @property
    def languages(self) -> list[str]:
        """Every language terms are available in, the template language first."""
        langs = [self.default_language]
        for root in self.archetype_roots():
            langs.extend(lang for lang in root.term_definitions if lang not in langs)
        return langs

    def nodes(self) -> Iterator[CObject]:
        """Every constraint object of the definition, depth first in document order."""
        return self.definition.walk()

    def archetype_roots(self) -> Iterator[CArchetypeRoot]:
        return (n for n in self.nodes() if isinstance(n, CArchetypeRoot))

    def find(self, path: str) -> CObject | None:
        """The first node at a template path (``/content[openEHR-EHR-...]/data[at0001]``)."""
        from cdr.template.paths import find_in

        return find_in(self.definition, path)

    def find_all(self, path: str) -> list[CObject]:
        from cdr.template.paths import find_all_in

        return find_all_in(self.definition, path)

    def term_text(
        self, code: str, language: str | None = None, archetype_id: str | None = None
    ) -> str | None:
        """Text of ``code`` in the given archetype (default: the template's root archetype)."""
        root: CArchetypeRoot | None = self.definition
        if archetype_id is not None and archetype_id != self.definition.archetype_id:
            root = next((r for r in self.archetype_roots() if r.archetype_id == archetype_id), None)
        return root.term_text(code, language) if root is not None else None
