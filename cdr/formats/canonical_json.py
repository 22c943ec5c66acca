"""Canonical JSON (openEHR ITS-JSON): read into RM models and write them back.

The reader and writer are generic over :func:`cdr.rm.base.rm_fields`: a JSON object is an RM object whose
keys are attribute names and whose ``_type`` names its class. ``_type`` may be left out where the declared
attribute type is concrete (``"name": {"value": "x"}`` is a DV_TEXT); where the declared type is abstract it
is required. The reader checks JSON types itself and builds models without pydantic validation, because a
whole composition has to be read in well under a millisecond; every error is a :class:`FormatError` whose
path is a JSON pointer into the input. RM rules beyond the JSON shape (mandatory attributes, invariants,
templates) are the validator's job, so a document missing a mandatory attribute still reads.

The writer emits ``_type`` on every object, as EHRbase does, leaves out absent (``None``) attributes and keeps
empty lists, so that ``[]`` and "absent" survive a round trip.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

import cdr.rm  # noqa: F401  (defines every RM class and fills RM_TYPES)
from cdr.errors import FormatError
from cdr.rm.base import RM_TYPES, RMObject, empty_values, rm_fields
from cdr.rm.instances import rm_type_of
from cdr.rm.walk import walk

__all__ = ["dumps", "parse_json", "to_json"]

JsonObject = dict[str, Any]

# What an attribute holds, decided once per class.
_OBJECT, _OBJECT_LIST, _STR, _INT, _FLOAT, _BOOL = range(6)
_LIST = 8  # added to a primitive kind for a list of primitives

_PRIMITIVE_KINDS: dict[type, int] = {str: _STR, int: _INT, float: _FLOAT, bool: _BOOL}
_KIND_NAMES = {_STR: "a string", _INT: "an integer", _FLOAT: "a number", _BOOL: "a boolean"}


class _ClassInfo:
    """What the reader needs about one concrete class: attribute plan and an all-``None`` value dict."""

    __slots__ = ("cls", "empty", "plan")

    def __init__(self, cls: type[RMObject]) -> None:
        self.cls = cls
        self.empty = empty_values(cls)
        self.plan: dict[str, tuple[int, Any]] = {}  # attribute -> (kind, _Target or primitive kind)


class _Target:
    """A declared attribute type: the ``_type`` names conforming to it (filled lazily), its default class."""

    __slots__ = ("allowed", "declared", "default")

    def __init__(self, declared: type[RMObject]) -> None:
        self.declared = declared
        self.allowed: dict[str, _ClassInfo] = {}
        self.default: _ClassInfo | None = None if declared.rm_abstract else _class_info(declared)


_infos: dict[type[RMObject], _ClassInfo] = {}
_targets: dict[type[RMObject], _Target] = {}


def _class_info(cls: type[RMObject]) -> _ClassInfo:
    info = _infos.get(cls)
    if info is None:
        info = _infos[cls] = _ClassInfo(cls)  # registered before the plan so that recursion terminates
        for field in rm_fields(cls):
            if field.is_object:
                info.plan[field.name] = (_OBJECT_LIST if field.is_list else _OBJECT, _target(field.target))
            else:
                kind = _PRIMITIVE_KINDS[field.target]
                info.plan[field.name] = (kind + _LIST if field.is_list else kind, kind)
    return info


def _target(declared: type[RMObject]) -> _Target:
    target = _targets.get(declared)
    if target is None:
        target = _targets[declared] = _Target(declared)
    return target


def _json_kind(value: Any) -> str:
    """How JSON would name the type of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _pointer_token(key: str) -> str:
    """Escape one JSON pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


class _ShapeError(Exception):
    """A format error on its way up; each enclosing level adds its key, so paths cost nothing until needed."""

    def __init__(self, message: str, *segments: str) -> None:
        super().__init__(message)
        self.message = message
        self.segments = list(segments)  # innermost first

    def pointer(self) -> str:
        return "".join("/" + _pointer_token(s) for s in reversed(self.segments))


_NUMERIC_STRING = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)


_INT64 = 2**63  # integer attributes hold at most 64 bits (RM Integer64)


def _primitive(value: Any, kind: int, owner: type[RMObject], name: str) -> Any:
    """Check a primitive attribute value and return it in its Python type (ints widen to floats).

    A number sent as a JSON string (``"magnitude": "130"``) is read as the number, as EHRbase's reader does
    (Jackson's scalar coercion); any other string in a numeric attribute is an error.
    """
    if kind == _STR:
        if type(value) is str:
            return value
    elif kind == _FLOAT:
        number: float | None = None
        if type(value) is float:
            number = value
        elif type(value) is int or (type(value) is str and _NUMERIC_STRING.fullmatch(value)):
            number = float(value)
        if number is not None:
            if math.isfinite(number):
                return number
            # NaN and Infinity (which the standard library's reader accepts) and literals beyond a double:
            # JSON has no such number, so the stored document could not hold it (it was written as null)
            raise _ShapeError(f"{owner.rm_type}.{name} must be a finite number, got {json.dumps(value)}")
    elif kind == _INT:
        # a float as large as 2**63 may be a longer integer literal rounded (orjson reads those as floats)
        if (type(value) is int and -_INT64 <= value < _INT64) or (
            type(value) is float and value.is_integer() and -_INT64 < value < _INT64
        ):
            return int(value)
        if type(value) is int or (type(value) is float and value.is_integer()):
            raise _ShapeError(f"{owner.rm_type}.{name} must be an integer of at most 64 bits, got {value}")
        if type(value) is str and _NUMERIC_STRING.fullmatch(value) and float(value).is_integer():
            number = int(float(value))
            if -_INT64 <= number < _INT64:
                return number
    elif kind == _BOOL and type(value) is bool:
        return value
    raise _ShapeError(f"{owner.rm_type}.{name} must be {_KIND_NAMES[kind]}, got {_json_kind(value)}")


def _not_an_array(cls: type[RMObject], key: str, value: Any) -> _ShapeError:
    return _ShapeError(f"{cls.rm_type}.{key} must be an array, got {_json_kind(value)}", key)


def _resolve_type(type_name: Any, target: _Target) -> _ClassInfo:
    """The class named by ``_type``, checked to be a known, concrete type conforming to the declared one."""
    declared = target.declared
    if type(type_name) is not str:
        raise _ShapeError(f"_type must be a string, got {_json_kind(type_name)}", "_type")
    cls = RM_TYPES.get(type_name)
    if cls is None:
        raise _ShapeError(f"unknown _type {type_name!r}: not an RM 1.1.0 type", "_type")
    if not issubclass(cls, declared):
        raise _ShapeError(
            f"_type {type_name} does not conform to {declared.rm_type}, the declared type here", "_type"
        )
    if cls.rm_abstract:
        raise _ShapeError(f"_type {type_name} is abstract and cannot be instantiated", "_type")
    info = target.allowed[type_name] = _class_info(cls)
    return info


class _Reader:
    """The recursive object reader; ``strict`` decides whether unknown attributes are errors or skipped.

    When skipping, ``skipped`` (if given) receives (id of the object read, attribute) for every dropped
    key, so that the caller can say what it ignored instead of dropping it silently. A class rather than a
    closure: compiled, its recursive calls are C calls, a closure's are Python-level calls.
    """

    def __init__(self, strict: bool, skipped: list[tuple[int, str]] | None = None) -> None:
        self.strict = strict
        self.skipped = skipped
        self.new: Callable[..., Any] = object.__new__

    def read(self, data: Any, target: _Target) -> RMObject:
        if type(data) is not dict:
            raise _ShapeError(f"expected a JSON object ({target.declared.rm_type}), got {_json_kind(data)}")
        type_name = data.get("_type")
        if type_name is None:
            info = target.default
            if info is None:
                declared_name = target.declared.rm_type
                raise _ShapeError(f"_type is required: the declared type {declared_name} is abstract")
        else:
            # a _type that is no string (an object, a list: unhashable) goes to the check that says so
            known = target.allowed.get(type_name) if type(type_name) is str else None
            info = known or _resolve_type(type_name, target)
        plan = info.plan
        values = info.empty.copy()
        dropped: list[str] | None = None  # made when a key is skipped (rarely)
        for key, value in data.items():
            entry = plan.get(key)
            if entry is None:
                if key == "_type":
                    continue
                if not self.strict:
                    if dropped is None:
                        dropped = []
                    dropped.append(key)
                    continue
                raise _ShapeError(f"unknown attribute {key!r}: {info.cls.rm_type} has no such attribute", key)
            kind = entry[0]
            if kind == _STR and type(value) is str:
                values[key] = value
            elif value is None:
                continue  # null is the same as absent
            elif kind == _OBJECT:
                try:
                    values[key] = self.read(value, entry[1])
                except _ShapeError as exc:
                    exc.segments.append(key)
                    raise
            elif kind == _OBJECT_LIST:
                if type(value) is not list:
                    raise _not_an_array(info.cls, key, value)
                items = []
                item_target = entry[1]
                for i, item in enumerate(value):
                    try:
                        items.append(self.read(item, item_target))
                    except _ShapeError as exc:
                        exc.segments.extend((str(i), key))
                        raise
                values[key] = items
            elif kind < _LIST:
                try:
                    values[key] = _primitive(value, kind, info.cls, key)
                except _ShapeError as exc:
                    exc.segments.append(key)
                    raise
            else:
                if type(value) is not list:
                    raise _not_an_array(info.cls, key, value)
                prims = []
                for i, item in enumerate(value):
                    try:
                        prims.append(_primitive(item, kind - _LIST, info.cls, key))
                    except _ShapeError as exc:
                        exc.segments.extend((str(i), key))
                        raise
                values[key] = prims
        fields_set = set(data)  # the keys read, less _type and any unknown key skipped (a set difference
        fields_set.discard("_type")  # of dict views cost ~2% of a commit's CPU)
        if dropped is not None:
            for key in dropped:
                fields_set.discard(key)
        # what cdr.rm.base.assemble does, inlined: this runs once per node of every document read. Written
        # as object.__setattr__(...) literally, which mypyc compiles to a C call (through a name it is a
        # Python-level call of a slot wrapper, ~10% of the reader's instructions).
        obj = self.new(info.cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        skipped = self.skipped
        if dropped is not None and skipped is not None:
            skipped.extend((id(obj), key) for key in dropped)
        return obj


def _loads(text: str | bytes | bytearray) -> Any:
    """The JSON value of a request body: orjson's reading (about 0.8 M instructions less than the standard
    library's for a Corona_Anamnese composition), the standard library's wherever orjson refuses (NaN,
    UTF-16/32, lone surrogates, deep nesting) and for the error message. The two read every corpus
    document alike; they differ only on integers beyond 64 bits, which orjson reads as floats, and which
    :func:`_primitive` refuses in integer attributes either way (in real ones both give the same double)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise FormatError("/", f"not valid JSON: {exc.msg} at {where}") from None
    except UnicodeDecodeError as exc:
        raise FormatError("/", f"not valid JSON: {exc.reason}") from None


_read_strict = _Reader(strict=True).read
_read_lenient = _Reader(strict=False).read


def parse_json(
    data: Any,
    rm_type: str | None = None,
    *,
    strict: bool = True,
    ignored: list[str] | None = None,
) -> RMObject:
    """Read canonical JSON (text, or a value :func:`json.loads` returned) into an RM object.

    The root class is the document's ``_type`` or, when it has none, ``rm_type``; when both are given the
    ``_type`` must conform to ``rm_type``. With ``strict=False`` unknown attributes are skipped instead of
    rejected (EHRbase's reader ignores them); everything else is checked either way. Pass a list as
    ``ignored`` to learn the JSON pointers of the attributes skipped.

    >>> parse_json('{"_type": "DV_QUANTITY", "magnitude": 7, "units": "kg"}').magnitude
    7.0
    """
    if isinstance(data, str | bytes | bytearray):
        data = _loads(data)
    if rm_type is None:
        declared = RMObject
        if type(data) is dict and "_type" not in data:
            raise FormatError("/", "_type is required at the root when no RM type is expected")
    else:
        found = RM_TYPES.get(rm_type)
        if found is None:
            raise FormatError("/", f"unknown RM type {rm_type!r} expected at the root")
        declared = found
    skipped: list[tuple[int, str]] | None = None
    if strict:
        read = _read_strict
    elif ignored is None:
        read = _read_lenient
    else:
        skipped = []
        read = _Reader(strict=False, skipped=skipped).read
    try:
        obj = read(data, _target(declared))
    except _ShapeError as exc:
        raise FormatError(exc.pointer(), exc.message) from None
    if skipped and ignored is not None:
        pointers = {id(node): pointer for pointer, node in walk(obj)}
        ignored.extend(f"{pointers.get(node_id, '')}/{_pointer_token(key)}" for node_id, key in skipped)
    return obj


_writer_plans: dict[type[RMObject], tuple[tuple[str, int], ...]] = {}


def _writer_plan(cls: type[RMObject]) -> tuple[tuple[str, int], ...]:
    plan = _writer_plans[cls] = tuple((name, kind) for name, (kind, _) in _class_info(cls).plan.items())
    return plan


def to_json(obj: RMObject) -> JsonObject:
    """The canonical JSON of an RM object as Python data: ``_type`` everywhere, ``None`` left out."""
    cls = type(obj)
    plan = _writer_plans.get(cls) or _writer_plan(cls)
    values = obj.__dict__
    out: JsonObject = {"_type": rm_type_of(obj)}
    for name, kind in plan:
        value = values[name]
        if value is None:
            continue
        if kind == _OBJECT:
            out[name] = to_json(value)
        elif kind == _OBJECT_LIST:
            out[name] = [to_json(item) for item in value]
        elif kind > _LIST:
            out[name] = list(value)
        else:
            out[name] = value
    return out


def dumps(obj: RMObject, *, indent: int | None = None) -> str:
    """The canonical JSON text of an RM object (UTF-8 characters kept as they are)."""
    return json.dumps(to_json(obj), ensure_ascii=False, indent=indent)
