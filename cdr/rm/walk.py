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


_object_fields: dict[type[RMObject], tuple[tuple[str, bool], ...]] = {}


def walk(obj: RMObject, path: str = "") -> Iterator[tuple[str, RMObject]]:
    """Every RM object of the tree, depth first, with its JSON-pointer-style path (``/content/0/data``)."""
    stack: list[tuple[str, RMObject]] = [(path, obj)]
    pop, push = stack.pop, stack.extend
    while stack:
        path, node = pop()
        yield path, node
        cls = type(node)
        fields = _object_fields.get(cls)
        if fields is None:
            fields = _object_fields[cls] = tuple((f.name, f.is_list) for f in rm_fields(cls) if f.is_object)
        values = node.__dict__
        found: list[tuple[str, RMObject]] = []
        for name, is_list in fields:
            value = values[name]
            if value is None:
                continue
            if is_list:
                found.extend((f"{path}/{name}/{i}", item) for i, item in enumerate(value))
            else:
                found.append((f"{path}/{name}", value))
        push(reversed(found))
