"""Data paths of RM nodes, built lazily: the walker records where it is, text is made only for issues.

The rule (one, applied everywhere):

* a LOCATABLE is addressed by its ``archetype_node_id`` (an at-code, or an archetype id at archetype roots):
  ``/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]``;
* when another member of the same container has the same node id, ``and name/value='...'`` is added:
  ``/items[at0004 and name/value='Systolic']``; if the name does not tell them apart either, the 1-based
  position among those equal siblings follows, XPath style: ``/items[at0004 and name/value='x'][2]``;
* any other object is addressed by its attribute name, plus the 1-based index ``[n]`` when its container
  holds more than one member: ``/other_participations[2]``, ``/value/defining_code``;
* the root object is ``/``.
"""

from __future__ import annotations

from typing import Any


class DataPath:
    """One step from the parent's path; rendered (and cached) on demand by :meth:`text`."""

    __slots__ = ("_text", "attribute", "container", "obj", "parent")

    def __init__(
        self, parent: DataPath | None, attribute: str, obj: Any = None, container: list[Any] | None = None
    ) -> None:
        self.parent = parent
        self.attribute = attribute
        self.obj = obj
        self.container = container
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            base = self.parent.text() if self.parent is not None else ""
            self._text = (
                f"{'' if base == '/' else base}/{self.attribute}{_predicate(self.obj, self.container)}"
            )
        return self._text

    def child(self, attribute: str, obj: Any = None, container: list[Any] | None = None) -> DataPath:
        return DataPath(self, attribute, obj, container)

    def __str__(self) -> str:
        return self.text()


def render(path: DataPath | None) -> str:
    """The text of a path; ``/`` for the root."""
    return "/" if path is None else path.text()


def child(
    parent: DataPath | None, attribute: str, obj: Any = None, container: list[Any] | None = None
) -> DataPath:
    """The path of ``obj`` (a member of ``container`` when the attribute is multiple) below ``parent``."""
    return DataPath(parent, attribute, obj, container)


def _node_id(obj: Any) -> str | None:
    d = getattr(obj, "__dict__", None)
    if d is None:
        return None
    node_id = d.get("archetype_node_id")
    return node_id if isinstance(node_id, str) else None


def _name(obj: Any) -> str | None:
    name = getattr(obj, "__dict__", {}).get("name")
    value = getattr(name, "__dict__", {}).get("value") if name is not None else None
    return value if isinstance(value, str) else None


def quote(text: str) -> str:
    """A string literal for a path predicate (single quotes, inner quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def name_predicate(node_id: str, name: str | None) -> str:
    """``[at0004 and name/value='x']`` (or ``[at0004]`` without a name)."""
    return f"[{node_id} and name/value={quote(name)}]" if name is not None else f"[{node_id}]"


def _predicate(obj: Any, container: list[Any] | None) -> str:
    if obj is None:
        return ""
    node_id = _node_id(obj)
    if node_id is None:  # not a LOCATABLE
        if container is None or len(container) < 2:
            return ""
        return f"[{_index_of(obj, container) + 1}]"
    if container is None or len(container) < 2:
        return f"[{node_id}]"
    same_id = [o for o in container if _node_id(o) == node_id]
    if len(same_id) < 2:
        return f"[{node_id}]"
    name = _name(obj)
    same_name = [o for o in same_id if _name(o) == name]
    text = name_predicate(node_id, name)
    if len(same_name) < 2:
        return text
    return f"{text}[{_index_of(obj, same_name) + 1}]"


def _index_of(obj: Any, items: list[Any]) -> int:
    for i, o in enumerate(items):
        if o is obj:
            return i
    return 0


def missing_node_path(
    parent: DataPath | None, attribute: str, node_id: str, name: str | None, ambiguous: bool
) -> str:
    """The path a required node would have had (for issues about nodes that are absent)."""
    base = render(parent)
    predicate = name_predicate(node_id, name) if ambiguous else (f"[{node_id}]" if node_id else "")
    return f"{'' if base == '/' else base}/{attribute}{predicate}"
