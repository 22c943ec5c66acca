"""The shape of an OPT 1.4 document: which child elements each element type has, and how many of each.

This is the structural part of the openEHR Template/Archetype/OpenehrProfile XML schemas (AM 1.4), written
as data so that the parser can check every element in the same pass that builds the model. It follows the
published schemas with the additions that template tools emit and EHRbase accepts: ``match_negated`` on
attributes, ``units_system``/``units_display_name`` on quantity items, ``C_DV_SCALE`` (RM 1.1), and template
``constraints`` objects that only carry a ``default_value``.

Element order is not checked (tools differ); unknown elements, missing mandatory elements and elements given
more often than allowed are.
"""

from __future__ import annotations

from typing import Final

UNBOUNDED: Final = -1

Children = dict[str, tuple[int, int]]
"""Child element local name -> (min, max) occurrences; max ``UNBOUNDED`` for any number."""

ONE: Final = (1, 1)
OPT: Final = (0, 1)
MANY: Final = (0, UNBOUNDED)
SOME: Final = (1, UNBOUNDED)

OPENEHR_NS: Final = frozenset({"http://schemas.openehr.org/v1", "http://schemas.openehr.org/v2"})
"""Namespaces OPT documents are written in (v1 in practice; the AM 1.4 schemas declare v2)."""

OPAQUE: Final = "*"
"""Element types whose content is not checked (free-form RM data such as default values)."""

_C_OBJECT: Children = {"rm_type_name": ONE, "occurrences": ONE, "node_id": ONE}
_C_DOMAIN: Children = {**_C_OBJECT, "assumed_value": OPT}
_C_CODE_PHRASE: Children = {**_C_DOMAIN, "terminology_id": OPT, "code_list": MANY}
_C_ATTRIBUTE: Children = {"rm_attribute_name": ONE, "existence": ONE, "children": MANY, "match_negated": OPT}
_C_TEMPORAL: Children = {"pattern": OPT, "timezone_validity": OPT, "range": OPT, "assumed_value": OPT}
_C_NUMBER: Children = {"list": MANY, "range": OPT, "assumed_value": OPT}
_EXPR: Children = {"type": ONE}

SCHEMA: Final[dict[str, Children]] = {
    "OPERATIONAL_TEMPLATE": {
        "language": ONE,
        "is_controlled": OPT,
        "description": OPT,
        "revision_history": OPT,
        "uid": OPT,
        "template_id": ONE,
        "concept": ONE,
        "definition": ONE,
        "ontology": OPT,
        "component_ontologies": MANY,
        "annotations": MANY,
        "constraints": OPT,
        "view": OPT,
    },
    "CODE_PHRASE": {"terminology_id": ONE, "code_string": ONE},
    "OBJECT_ID": {"value": ONE},
    "RESOURCE_DESCRIPTION": {
        "original_author": SOME,
        "other_contributors": MANY,
        "lifecycle_state": ONE,
        "resource_package_uri": OPT,
        "other_details": MANY,
        "details": SOME,
        "parent_resource": OPT,
    },
    "RESOURCE_DESCRIPTION_ITEM": {
        "language": ONE,
        "purpose": ONE,
        "keywords": MANY,
        "use": OPT,
        "misuse": OPT,
        "copyright": OPT,
        "original_resource_uri": MANY,
        "other_details": MANY,
    },
    "ANNOTATION": {"items": SOME},
    "T_VIEW": {"constraints": MANY},
    "T_VIEW_CONSTRAINT": {"items": SOME},
    "T_VIEW_ITEM": {"value": ONE},
    "T_CONSTRAINT": {"attributes": MANY},
    "T_ATTRIBUTE": {"rm_attribute_name": ONE, "children": MANY, "differential_path": ONE},
    "T_COMPLEX_OBJECT": {
        "rm_type_name": OPT,
        "occurrences": OPT,
        "node_id": OPT,
        "attributes": MANY,
        "default_value": OPT,
    },
    "FLAT_ARCHETYPE_ONTOLOGY": {
        "term_definitions": SOME,
        "constraint_definitions": MANY,
        "term_bindings": MANY,
        "constraint_bindings": MANY,
    },
    "CodeDefinitionSet": {"items": MANY},
    "ARCHETYPE_TERM": {"items": SOME},
    "TermBindingSet": {"items": MANY},
    "TERM_BINDING_ITEM": {"value": ONE},
    "ConstraintBindingSet": {"items": MANY},
    "CONSTRAINT_BINDING_ITEM": {"value": ONE},
    "INTERVAL": {
        "lower_included": OPT,
        "upper_included": OPT,
        "lower_unbounded": ONE,
        "upper_unbounded": ONE,
        "lower": OPT,
        "upper": OPT,
    },
    "CARDINALITY": {"is_ordered": ONE, "is_unique": ONE, "interval": ONE},
    # constraint objects, by xsi:type
    "C_COMPLEX_OBJECT": {**_C_OBJECT, "attributes": MANY},
    "C_ARCHETYPE_ROOT": {
        **_C_OBJECT,
        "attributes": MANY,
        "archetype_id": ONE,
        "template_id": OPT,
        "term_definitions": MANY,
        "term_bindings": MANY,
    },
    "ARCHETYPE_SLOT": {**_C_OBJECT, "includes": MANY, "excludes": MANY},
    "ARCHETYPE_INTERNAL_REF": {**_C_OBJECT, "target_path": ONE},
    "CONSTRAINT_REF": {**_C_OBJECT, "reference": ONE},
    "C_PRIMITIVE_OBJECT": {**_C_OBJECT, "item": OPT},
    "C_CODE_PHRASE": _C_CODE_PHRASE,
    "C_CODE_REFERENCE": {**_C_CODE_PHRASE, "referenceSetUri": ONE},
    "C_DV_ORDINAL": {**_C_DOMAIN, "list": MANY},
    "C_DV_SCALE": {**_C_DOMAIN, "list": MANY},
    "C_DV_QUANTITY": {**_C_DOMAIN, "property": OPT, "list": MANY},
    "C_DV_STATE": {**_C_DOMAIN, "value": ONE},
    "C_SINGLE_ATTRIBUTE": _C_ATTRIBUTE,
    "C_MULTIPLE_ATTRIBUTE": {**_C_ATTRIBUTE, "cardinality": ONE},
    # primitives, by xsi:type
    "C_STRING": {"pattern": OPT, "list": MANY, "list_open": OPT, "assumed_value": OPT},
    "C_INTEGER": _C_NUMBER,
    "C_REAL": _C_NUMBER,
    "C_BOOLEAN": {"true_valid": ONE, "false_valid": ONE, "assumed_value": OPT},
    "C_DATE": _C_TEMPORAL,
    "C_TIME": _C_TEMPORAL,
    "C_DATE_TIME": _C_TEMPORAL,
    "C_DURATION": {"pattern": OPT, "range": OPT, "assumed_value": OPT},
    # openEHR profile parts
    "C_QUANTITY_ITEM": {
        "magnitude": OPT,
        "precision": OPT,
        "units": ONE,
        "units_system": OPT,
        "units_display_name": OPT,
    },
    "DV_ORDINAL": {"value": ONE, "symbol": ONE},
    "DV_CODED_TEXT": {
        "value": OPT,
        "hyperlink": OPT,
        "formatting": OPT,
        "mappings": MANY,
        "language": OPT,
        "encoding": OPT,
        "defining_code": ONE,
    },
    "STATE_MACHINE": {"states": SOME},
    "NON_TERMINAL_STATE": {"name": ONE, "transitions": SOME},
    "TERMINAL_STATE": {"name": ONE},
    "TRANSITION": {"event": ONE, "action": OPT, "guard": OPT, "next_state": OPT},
    # slot assertions
    "ASSERTION": {"tag": OPT, "string_expression": OPT, "expression": ONE, "variables": MANY},
    "ASSERTION_VARIABLE": {"name": ONE, "definition": ONE},
    "EXPR_LEAF": {**_EXPR, "item": ONE, "reference_type": ONE},
    "EXPR_UNARY_OPERATOR": {**_EXPR, "operator": ONE, "precedence_overridden": ONE, "operand": ONE},
    "EXPR_BINARY_OPERATOR": {
        **_EXPR,
        "operator": ONE,
        "precedence_overridden": ONE,
        "left_operand": ONE,
        "right_operand": ONE,
    },
}

TOLERATED: Final[dict[str, frozenset[str]]] = {
    "C_COMPLEX_OBJECT": frozenset({"children"}),
    "C_ARCHETYPE_ROOT": frozenset({"children"}),
}
"""Misplaced schema elements that are ignored with a warning instead of refused: a ``children`` object put
directly under an object (skipping its attribute) is dropped, as schema-bound readers such as EHRbase's do.
Elements unknown to the schema are always refused."""

C_OBJECT_TYPES: Final = frozenset(
    {
        "C_COMPLEX_OBJECT",
        "C_ARCHETYPE_ROOT",
        "ARCHETYPE_SLOT",
        "ARCHETYPE_INTERNAL_REF",
        "CONSTRAINT_REF",
        "C_PRIMITIVE_OBJECT",
        "C_CODE_PHRASE",
        "C_CODE_REFERENCE",
        "C_DV_ORDINAL",
        "C_DV_SCALE",
        "C_DV_QUANTITY",
        "C_DV_STATE",
    }
)
C_PRIMITIVE_TYPES: Final = frozenset(
    {"C_STRING", "C_INTEGER", "C_REAL", "C_BOOLEAN", "C_DATE", "C_TIME", "C_DATE_TIME", "C_DURATION"}
)
C_ATTRIBUTE_TYPES: Final = frozenset({"C_SINGLE_ATTRIBUTE", "C_MULTIPLE_ATTRIBUTE"})
EXPR_TYPES: Final = frozenset({"EXPR_LEAF", "EXPR_UNARY_OPERATOR", "EXPR_BINARY_OPERATOR"})

OPERATOR_MATCHES: Final = 2007
OPERATOR_OR: Final = 2012
