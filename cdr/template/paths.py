"""Archetype and template paths: parsing, formatting and resolution against the constraint tree.

A path is a sequence of ``attribute[predicate]`` segments (``/data[at0001]/events[at0006]/time``). Only the
first term of a predicate identifies a constraint node (an at-code or an archetype id); further terms such as
``name/value='x'`` or the OPT shorthand ``, 'x'`` select between data instances and are kept but not used
for resolution. A leading bare predicate (``[openEHR-EHR-COMPOSITION.x.v1]/content``), as OPT annotations
write paths, names the root itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cdr.template.aom import CObject


@dataclass(frozen=True, slots=True)
class PathSegment:
    """One ``attribute[node_id, ...]`` step; ``node_id`` is empty when the step has no predicate."""

    attribute: str
    node_id: str = ""
    predicate: str = ""

    def __str__(self) -> str:
        return f"{self.attribute}[{self.predicate}]" if self.predicate else self.attribute


_NODE_ID = re.compile(r"\s*([^\s,\]]+)")


def _split_segments(path: str) -> list[str]:
    """Split on ``/`` outside brackets and quotes."""
    out: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(path):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "/" and depth == 0:
            out.append(path[start:i])
            start = i + 1
    out.append(path[start:])
    return [s for s in out if s]


def parse_path(path: str) -> tuple[str, list[PathSegment]]:
    """Split a path into (root predicate, segments); the root predicate is empty unless the path starts
    with ``[...]``.

    >>> parse_path("/data[at0001]/events[at0006, 'any']/time")[1][1]
    PathSegment(attribute='events', node_id='at0006', predicate="at0006, 'any'")
    """
    root = ""
    text = path.strip()
    if text.startswith("["):
        end = text.index("]")
        root = _predicate_id(text[1:end])
        text = text[end + 1 :]
    segments = []
    for raw in _split_segments(text):
        if "[" in raw and raw.endswith("]"):
            attr, _, rest = raw.partition("[")
            predicate = rest[:-1]
            segments.append(PathSegment(attr.strip(), _predicate_id(predicate), predicate.strip()))
        else:
            segments.append(PathSegment(raw.strip()))
    return root, segments


def _predicate_id(predicate: str) -> str:
    m = _NODE_ID.match(predicate)
    if m is None:
        return ""
    word = m.group(1)
    return "" if "=" in word or word.startswith(("'", '"')) else word


def format_path(segments: list[PathSegment]) -> str:
    """Segments back to a path string (``/`` for none)."""
    return "/" + "/".join(str(s) for s in segments) if segments else "/"


def child_path(attribute_path: str, node_id: str) -> str:
    """The path of a child node of an attribute: its id as predicate when it has one."""
    return f"{attribute_path}[{node_id}]" if node_id else attribute_path


def attribute_path(object_path: str, attribute: str) -> str:
    """The path of an attribute of the object at ``object_path``."""
    return f"/{attribute}" if object_path == "/" else f"{object_path}/{attribute}"


def find_all_in(root: CObject, path: str) -> list[CObject]:
    """Every node under ``root`` the path selects (several where a step has alternatives)."""
    from cdr.template.aom import CComplexObject

    root_id, segments = parse_path(path)
    if root_id and root_id not in (root.node_id, root.path_id):
        return []
    current: list[CObject] = [root]
    for seg in segments:
        nxt: list[CObject] = []
        for node in current:
            if not isinstance(node, CComplexObject):
                continue
            attr = node.attribute(seg.attribute)
            if attr is None:
                continue
            if seg.node_id:
                nxt.extend(attr.children_by_node_id(seg.node_id))
            else:
                nxt.extend(attr.children)
        current = nxt
        if not current:
            break
    return current


def find_in(root: CObject, path: str) -> CObject | None:
    """The first node the path selects under ``root``, or ``None``."""
    found = find_all_in(root, path)
    return found[0] if found else None
