"""Walking an RM tree generically, from the attribute metadata of :func:`cdr.rm.base.rm_fields`."""

from __future__ import annotations

from collections.abc import Iterator

from cdr.rm.base import RMObject, rm_fields


def children(obj: RMObject) -> Iterator[tuple[str, int | None, RMObject]]:
    """The RM objects ``obj`` holds directly: (attribute, index in a list or ``None``, child)."""
    values = obj.__dict__
    for field in rm_fields(type(obj)):
        if not field.is_object:
            continue
        value = values.get(field.name)
        if value is None:
            continue
        if field.is_list:
            for i, item in enumerate(value):
                yield field.name, i, item
        else:
            yield field.name, None, value


def walk(obj: RMObject, path: str = "") -> Iterator[tuple[str, RMObject]]:
    """Every RM object of the tree, depth first, with its JSON-pointer-style path (``/content/0/data``)."""
    yield path, obj
    for name, index, child in children(obj):
        yield from walk(child, f"{path}/{name}" if index is None else f"{path}/{name}/{index}")
