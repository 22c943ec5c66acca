"""The root of the reference model classes: naming, the type registry and field metadata.

Every openEHR RM class is a pydantic model named after its spec class in CamelCase (``DvQuantity`` for
DV_QUANTITY). Field names are the spec attribute names, which are also the canonical JSON keys, and fields
are declared in the order of the ITS-XML schema so that XML can be written from the model alone. Wire formats
live in :mod:`cdr.formats`; this module only gives them what they need to walk a model generically:

* :data:`RM_TYPES` maps a spec type name to its class (filled as classes are defined);
* :func:`rm_fields` describes a class's attributes (name, list or single, target type, required).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

T = TypeVar("T", bound="RMObject")

RM_TYPES: dict[str, type[RMObject]] = {}
"""Spec type name (``"DV_QUANTITY"``) to class, for every concrete and abstract RM class."""

RM_CLASSES: set[type[RMObject]] = set()
"""Every subclass of :class:`RMObject` (see :func:`cdr.rm.instances.is_rm`)."""

RM_TYPE_NAMES: dict[type[RMObject], str] = {}
"""Every subclass of :class:`RMObject` to its ``rm_type`` (see :func:`cdr.rm.instances.rm_type_of`)."""

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def spec_name(class_name: str) -> str:
    """The openEHR type name for a Python class name: ``DvEhrUri`` -> ``DV_EHR_URI``."""
    return _CAMEL_BOUNDARY.sub("_", class_name).upper()


class RMObject(BaseModel):
    """Base of all RM classes.

    ``rm_type`` is the spec name used as ``_type`` in JSON and ``xsi:type`` in XML; ``rm_abstract`` marks
    classes that never appear as instances (they may still be a field's declared type).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=False, validate_assignment=False, revalidate_instances="never"
    )

    rm_type: ClassVar[str] = "RM_OBJECT"
    rm_abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "rm_type" not in cls.__dict__:
            cls.rm_type = spec_name(cls.__name__)
        if "rm_abstract" not in cls.__dict__:
            cls.rm_abstract = False
        RM_TYPES[cls.rm_type] = cls
        RM_CLASSES.add(cls)
        RM_TYPE_NAMES[cls] = cls.rm_type


_REQUIRED_MARK: JsonDict = {"rm_required": True}
_XML_ATTRIBUTE_MARK: JsonDict = {"rm_required": True, "xml_attribute": True}


def mandatory(default: Any = None, *, xml_attribute: bool = False, description: str | None = None) -> Any:
    """Declare an attribute the RM makes mandatory.

    Readers are lenient: a missing mandatory attribute still yields a model (holding ``None``) so that the
    validator can report every such omission at once as a REQUIRED issue instead of failing on the first.
    ``xml_attribute`` marks the one attribute ITS-XML writes as an XML attribute (``archetype_node_id``).
    """
    extra = _XML_ATTRIBUTE_MARK if xml_attribute else _REQUIRED_MARK
    return Field(default=default, json_schema_extra=extra, description=description)


def optional(description: str) -> Any:
    """Declare an optional attribute with a short spec description (``None`` when absent)."""
    return Field(default=None, description=description)


def rm_class(type_name: str) -> type[RMObject]:
    """The class registered under a spec type name; ``KeyError`` if the RM has no such type."""
    return RM_TYPES[type_name]


def is_rm_subtype(type_name: str, of: str) -> bool:
    """Whether spec type ``type_name`` is ``of`` or conforms to it (DV_CODED_TEXT is a DV_TEXT)."""
    sub, sup = RM_TYPES.get(type_name), RM_TYPES.get(of)
    return sub is not None and sup is not None and issubclass(sub, sup)


@dataclass(frozen=True, slots=True)
class RMField:
    """One attribute of an RM class, as the format readers and writers need it."""

    name: str
    target: type  # an RMObject subclass, or str / int / float / bool
    is_list: bool
    required: bool
    xml_attribute: bool = False

    @property
    def is_object(self) -> bool:
        return isinstance(self.target, type) and issubclass(self.target, RMObject)


def _unwrap(annotation: Any) -> tuple[type, bool]:
    """Reduce ``Optional[list[X]]``-style annotations to (X, is_list)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"RM fields must have one type, got {annotation!r}")
        return _unwrap(args[0])
    if origin in (list, typing.List):  # noqa: UP006
        (inner,) = get_args(annotation)
        target, _ = _unwrap(inner)
        return target, True
    if isinstance(annotation, type):
        return annotation, False
    raise TypeError(f"unsupported RM field annotation {annotation!r}")


@cache
def rm_fields(cls: type[RMObject]) -> tuple[RMField, ...]:
    """The attributes of ``cls`` in declaration (ITS-XML) order."""
    out = []
    for name, info in cls.model_fields.items():
        target, is_list = _unwrap(info.annotation)
        extra = info.json_schema_extra
        marks = extra if isinstance(extra, dict) else {}
        required = info.is_required() or bool(marks.get("rm_required"))
        out.append(
            RMField(
                name=name,
                target=target,
                is_list=is_list,
                required=required,
                xml_attribute=bool(marks.get("xml_attribute")),
            )
        )
    return tuple(out)


@cache
def rm_field_map(cls: type[RMObject]) -> dict[str, RMField]:
    """``rm_fields`` keyed by attribute name."""
    return {f.name: f for f in rm_fields(cls)}


@cache
def _field_names(cls: type[RMObject]) -> tuple[str, ...]:
    return tuple(cls.model_fields)


@cache
def empty_values(cls: type[RMObject]) -> dict[str, Any]:
    """Every attribute of ``cls`` mapped to ``None``; copy it to start the values of a new instance."""
    return dict.fromkeys(_field_names(cls))


def assemble(cls: type[T], values: dict[str, Any], fields_set: set[str]) -> T:
    """Make an instance from a dict holding *every* attribute of ``cls``, without validation.

    This is what ``model_construct`` does, minus its per-field bookkeeping: format readers check values
    themselves and call this once per node, so it has to be cheap. ``values`` becomes the instance's
    ``__dict__`` (not copied); ``fields_set`` the attributes the input set explicitly.
    """
    obj = cls.__new__(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", fields_set)
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


def construct(cls: type[T], values: dict[str, Any]) -> T:
    """Build an instance from already checked attribute values (field names of ``cls`` only), unvalidated."""
    data = empty_values(cls).copy()
    data.update(values)
    return assemble(cls, data, set(values))


_setattr = object.__setattr__
