"""Paths on EHR and VERSION variables: columns of ``ehr`` and ``object_version``, objects rebuilt in Python.

``e/ehr_id/value`` is the ``ehr_id`` column (compared as a UUID, so the primary key serves it);
``v/uid/value`` is ``vo_id::system_id::version`` (a literal is split into the three key columns);
``v/commit_audit/...`` reads the audit columns of the version row. ``e/ehr_status/...`` and ``v/data/...``
continue into the EHR_STATUS (latest version) or the version's data as node paths.
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler.binds import LenientUuid
from aql.compiler.scope import Binding, Scope
from aql.compiler.values import ColumnValue, CompositeValue, ScalarValue, Value, iso_instant
from aql.errors import AqlUnsupported
from cdr.numerals import is_digits
from cdr.storage import schema as t
from cdr.storage.records import CHANGE_TYPE, LIFECYCLE_STATE, MAX_VERSION, coded_text, object_ref
from cdr.terminology import codes, rubric

if TYPE_CHECKING:
    from aql.compiler.base import Compiler


def _hier_id(value: Any) -> dict[str, Any] | None:
    return None if value is None else {"_type": "HIER_OBJECT_ID", "value": str(value)}


def _uuid(value: Any) -> str | None:
    """A uuid column's value in its canonical text (SQLite hands the column over as 32 hex digits)."""
    return None if value is None else str(uuid.UUID(str(value)))


def _uuid_ref(value: Any, kind: str) -> dict[str, Any] | None:
    text = _uuid(value)
    return None if text is None else object_ref(text, kind)


def _dv_date_time(value: Any) -> dict[str, Any] | None:
    return None if value is None else {"_type": "DV_DATE_TIME", "value": iso_instant(value)}


class ObjectPathMixin:
    """EHR and VERSION variables."""

    # ------------------------------------------------------------------------------------------- EHR

    def ehr_path(self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...], scope: Scope) -> Value:
        e = binding.table
        names = tuple(s.attribute for s in steps)
        if any(s.predicate is not None for s in steps[:1]):
            raise AqlUnsupported("predicates on EHR attributes")
        if not names:
            return CompositeValue(
                [e.c.ehr_id, e.c.system_id, e.c.time_created, e.c.ehr_status_id, e.c.directory_id],
                _ehr_object,
                description="an EHR",
            )
        if names[:1] == ("ehr_status",) or names[:1] == ("directory",):
            kind = "EHR_STATUS" if names[0] == "ehr_status" else "FOLDER"
            status = self._implicit_root(binding, kind, scope)
            return self.node_path(status, steps[1:], scope)
        if names == ("ehr_id", "value"):
            return self.uuid_value(e.c.ehr_id, "an EHR id")
        if names == ("ehr_id",):
            return CompositeValue([e.c.ehr_id], lambda v: _hier_id(_uuid(v[0])))
        if names == ("system_id", "value"):
            return ColumnValue(e.c.system_id, "text", text=e.c.system_id)
        if names == ("system_id",):
            return CompositeValue([e.c.system_id], lambda v: _hier_id(v[0]))
        if names == ("time_created", "value"):
            return ColumnValue(e.c.time_created, "instant", render=iso_instant)
        if names == ("time_created",):
            return CompositeValue([e.c.time_created], lambda v: _dv_date_time(v[0]))
        return self.null_value()

    def _implicit_root(self: Compiler, binding: Binding, kind: str, scope: Scope) -> Binding:
        key = ("implicit", binding.variable, kind)
        if key in scope.cache:
            return scope.cache[key]
        n = t.node.alias(self.alias_name("s"))
        ov = t.object_version.alias(self.alias_name("v"))
        unit = n.join(
            ov,
            sa.and_(
                ov.c.ehr_id == n.c.ehr_id,
                ov.c.vo_id == n.c.vo_id,
                ov.c.version == n.c.version,
                ov.c.latest == sa.true(),
            ),
        )
        id_column = binding.table.c.ehr_status_id if kind == "EHR_STATUS" else binding.table.c.directory_id
        scope.add_path(
            unit,
            sa.and_(n.c.ehr_id == binding.table.c.ehr_id, n.c.vo_id == id_column, n.c.num == 0),
        )
        implicit = Binding(f"{binding.variable}/{kind}", kind, "node", n, ov=ov, walk_type=kind, root=True)
        scope.cache[key] = implicit
        return implicit

    def uuid_value(self: Compiler, column: Any, description: str) -> ColumnValue:
        value = ColumnValue(
            column,
            "uuid",
            render=lambda v: str(uuid.UUID(str(v))),
            text=self.uuid_text(column),
            description=description,
        )

        def compare(op: str, scalar: Any) -> Any:
            if op not in ("=", "!="):
                return None
            bound = self.binds.bind(scalar, type_=LenientUuid())
            return column == bound if op == "=" else column != bound

        value.compare_hook = compare
        return value

    # --------------------------------------------------------------------------------------- VERSION

    def version_path(
        self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...], scope: Scope
    ) -> Value:
        v = binding.table
        names = tuple(s.attribute for s in steps)
        if names[:1] == ("data",):
            data = Binding(f"{binding.variable}/data", "LOCATABLE", "node", None, ov=v, walk_type="LOCATABLE")
            key = ("version-data", binding.variable)
            if key not in scope.cache:
                n = t.node.alias(self.alias_name("d"))
                scope.add_path(
                    n,
                    sa.and_(
                        n.c.ehr_id == v.c.ehr_id,
                        n.c.vo_id == v.c.vo_id,
                        n.c.version == v.c.version,
                        n.c.num == 0,
                    ),
                )
                scope.cache[key] = n
            data.table, data.root = scope.cache[key], True
            return self.node_path(data, steps[1:], scope)
        audit_columns = [v.c.system_id, v.c.time_committed, v.c.change_type, v.c.committer, v.c.description]
        if names == ():
            columns = [
                v.c.vo_id, v.c.system_id, v.c.version, v.c.contribution_id, v.c.time_committed,
                v.c.change_type,
                v.c.committer, v.c.description, v.c.preceding_version_uid, v.c.lifecycle_state, v.c.data,
            ]  # fmt: skip
            return CompositeValue(columns, lambda r: _version_object(self, r), description="a VERSION")
        if names == ("uid", "value"):
            return self.version_uid_value(v)
        if names == ("uid",):
            return CompositeValue(
                [v.c.vo_id, v.c.system_id, v.c.version],
                lambda r: {"_type": "OBJECT_VERSION_ID", "value": f"{_uuid(r[0])}::{r[1]}::{r[2]}"},
            )
        if names == ("commit_audit",):
            return CompositeValue(audit_columns, _audit_object, description="an AUDIT_DETAILS")
        if names[:1] == ("commit_audit",):
            return self._audit_path(v, names[1:])
        if names == ("contribution",):
            return CompositeValue([v.c.contribution_id], lambda r: _uuid_ref(r[0], "CONTRIBUTION"))
        if names == ("contribution", "id", "value"):
            return self.uuid_value(v.c.contribution_id, "a contribution id")
        if names == ("contribution", "namespace"):
            return self.constant_value("local")
        if names == ("contribution", "type"):
            return self.constant_value("CONTRIBUTION")
        if names == ("preceding_version_uid", "value"):
            return ColumnValue(v.c.preceding_version_uid, "text", text=v.c.preceding_version_uid)
        if names[:1] == ("lifecycle_state",):
            return self._coded_column(v.c.lifecycle_state, LIFECYCLE_STATE, names[1:])
        return self.null_value()

    def version_uid_value(self: Compiler, v: Any) -> ColumnValue:
        text = self.uuid_text(v.c.vo_id) + "::" + v.c.system_id + "::" + sa.cast(v.c.version, sa.String)
        value = ColumnValue(text, "text", text=text, description="a version uid")

        def compare(op: str, scalar: Any) -> Any:
            if op != "=" or scalar.is_list:
                return None
            vo = self.binds.bind(scalar, lambda s: uid_part(s, 0, whole=True), LenientUuid())
            system = self.binds.bind(scalar, lambda s: uid_part(s, 1, whole=True))
            version = self.binds.bind(scalar, lambda s: uid_part(s, 2, whole=True), sa.Integer())
            return sa.and_(v.c.vo_id == vo, v.c.system_id == system, v.c.version == version)

        value.compare_hook = compare
        return value

    def _audit_path(self: Compiler, v: Any, names: tuple[str, ...]) -> Value:
        if names == ("time_committed", "value"):
            return ColumnValue(v.c.time_committed, "instant", render=iso_instant)
        if names == ("time_committed",):
            return CompositeValue([v.c.time_committed], lambda r: _dv_date_time(r[0]))
        if names == ("system_id",):
            return ColumnValue(v.c.system_id, "text", text=v.c.system_id)
        if names[:1] == ("change_type",):
            return self._coded_column(v.c.change_type, CHANGE_TYPE, names[1:])
        if names == ("description",):
            return CompositeValue(
                [v.c.description], lambda r: None if r[0] is None else {"_type": "DV_TEXT", "value": r[0]}
            )
        if names == ("description", "value"):
            return ColumnValue(v.c.description, "text", text=v.c.description)
        if names[:1] == ("committer",):
            return self.json_column_path(v.c.committer, names[1:])
        return self.null_value()

    def _coded_column(self: Compiler, column: Any, group: str, names: tuple[str, ...]) -> Value:
        """An openEHR-coded column (change type, lifecycle state) as EHRbase shows it: the DV_CODED_TEXT
        with its rubric as ``value`` (and, for a change type, as the code phrase's ``preferred_term``)."""
        if names == ():
            return CompositeValue([column], lambda r: None if r[0] is None else _coded(r[0], group))
        if names in (("value",), ("defining_code", "preferred_term")):
            whens = [(column == code, sa.literal(rubric(code, group) or code)) for code in codes(group)]
            text = sa.case(*whens, else_=column)
            return ColumnValue(text, "text", text=text)
        if names == ("defining_code", "code_string"):
            return ColumnValue(column, "text", text=column)
        if names == ("defining_code", "terminology_id", "value"):
            return self.constant_value("openehr")
        if names == ("defining_code",):
            return CompositeValue([column], lambda r: _coded(r[0], group)["defining_code"])
        return self.null_value()

    def constant_value(self: Compiler, text: str) -> Value:
        return ScalarValue({"text": sa.literal(text)}, "text")


def uid_part(value: Any, index: int, *, whole: bool = False) -> Any:
    """Part ``index`` of ``object_id::system_id::version``: a UUID, the system id or the version number; None
    where absent or empty (with ``whole``, unless the value has all three parts).

    A version part that names no version (``abc``, ``-1``, ``²``, beyond the stores' 32-bit numbers) is 0,
    which no version has: such a uid matches nothing, where None would match any version.

    >>> uid_part("x::s::2", 2), uid_part("x::s::²", 2), uid_part("x::s::", 2), uid_part("x::s", 2, whole=True)
    (2, 0, None, None)
    """
    parts = str(value).split("::")
    if whole and len(parts) != 3:
        return None
    part = parts[index] if index < len(parts) else ""
    if index == 0:
        try:
            return uuid.UUID(part)
        except ValueError:
            return None
    if not part:
        return None
    if index == 2:
        return int(part) if is_digits(part) and int(part) <= MAX_VERSION else 0
    return part


def _coded(code: str, group: str) -> dict[str, Any]:
    """:func:`coded_text`; a change type also has its rubric as ``defining_code/preferred_term`` (EHRbase's
    commit audit shape)."""
    doc = coded_text(code, group)
    if group == CHANGE_TYPE:
        doc["defining_code"]["preferred_term"] = doc["value"]
    return doc


def _ehr_object(r: Sequence[Any]) -> dict[str, Any]:
    ehr_id, system_id, time_created, status_id, directory_id = r
    doc: dict[str, Any] = {
        "_type": "EHR",
        "system_id": _hier_id(system_id),
        "ehr_id": _hier_id(_uuid(ehr_id)),
        "ehr_status": _uuid_ref(status_id, "EHR_STATUS"),
        "time_created": _dv_date_time(time_created),
    }
    if directory_id is not None:
        doc["directory"] = _uuid_ref(directory_id, "FOLDER")
    return {k: v for k, v in doc.items() if v is not None}


def _audit_object(r: Sequence[Any]) -> dict[str, Any]:
    system_id, time_committed, change_type, committer, description = r
    doc: dict[str, Any] = {
        "_type": "AUDIT_DETAILS",
        "system_id": system_id,
        "time_committed": _dv_date_time(time_committed),
        "change_type": _coded(change_type, CHANGE_TYPE),
        "committer": committer,
    }
    if description is not None:
        doc["description"] = {"_type": "DV_TEXT", "value": description}
    return doc


def _version_object(compiler: Compiler, r: Sequence[Any]) -> dict[str, Any]:
    vo_id, system_id, version, contribution_id, time_committed, change_type = r[:6]
    committer, description, preceding, lifecycle, data = r[6:]
    doc: dict[str, Any] = {
        "_type": "ORIGINAL_VERSION",
        "contribution": _uuid_ref(contribution_id, "CONTRIBUTION"),
        "commit_audit": _audit_object([system_id, time_committed, change_type, committer, description]),
        "uid": {"_type": "OBJECT_VERSION_ID", "value": f"{_uuid(vo_id)}::{system_id}::{version}"},
    }
    if data is not None:
        doc["data"] = compiler.decode_json(data)
    if preceding is not None:
        doc["preceding_version_uid"] = {"_type": "OBJECT_VERSION_ID", "value": preceding}
    doc["lifecycle_state"] = coded_text(lifecycle, LIFECYCLE_STATE)
    return doc
