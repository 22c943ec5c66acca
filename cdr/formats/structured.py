"""STRUCTURED (structSDT) <-> canonical COMPOSITION.

STRUCTURED is FLAT nested: every web template id maps to a list of instances, an instance is either a bare
value or an object of ``"|suffix"`` values and child ids (``{"family_history": {"category": [{"|code":
"433"}]}}``). So this module only converts between that nesting and the key tree of :mod:`.flat_keys`; the
FLAT reader and writer do the rest. ``ctx`` shortcuts may come as ``"ctx": {...}`` or as flat ``ctx/...``
keys. A bare value next to suffixes is written as ``"|value"``, which every value codec reads as its value.
"""

from __future__ import annotations

from typing import Any

from cdr.errors import FormatError
from cdr.formats.flat_keys import CTX_PREFIX, FlatNode, ecisflat_reason
from cdr.formats.flat_reader import tree_to_composition
from cdr.formats.flat_writer import composition_to_tree
from cdr.rm import Composition
from cdr.template.aom import OperationalTemplate

__all__ = [
    "composition_to_structured",
    "structured_to_composition",
    "structured_to_tree",
    "tree_to_structured",
]

_SCALARS = (str, int, float, bool)


def structured_to_tree(doc: dict[str, Any]) -> tuple[dict[str, Any], FlatNode]:
    """A STRUCTURED document to its ``ctx`` entries and key tree (as :func:`~.flat_keys.parse_flat` gives)."""
    if not isinstance(doc, dict):
        raise FormatError("/", "a STRUCTURED composition must be a JSON object")
    reason = ecisflat_reason(doc)
    if reason is not None:
        raise FormatError("/", reason)
    ctx: dict[str, Any] = {}
    root = FlatNode("")
    for key, value in doc.items():
        if key == "ctx":
            if not isinstance(value, dict):
                raise FormatError("ctx", "'ctx' must be an object of shortcuts")
            ctx.update(_ctx_entries(value))
        elif key.startswith(CTX_PREFIX):
            ctx[key[len(CTX_PREFIX) :]] = value
        elif "/" in key or "|" in key:
            raise FormatError(key, "a FLAT key in a STRUCTURED document")
        else:
            _instances(root, key, value)
    return ctx, root


def _ctx_entries(value: dict[str, Any]) -> dict[str, Any]:
    """``"ctx": {"language": "en", "health_care_facility": {"|name": "x"}}`` to flat ctx entries."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        for index, one in enumerate(items):
            name = f"{key}:{index}" if index else key
            if isinstance(one, dict):
                for sub, v in one.items():
                    out[f"{name}{sub}" if sub.startswith("|") else f"{name}_{sub}"] = v
            else:
                out[name] = one
    return out


def _instances(parent: FlatNode, step: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        node = parent.child(step, index)
        if isinstance(item, dict):
            _fill(node, item)
        elif isinstance(item, _SCALARS) or item is None:
            node.value, node.has_value = item, True
        else:
            raise FormatError(node.key, "expected a value or an object")


def _fill(node: FlatNode, obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        if key.startswith("|"):
            if not key[1:]:
                raise FormatError(node.key, "empty '|' suffix")
            node.attrs[key[1:]] = value
        elif key == "":
            node.value, node.has_value = value, True
        else:
            _instances(node, key, value)


def tree_to_structured(root: FlatNode) -> dict[str, Any]:
    """A key tree (from the FLAT writer) as a STRUCTURED document.

    The composition itself is one object, not a list of instances (``{"family_history": {"_uid": [...]}}``),
    as EHRbase writes it and its suites read it; every node below is a list.
    """
    return {
        step: _instance(by_index[i]) for step, by_index in root.children.items() for i in sorted(by_index)
    }


def _children(node: FlatNode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step, by_index in node.children.items():
        out[step] = [_instance(by_index[i]) for i in sorted(by_index)]
    return out


def _instance(node: FlatNode) -> Any:
    if node.has_value and not node.attrs and not node.children:
        return node.value
    out: dict[str, Any] = {}
    if node.has_value:
        out["|value"] = node.value
    for suffix, value in node.attrs.items():
        out["|" + suffix] = value
    out.update(_children(node))
    return out


def structured_to_composition(doc: dict[str, Any], opt: OperationalTemplate) -> Composition:
    """A STRUCTURED (structSDT) document to a canonical COMPOSITION of template ``opt``."""
    ctx, root = structured_to_tree(doc)
    return tree_to_composition(ctx, root, opt)


def composition_to_structured(comp: Composition, opt: OperationalTemplate) -> dict[str, Any]:
    """A canonical COMPOSITION of template ``opt`` as a STRUCTURED (structSDT) document."""
    return tree_to_structured(composition_to_tree(comp, opt))
