"""FLAT (simSDT) keys: split a flat document into a tree of nodes, and join such a tree back into keys.

A FLAT key is a ``/``-separated path of web template ids, each optionally indexed (``any_event:1``), and
an optional ``|suffix`` naming one attribute of the value (``|magnitude``, ``|code``); suffixes may be
indexed too (``|identifiers_id:0``). A step without an index means index 0. Everything here is pure and
knows nothing of templates: :class:`FlatNode` only records what the document says, so that the reader can
report an unknown key by its full text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cdr.errors import FormatError
from cdr.numerals import is_digits

__all__ = ["CTX_PREFIX", "FlatNode", "ecisflat_reason", "parse_flat", "render_flat", "split_step"]

CTX_PREFIX = "ctx/"


@dataclass(slots=True, eq=False)
class FlatNode:
    """One indexed step of the flat tree: its bare value, its ``|suffix`` values and its child steps.

    ``key`` is the path of this node as written (``bericht/symptome:0``) so that errors can name it;
    ``children`` maps a child id to its instances by index.
    """

    key: str
    value: Any = None
    has_value: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    children: dict[str, dict[int, FlatNode]] = field(default_factory=dict)
    multi: set[str] = field(default_factory=set)  # child ids written with an index (``:0``) by writers

    def child(self, step_id: str, index: int = 0) -> FlatNode:
        """The child ``step_id:index``, created when absent."""
        by_index = self.children.get(step_id)
        if by_index is None:
            by_index = self.children[step_id] = {}
        node = by_index.get(index)
        if node is None:
            prefix = f"{self.key}/" if self.key else ""
            node = by_index[index] = FlatNode(f"{prefix}{step_id}:{index}")
        return node

    def instances(self, step_id: str) -> list[FlatNode]:
        """The instances of child ``step_id`` in index order (gaps in the indices are closed)."""
        by_index = self.children.get(step_id)
        return [by_index[i] for i in sorted(by_index)] if by_index else []

    def pop_instances(self, step_id: str) -> list[FlatNode]:
        found = self.instances(step_id)
        self.children.pop(step_id, None)
        return found

    def is_empty(self) -> bool:
        return not self.has_value and not self.attrs and not self.children

    def keys(self) -> Iterator[str]:
        """Every key at or below this node, for error messages."""
        if self.has_value:
            yield self.key
        for suffix in self.attrs:
            yield f"{self.key}|{suffix}"
        for by_index in self.children.values():
            for node in by_index.values():
                yield from node.keys()


def split_step(step: str) -> tuple[str, int | None]:
    """``"any_event:2"`` -> ``("any_event", 2)``; ``"time"`` -> ``("time", None)``.

    >>> split_step("any_event:2")
    ('any_event', 2)
    """
    name, sep, index = step.rpartition(":")
    if sep and is_digits(index):
        return name, int(index)
    return step, None


def ecisflat_reason(flat: dict[str, Any]) -> str | None:
    """Why ``flat`` is a legacy path-value document (EhrScape ECISFLAT, EHRbase raw) rather than FLAT."""
    for key in flat:
        if isinstance(key, str) and key.startswith("/"):
            return (
                f"key {key!r} is an archetype path: this is a legacy EhrScape/EtherCIS path-value "
                "(ECISFLAT) document, not FLAT (simSDT); FLAT keys are web template ids"
            )
    return None


def parse_flat(flat: dict[str, Any]) -> tuple[dict[str, Any], FlatNode]:
    """Split a FLAT document into its ``ctx/`` entries (prefix removed) and the tree of the other keys.

    The tree's root has an empty key; its single child is the composition (the web template root id).
    """
    if not isinstance(flat, dict):
        raise FormatError("/", "a FLAT composition must be a JSON object of key-value pairs")
    reason = ecisflat_reason(flat)
    if reason is not None:
        raise FormatError("/", reason)
    ctx: dict[str, Any] = {}
    root = FlatNode("")
    last_steps: tuple[tuple[str, int, str], ...] | None = None
    last_node = root
    for key, value in flat.items():
        if not isinstance(key, str) or not key:
            raise FormatError("/", f"invalid FLAT key {key!r}")
        if key.startswith(CTX_PREFIX):
            ctx[key[len(CTX_PREFIX) :]] = value
            continue
        if isinstance(value, (dict, list)) and "/" not in key and "|" not in key:
            raise FormatError(key, "a nested value: this is a STRUCTURED (structSDT) document, not FLAT")
        steps, suffix = _key_shape(key)
        if steps is not last_steps:  # the suffixes of one value come in a row: walk once for them
            node = root
            for name, index, text in steps:
                by_index = node.children.get(name)
                if by_index is None:
                    by_index = node.children[name] = {}
                found = by_index.get(index)
                if found is None:
                    found = by_index[index] = FlatNode(text)
                node = found
            last_steps, last_node = steps, node
        else:
            node = last_node
        if suffix is None:
            node.value = value
            node.has_value = True
        else:
            node.attrs[suffix] = value
    return ctx, root


@lru_cache(maxsize=16384)
def _key_shape(key: str) -> tuple[tuple[tuple[str, int, str], ...], str | None]:
    """A key's steps (:func:`_path_steps`) and its ``|suffix`` (``None`` without ``|``).

    Cached: the documents of one template use the same keys over and over, so splitting a key and
    formatting its node keys happens once per key text, not once per document.
    """
    path, bar, suffix = key.partition("|")
    steps = _path_steps(path)
    if not steps:
        raise FormatError(key, "empty step in FLAT key")
    if bar and not suffix:
        raise FormatError(key, "empty '|' suffix")
    return steps, suffix if bar else None


@lru_cache(maxsize=16384)
def _path_steps(path: str) -> tuple[tuple[str, int, str], ...]:
    """A key path's steps: id, index (0 where none is written) and the node's key text; empty if a step
    is empty. One tuple per path, so that keys of the same node are seen to share it by identity."""
    out = []
    text = ""
    for step in path.split("/"):
        if not step:
            return ()
        name, written = split_step(step)
        index = 0 if written is None else written
        text = f"{text}/{name}:{index}" if text else f"{name}:{index}"
        out.append((name, index, text))
    return tuple(out)


def render_flat(root: FlatNode, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tree (as :func:`parse_flat` builds it, or a writer) back to FLAT keys, ``ctx/`` entries first.

    Children in ``multi`` are written with their index (``any_event:0``), the others without.
    """
    out: dict[str, Any] = {CTX_PREFIX + k: v for k, v in (ctx or {}).items()}

    def emit(node: FlatNode, key: str) -> None:
        if node.has_value:
            out[key] = node.value
        for suffix, value in node.attrs.items():
            out[f"{key}|{suffix}"] = value
        for step, by_index in node.children.items():
            indexed = step in node.multi
            for index in sorted(by_index):
                name = f"{step}:{index}" if indexed or index else step
                emit(by_index[index], f"{key}/{name}" if key else name)

    emit(root, "")
    return out
