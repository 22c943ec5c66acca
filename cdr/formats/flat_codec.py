"""The FLAT codec machinery: reading one RM object out of a :class:`FlatNode` and writing it back into one.

Data values and the other RM objects a FLAT document spells out (parties, links, feeder audits...) each have
a :class:`Codec` registered here by RM type (:mod:`.flat_datatypes`, :mod:`.flat_parties`); every other RM
class is handled generically: ``|attr`` for primitive attributes, a child step ``attr`` (or ``_attr``) for
object attributes, indexed for lists. Attribute names follow EHRbase where it renames them
(``_work_flow_id``, ``_link``, ``_other_participation``...). Readers consume what they understand and
:meth:`Take.finish` refuses the rest, naming the key, so that nothing is ever dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cdr.rm  # noqa: F401  (fills RM_TYPES)
from cdr.errors import FormatError
from cdr.formats.flat_keys import FlatNode
from cdr.numerals import is_digits, parse_float, parse_int
from cdr.rm.base import RM_TYPES, RMObject, assemble, construct, empty_values, rm_field_map, rm_fields
from cdr.template.aom import CObject

__all__ = [
    "FLAT_NAMES",
    "Codec",
    "ReadContext",
    "Take",
    "build",
    "codec_for",
    "flat_name",
    "read_object",
    "register",
    "rm_attribute",
    "write_object",
]

T = TypeVar("T", bound=RMObject)

FLAT_NAMES: dict[str, str] = {
    "workflow_id": "work_flow_id",
    "links": "link",
    "participations": "participation",
    "other_participations": "other_participation",
    "identifiers": "identifier",
    "mappings": "mapping",
    "originating_system_item_ids": "originating_system_item_id",
    "feeder_system_item_ids": "feeder_system_item_id",
}
"""RM attribute -> the name EHRbase's FLAT format uses for it (singular for most lists)."""

_RM_NAMES: dict[str, str] = {v: k for k, v in FLAT_NAMES.items()}


def flat_name(attribute: str) -> str:
    """The FLAT step name of an RM attribute (without the ``_`` prefix)."""
    return FLAT_NAMES.get(attribute, attribute)


def rm_attribute(cls: type[RMObject], step: str) -> str | None:
    """The attribute of ``cls`` a FLAT step (``_link``, ``work_flow_id``, ``links``...) names, if any."""
    name = step[1:] if step.startswith("_") else step
    fields = rm_field_map(cls)
    for candidate in (_RM_NAMES.get(name), name, name + "s"):
        if candidate is not None and candidate in fields:
            return candidate
    return None


@dataclass(slots=True)
class ReadContext:
    """What codecs need besides the node: the composition language and term lookup for defaults."""

    language: str
    term_text: Callable[[CObject, str], str | None] = lambda _c, _code: None


_NOTHING: dict[Any, Any] = {}


class Take:
    """Consumes the parts of a :class:`FlatNode` a codec understands; :meth:`finish` refuses the rest."""

    __slots__ = ("_attrs", "_children", "_value_taken", "node")

    def __init__(self, node: FlatNode, children: dict[str, dict[int, FlatNode]] | None = None) -> None:
        """``children``: the child steps left to consume (all the node's when not given), not copied."""
        self.node = node
        # copies to consume from; an empty one is shared (nothing is ever added, and pops find nothing)
        self._attrs = dict(node.attrs) if node.attrs else _NOTHING
        if children is None:
            children = dict(node.children) if node.children else _NOTHING
        self._children = children
        self._value_taken = not node.has_value

    @property
    def key(self) -> str:
        return self.node.key

    def value(self) -> Any:
        """The bare value (``None`` when absent)."""
        self._value_taken = True
        return self.node.value if self.node.has_value else None

    def attr(self, suffix: str, *aliases: str) -> Any:
        """The value of ``|suffix`` (or of one of its aliases), ``None`` when absent; all of them consumed."""
        attrs = self._attrs
        found = attrs.pop(suffix, None) if attrs else None
        for name in aliases:
            if name in attrs:
                value = attrs.pop(name)
                found = value if found is None else found
        return found

    def has(self, *suffixes: str) -> bool:
        return any(s in self._attrs for s in suffixes)

    def indexed_attrs(self, prefix: str) -> dict[int, dict[str, Any]]:
        """``|identifiers_id:0``-style suffixes grouped by index: ``{0: {"id": ...}}``."""
        out: dict[int, dict[str, Any]] = {}
        for suffix in [s for s in self._attrs if s.startswith(prefix)]:
            name, _, index = suffix[len(prefix) :].partition(":")
            out.setdefault(int(index) if is_digits(index) else 0, {})[name] = self._attrs.pop(suffix)
        return out

    def children(self, *steps: str) -> list[FlatNode]:
        """The instances of the first of ``steps`` present (``_link`` or ``link``...), consumed."""
        if not self._children:  # most value nodes: codecs ask for optional children that are not there
            return []
        for step in steps:
            if step in self._children:
                by_index = self._children.pop(step)
                return [by_index[i] for i in sorted(by_index)]
        return []

    def child(self, *steps: str) -> FlatNode | None:
        if not self._children:
            return None
        found = self.children(*steps)
        if len(found) > 1:
            raise FormatError(found[1].key, "this attribute takes a single value")
        return found[0] if found else None

    def remaining_children(self) -> list[str]:
        return list(self._children)

    def finish(self) -> None:
        """Refuse anything not consumed, naming the first such key."""
        if not self._value_taken:
            raise FormatError(self.node.key, "a bare value is not allowed here")
        if self._attrs:
            suffix = next(iter(self._attrs))
            raise FormatError(f"{self.node.key}|{suffix}", f"unknown attribute suffix '|{suffix}'")
        if self._children:
            step = next(iter(self._children))
            node = next(iter(self._children[step].values()))
            key = next(node.keys(), node.key)
            raise FormatError(key, f"unknown attribute '{step}'")


# ------------------------------------------------------------------------------------------ conversions


def as_str(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise FormatError(key, f"expected a string, got {json.dumps(value)}")
    return str(value)


def as_float(value: Any, key: str) -> float:
    """A FLAT number (a JSON number, or a string holding one); NaN and infinities are refused: canonical JSON,
    which the repository stores, has no such number."""
    if isinstance(value, bool):
        raise FormatError(key, f"expected a number, got {json.dumps(value)}")
    number: float | None = None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number = parse_float(value)
    if number is None:
        raise FormatError(key, f"expected a number, got {json.dumps(value)}")
    if not math.isfinite(number):
        raise FormatError(key, f"expected a finite number, got {json.dumps(value)}")
    return number


def as_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise FormatError(key, f"expected an integer, got {json.dumps(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (number := parse_int(value)) is not None:
        return number
    raise FormatError(key, f"expected an integer, got {json.dumps(value)}")


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FormatError(key, f"expected a boolean, got {json.dumps(value)}")


_CONVERT: dict[type, Callable[[Any, str], Any]] = {str: as_str, float: as_float, int: as_int, bool: as_bool}


def convert(target: type, value: Any, key: str) -> Any:
    """A FLAT value as the primitive Python type of an RM attribute."""
    return _CONVERT[target](value, key)


def make(rm_type: str, **values: Any) -> RMObject:
    """An RM object of ``rm_type`` from attribute values (``None`` values left out)."""
    return build(RM_TYPES[rm_type], values)


def build(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of ``cls`` from attribute values, ``None`` values left out (unset, as absent in JSON).

    :func:`~cdr.rm.base.construct` without a filtered copy of ``values``: codecs call this for every
    object they read.
    """
    data = empty_values(cls).copy()
    given = set()
    for name, value in values.items():
        if value is not None:
            data[name] = value
            given.add(name)
    return assemble(cls, data, given)


# --------------------------------------------------------------------------------------------- codecs


Reader = Callable[[Take, ReadContext, CObject | None, str], RMObject | None]
Writer = Callable[[RMObject, FlatNode], None]


@dataclass(slots=True)
class Codec:
    """How one RM type is spelled in FLAT: ``read`` builds it from a node, ``write`` fills a node from it.

    ``read`` gets the node (wrapped in :class:`Take`), the context, the template constraint on the value
    (or ``None``) and the RM type the position expects; it may return a subtype (a DV_TEXT position holding
    codes yields a DV_CODED_TEXT).
    """

    read: Reader
    write: Writer
    subtypes: tuple[str, ...] = field(default_factory=tuple)


_CODECS: dict[str, Codec] = {}


def register(*rm_types: str) -> Callable[[Codec], Codec]:
    def deco(codec: Codec) -> Codec:
        for t in rm_types:
            _CODECS[t] = codec
        return codec

    return deco


def codec_for(rm_type: str) -> Codec | None:
    return _CODECS.get(rm_type)


def base_type(rm_type: str) -> str:
    """``DV_INTERVAL<DV_COUNT>`` -> ``DV_INTERVAL``."""
    return rm_type.split("<", 1)[0]


_DEFAULT_CONCRETE = {"DV_ENCAPSULATED": "DV_PARSABLE", "ITEM_STRUCTURE": "ITEM_TREE"}
"""Abstract attribute types a reader assumes when no ``|_type`` says otherwise."""

_ALTERNATIVE_STEPS = {"original_content_multimedia": ("original_content", "DV_MULTIMEDIA")}
"""FLAT steps naming an attribute together with its concrete type (EHRbase's feeder audit content)."""
_SUFFIX_OBJECTS = {("FEEDER_AUDIT_DETAILS", "time")}
"""Object attributes EHRbase writes as a suffix with the object's bare value when that value is all it has
(``_feeder_audit/originating_system_audit|time``); the reader takes both spellings."""


def read_object(node: FlatNode, ctx: ReadContext, rm_type: str, constraint: CObject | None = None) -> Any:
    """Read ``node`` as an object of ``rm_type`` (a spec name, possibly abstract or generic)."""
    take = Take(node)
    attrs = node.attrs
    raw = take.attr("raw") if "raw" in attrs else None
    if raw is not None:
        parsed = _read_raw(raw, take.key, rm_type)
        take.finish()
        return parsed
    explicit = take.attr("_type") if "_type" in attrs else None
    if explicit is None:
        expected, codec = _codec_of(rm_type)
    else:
        given = as_str(explicit, take.key + "|_type")
        if given not in RM_TYPES:
            raise FormatError(take.key + "|_type", f"unknown RM type {given!r}")
        expected, codec = _codec_of(given)
    obj: Any
    if codec is not None:
        obj = codec.read(take, ctx, constraint, expected)
    else:
        cls = RM_TYPES.get(base_type(expected))
        if cls is None or cls.rm_abstract:
            raise FormatError(take.key, f"cannot tell which {expected} this is; give '|_type'")
        obj = read_generic(take, ctx, cls)
    take.finish()
    return obj


_CODEC_OF: dict[str, tuple[str, Codec | None]] = {}


def _codec_of(rm_type: str) -> tuple[str, Codec | None]:
    """The type a reader builds for ``rm_type`` (the default concrete one if abstract) and its codec.

    Remembered per type name: every value of a document asks, and type names repeat.
    """
    found = _CODEC_OF.get(rm_type)
    if found is None:
        expected = _DEFAULT_CONCRETE.get(rm_type, rm_type)
        found = _CODEC_OF[rm_type] = (expected, _CODECS.get(base_type(expected)))
    return found


def _read_raw(raw: Any, key: str, rm_type: str) -> RMObject:
    """``|raw``: the object as canonical JSON (EHRbase also accepts ``@class`` for ``_type``)."""
    from cdr.formats.canonical_json import parse_json

    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise FormatError(key + "|raw", f"not canonical JSON: {exc}") from exc
    try:
        return parse_json(_at_class(data), None if RM_TYPES[base_type(rm_type)].rm_abstract else rm_type)
    except FormatError as exc:
        raise FormatError(key + "|raw", exc.message) from exc


def _at_class(data: Any) -> Any:
    if isinstance(data, dict):
        return {("_type" if k == "@class" else k): _at_class(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_at_class(v) for v in data]
    return data


def read_generic(take: Take, ctx: ReadContext, cls: type[RMObject]) -> RMObject:
    """Any RM class attribute by attribute: ``|attr`` primitives, ``attr`` / ``_attr`` child objects."""
    values: dict[str, Any] = {}
    fields = rm_field_map(cls)
    if take.node.has_value and "value" in fields:
        f = fields["value"]
        raw = take.value()
        values["value"] = (
            convert(f.target, raw, take.key) if not f.is_object else _bare_object(f.target, raw, take.key)
        )
    for step, (attribute, rm_type) in _ALTERNATIVE_STEPS.items():
        alternative = take.child(step, "_" + step)
        if alternative is not None and attribute in fields:
            values[attribute] = read_object(alternative, ctx, rm_type)
    for f in rm_fields(cls):
        if f.name in values:
            continue
        if f.is_object:
            names = ("_" + flat_name(f.name), flat_name(f.name), "_" + f.name, f.name)
            found = take.children(*dict.fromkeys(names))
            if not found and not f.is_list and take.has(f.name):
                found_value = take.attr(f.name)
                values[f.name] = _bare_object(f.target, found_value, f"{take.key}|{f.name}")
                continue
            if not found:
                continue
            items = [read_object(n, ctx, f.target.rm_type) for n in found]  # type: ignore[attr-defined]
            if f.is_list:
                values[f.name] = items
            elif len(items) > 1:
                raise FormatError(found[1].key, f"'{f.name}' takes a single value")
            else:
                values[f.name] = items[0]
        elif f.name != "value" or not take.node.has_value:
            raw = take.attr(f.name)
            if raw is not None:
                values[f.name] = (
                    [convert(f.target, v, take.key) for v in raw]
                    if f.is_list and isinstance(raw, list)
                    else convert(f.target, raw, f"{take.key}|{f.name}")
                )
    return construct(cls, values)


def _bare(value: RMObject) -> bool:
    """An object of its declared type with nothing set but ``value`` (a DV_DATE_TIME of text alone)."""
    return all(v is None or v == [] for k, v in value.__dict__.items() if k != "value")


def _bare_object(target: type, raw: Any, key: str) -> RMObject:
    """An object attribute given as a bare value: read as that object's own bare value."""
    node = FlatNode(key, value=raw, has_value=True)
    return read_object(node, ReadContext(""), target.rm_type)  # type: ignore[attr-defined]


def write_object(obj: RMObject, node: FlatNode, *, explicit_type: str | None = None) -> None:
    """Fill ``node`` with ``obj``; ``explicit_type`` is the type a reader would assume there."""
    codec = _CODECS.get(obj.rm_type)
    if codec is not None:
        codec.write(obj, node)
    else:
        write_generic(obj, node)
    if explicit_type is not None and "<" in explicit_type:
        _type_generic_parts(obj, node, explicit_type)
    if (
        explicit_type is not None
        and base_type(explicit_type) != obj.rm_type
        and not _implied(obj, explicit_type)
    ) or node.is_empty():
        node.attrs["_type"] = obj.rm_type


def _type_generic_parts(obj: RMObject, node: FlatNode, explicit_type: str) -> None:
    """``|_type`` on interval bounds of another type than the position's parameter
    (``DV_INTERVAL<DV_DATE_TIME>`` holding DV_DATE bounds): the reader assumes the parameter."""
    inner = explicit_type[explicit_type.index("<") + 1 : -1]
    for end in ("lower", "upper"):
        bound = getattr(obj, end, None)
        child = node.children.get(end, {}).get(0)
        if (
            isinstance(bound, RMObject)
            and child is not None
            and bound.rm_type != inner
            and not _implied(bound, inner)
        ):
            child.attrs["_type"] = bound.rm_type


def _implied(obj: RMObject, expected: str) -> bool:
    """Whether a reader expecting ``expected`` would pick ``obj``'s type by itself (codec subtypes)."""
    codec = _CODECS.get(base_type(expected))
    return codec is not None and obj.rm_type in codec.subtypes


def write_generic(
    obj: RMObject, node: FlatNode, *, underscore: bool = False, skip: tuple[str, ...] = ()
) -> None:
    """Every set attribute of ``obj``: primitives as ``|attr``, objects as child steps."""
    prefix = "_" if underscore else ""
    for f in rm_fields(type(obj)):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        if value is None or (f.is_list and not value):
            continue
        if not f.is_object:
            if f.name == "value" and not f.is_list:
                node.value, node.has_value = value, True
            else:
                node.attrs[f.name] = value
            continue
        if (obj.rm_type, f.name) in _SUFFIX_OBJECTS and _bare(value):
            node.attrs[f.name] = value.value
            continue
        step = prefix + flat_name(f.name)
        declared = f.target.rm_type  # type: ignore[attr-defined]
        for alt, (attribute, rm_type) in _ALTERNATIVE_STEPS.items():
            if f.name == attribute and getattr(value, "rm_type", None) == rm_type:
                step, declared = prefix + alt, rm_type
        declared = _DEFAULT_CONCRETE.get(declared, declared)
        if f.is_list:
            node.multi.add(step)
            for i, item in enumerate(value):
                write_object(item, node.child(step, i), explicit_type=declared)
        else:
            write_object(value, node.child(step), explicit_type=declared)
