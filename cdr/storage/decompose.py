"""Decomposition of versioned data into node rows, and its inverse.

:func:`decompose` turns a COMPOSITION (or EHR_STATUS, FOLDER: any LOCATABLE) into one :class:`NodeRow` per
LOCATABLE in its tree, in preorder. Each row knows:

* its place: ``num`` (preorder, root 0), ``last_num`` (its last descendant), ``parent_num``; "B is inside A"
  is ``A.num < B.num <= A.last_num`` (a nested set), which is how AQL CONTAINS becomes an indexed range check;
* its AQL paths: ``path`` from the root (``/content[openEHR-EHR-OBSERVATION.bp.v1]/data[at0001]``) and
  ``archetype_path`` from the nearest archetype root at or above it (``archetype_id``), which is how a
  path inside ``OBSERVATION o[...]`` is found without walking up the tree;
* ``json_path``: where it sits in the canonical JSON, as an SQL/JSON path (``$.content[0].data``) that both
  PostgreSQL (``jsonb_path_query_first``) and SQLite (``json_extract``) evaluate;
* ``data``: the node's canonical JSON without its LOCATABLE descendants (they are rows of their own); and
* its typed leaf value (:mod:`cdr.storage.leaf_values`).

:func:`assemble` puts the rows back together into the canonical JSON they came from, so
``assemble(decompose(x)) == to_json(x)``: nothing is lost in the node rows.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cdr.errors import FormatError
from cdr.formats.canonical_json import to_json
from cdr.memo import StringMemo
from cdr.rm.base import RM_TYPES, RMObject, is_rm_subtype, rm_fields
from cdr.storage.leaf_values import LeafValue, leaf_value
from cdr.storage.schema import ID

JsonObject = dict[str, Any]

LOCATABLE_TYPES = frozenset(name for name in RM_TYPES if is_rm_subtype(name, "LOCATABLE"))


def _sealed_types() -> frozenset[str]:
    """The RM types whose values can hold no LOCATABLE at any depth, whatever subtypes their attributes take
    (DV_TEXT, CODE_PHRASE, PARTY_PROXY, ...): a fixed point over the attributes' declared types."""
    classes = dict(RM_TYPES)
    may_hold = set(LOCATABLE_TYPES)
    changed = True
    while changed:
        changed = False
        for name, cls in classes.items():
            if name in may_hold:
                continue
            for f in rm_fields(cls):
                if f.is_object and any(issubclass(classes[held], f.target) for held in may_hold):
                    may_hold.add(name)
                    changed = True
                    break
    return frozenset(classes) - may_hold


_SEALED = _sealed_types()
_ARCHETYPE_ID = re.compile(r"^[A-Za-z][\w]*-[A-Za-z][\w]*-[A-Za-z][\w]*\.[\w-]+(\.[\w-]+)*\.v\d")
_is_archetype_id = StringMemo(lambda text: _ARCHETYPE_ID.match(text) is not None)


@dataclass(slots=True, init=False)
class NodeRow:
    """One LOCATABLE of a version's data, as stored in the ``node`` table (without the version key).

    The ``__init__`` is written out: the one dataclasses generates runs as interpreted Python even when this
    module is compiled (~2% of a commit's CPU, one row per LOCATABLE)."""

    num: int
    last_num: int
    parent_num: int | None
    rm_type: str
    archetype_node_id: str
    archetype_id: str | None
    name: str | None
    path: str
    archetype_path: str
    json_path: str
    data: JsonObject
    value: LeafValue | None

    def __init__(
        self,
        num: int,
        last_num: int,
        parent_num: int | None,
        rm_type: str,
        archetype_node_id: str,
        archetype_id: str | None,
        name: str | None,
        path: str,
        archetype_path: str,
        json_path: str,
        data: JsonObject,
        value: LeafValue | None = None,
    ) -> None:
        self.num = num
        self.last_num = last_num
        self.parent_num = parent_num
        self.rm_type = rm_type
        self.archetype_node_id = archetype_node_id
        self.archetype_id = archetype_id
        self.name = name
        self.path = path
        self.archetype_path = archetype_path
        self.json_path = json_path
        self.data = data
        self.value = value

    def columns(self) -> dict[str, Any]:
        """The row's ``node`` column values (the typed value spread out)."""
        row = {name: getattr(self, name) for name in _COLUMNS}
        value = self.value  # its fields are scalars: no deep copy (dataclasses.asdict) needed
        row.update((name, None if value is None else getattr(value, name)) for name in _VALUE_COLUMNS)
        return row

    def copy_line(self, dumps: Callable[[JsonObject], str]) -> str:
        """The row's values in :data:`NODE_COLUMNS` order as one line of ``COPY``'s text format
        (tab-separated, ``\\N`` for NULL, without the line's end); ``data`` written by ``dumps``.

        Built here, compiled, the text of a Corona_Anamnese commit's 80 rows costs ~0.65 M instructions fewer
        than psycopg's ``write_row`` per row (C formatting, but a dumper look-up and call per value)."""
        value = self.value
        parent = self.parent_num
        line = "\t".join(
            (
                str(self.num),
                str(self.last_num),
                _NULL if parent is None else str(parent),
                _copy_text(self.rm_type),
                _copy_text(self.archetype_node_id),
                _copy_optional(self.archetype_id),
                _copy_optional(self.name),
                _copy_text(self.path),
                _copy_text(self.archetype_path),
                _copy_text(self.json_path),
                _copy_text(dumps(self.data)),
            )
        )
        if value is None:
            return line + _NO_VALUE_LINE
        number, moment = value.num_value, value.time_value
        return "\t".join(
            (
                line,
                _copy_text(value.value_type),
                _NULL if number is None else str(number),
                _copy_optional(value.text_value),
                _copy_optional(value.code_string),
                _copy_optional(value.terminology),
                _copy_optional(value.units),
                _NULL if moment is None else moment.isoformat(),
            )
        )


_COLUMNS = (
    "num",
    "last_num",
    "parent_num",
    "rm_type",
    "archetype_node_id",
    "archetype_id",
    "name",
    "path",
    "archetype_path",
    "json_path",
    "data",
)
_VALUE_COLUMNS = tuple(LeafValue.__dataclass_fields__)
NODE_COLUMNS = (*_COLUMNS, *_VALUE_COLUMNS)
"""The ``node`` columns of a row besides the version key, in the order of :meth:`NodeRow.copy_line`."""
_NULL = "\\N"
_NO_VALUE_LINE = "\t" + "\t".join((_NULL,) * len(_VALUE_COLUMNS))


def _copy_text(value: str) -> str:
    """``value`` as COPY's text format writes it: backslash, tab, new line and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_optional(value: str | None) -> str:
    return _NULL if value is None else _copy_text(value)


def copy_text(rows: Sequence[NodeRow], ahead: str, dumps: Callable[[JsonObject], str]) -> str:
    """``rows`` as ``COPY`` text, each line starting with ``ahead`` (the version key's columns, each
    followed by a tab) and ending with a new line."""
    return "".join([ahead + row.copy_line(dumps) + "\n" for row in rows])


def is_archetype_root(node: JsonObject) -> bool:
    """Whether a LOCATABLE's canonical JSON is an archetype root (archetype details, or an archetype id)."""
    if node.get("archetype_details") is not None:
        return True
    anid = node.get("archetype_node_id")
    return isinstance(anid, str) and _is_archetype_id(anid)


def _is_locatable(value: JsonObject) -> bool:
    return value.get("_type") in LOCATABLE_TYPES


def _step(attribute_path: str, node: JsonObject) -> str:
    anid = node.get("archetype_node_id")
    return f"{attribute_path}[{anid}]" if anid else attribute_path


def decompose(data: RMObject | JsonObject) -> list[NodeRow]:
    """The node rows of a LOCATABLE tree, in preorder.

    ``data`` is an RM object or its canonical JSON as :func:`~cdr.formats.canonical_json.to_json` writes it
    (``_type`` on every object); a LOCATABLE is recognised by its ``_type``.

    >>> rows = decompose({"_type": "CLUSTER", "archetype_node_id": "openEHR-EHR-CLUSTER.x.v1",
    ...     "name": {"_type": "DV_TEXT", "value": "x"}, "items": [{"_type": "ELEMENT",
    ...     "archetype_node_id": "at0001", "name": {"_type": "DV_TEXT", "value": "n"},
    ...     "value": {"_type": "DV_COUNT", "magnitude": 3}}]})
    >>> [(r.num, r.last_num, r.path, r.archetype_path, r.json_path) for r in rows]
    [(0, 1, '/', '/', '$'), (1, 1, '/items[at0001]', '/items[at0001]', '$.items[0]')]
    >>> rows[1].value.num_value
    3.0
    """
    doc = to_json(data) if isinstance(data, RMObject) else data
    if not isinstance(doc, dict) or not _is_locatable(doc):
        raise ValueError("decompose needs a LOCATABLE with its _type")
    rows: list[NodeRow] = []
    _visit(doc, rows, None, "/", None, "/", "$")
    return rows


def _visit(
    node: JsonObject,
    rows: list[NodeRow],
    parent: NodeRow | None,
    path: str,
    archetype_id: str | None,
    archetype_path: str,
    json_path: str,
) -> None:
    rm_type = node["_type"]
    archetype_node_id = node.get("archetype_node_id") or ""
    if len(archetype_node_id) > ID:
        # no template bounds it in an EHR_STATUS or FOLDER, and the column and its indexes take ID
        raise FormatError(
            json_pointer(json_path) + "/archetype_node_id",
            f"{len(archetype_node_id)} characters; an archetype_node_id has at most {ID}",
        )
    if is_archetype_root(node):
        archetype_id, archetype_path = archetype_node_id or None, "/"
    children: list[tuple[str, str, JsonObject]] = []
    name = node.get("name")
    row = NodeRow(
        num=len(rows),
        last_num=len(rows),
        parent_num=parent.num if parent is not None else None,
        rm_type=rm_type,
        archetype_node_id=archetype_node_id,
        archetype_id=archetype_id,
        name=name.get("value") if isinstance(name, dict) else None,
        path=path,
        archetype_path=archetype_path,
        json_path=json_path,
        data=_strip(node, "", json_path, children),
        value=leaf_value(rm_type, node),
    )
    rows.append(row)
    base = "" if path == "/" else path
    archetype_base = "" if archetype_path == "/" else archetype_path
    for attribute_path, child_json_path, child in children:
        step = _step(attribute_path, child)
        _visit(child, rows, row, base + step, archetype_id, archetype_base + step, child_json_path)
    row.last_num = len(rows) - 1


def json_pointer(json_path: str) -> str:
    """The JSON pointer of a node's SQL/JSON path, as errors name the spot in the document sent.

    >>> json_pointer("$.content[0].data.events[1]"), json_pointer("$")
    ('/content/0/data/events/1', '')
    """
    return re.sub(r"\[(\d+)\]", r"/\1", json_path[1:]).replace(".", "/")


def _strip(
    obj: JsonObject, attribute_path: str, json_path: str, children: list[tuple[str, str, JsonObject]]
) -> JsonObject:
    """A copy of ``obj`` without the LOCATABLEs below it, which are appended to ``children`` in order.

    Values of a type that can hold no LOCATABLE (data values, codes, ids: most of a composition's JSON)
    are taken as they are, not walked and copied; the rows share them with ``obj``.
    """
    out: JsonObject = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            rm_type = value.get("_type")
            if rm_type in _SEALED:
                out[key] = value
            elif rm_type in LOCATABLE_TYPES:
                children.append((f"{attribute_path}/{key}", f"{json_path}.{key}", value))
            else:
                out[key] = _strip(value, f"{attribute_path}/{key}", f"{json_path}.{key}", children)
        elif isinstance(value, list):
            sub_path, sub_json = f"{attribute_path}/{key}", f"{json_path}.{key}"
            if value and all(isinstance(item, dict) and _is_locatable(item) for item in value):
                children.extend((sub_path, f"{sub_json}[{i}]", item) for i, item in enumerate(value))
            else:
                out[key] = [
                    _strip(item, sub_path, f"{sub_json}[{i}]", children) if isinstance(item, dict) else item
                    for i, item in enumerate(value)
                ]
        else:
            out[key] = value
    return out


_JSON_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def _steps(relative_json_path: str) -> list[str | int]:
    return [key or int(index) for key, index in _JSON_STEP.findall(relative_json_path)]


def assemble(rows: list[NodeRow] | list[dict[str, Any]]) -> JsonObject:
    """The canonical JSON :func:`decompose` split into ``rows`` (rows or ``node`` column dicts, preorder)."""
    placed: dict[int, tuple[str, JsonObject]] = {}
    root: JsonObject | None = None
    for row in rows:
        columns = row.columns() if isinstance(row, NodeRow) else row
        obj = copy.deepcopy(columns["data"])
        placed[columns["num"]] = (columns["json_path"], obj)
        if columns["parent_num"] is None:
            root = obj
            continue
        parent_path, target = placed[columns["parent_num"]]
        _place(target, _steps(columns["json_path"][len(parent_path) :]), obj)
    if root is None:
        raise ValueError("no root row")
    return root


def _place(target: Any, steps: list[str | int], obj: JsonObject) -> None:
    """Put ``obj`` at ``steps`` below ``target`` (lists of LOCATABLEs were removed whole: re-create them)."""
    for i, step in enumerate(steps[:-1]):
        following = steps[i + 1]
        if isinstance(step, int):
            target = target[step]
        elif isinstance(following, int) and i + 1 == len(steps) - 1:
            target.setdefault(step, []).append(obj)
            return
        else:
            target = target.setdefault(step, {}) if isinstance(following, str) else target[step]
    target[steps[-1]] = obj
