"""What they did: the audit record of one access to patient data, its hash chain, and chain verification.

Normen and pasientjournalloven § 16/§ 22 require that every access to a record is logged and that the log can
be trusted; the patient may see it (§ 18). Trust comes from two things: the table is append-only (the store
has no update or delete, and a trigger refuses them), and every record's hash covers its content *and the
previous record's hash*, so an edited, removed or reordered record breaks the chain at that position, which
:func:`verify_chain` reports. A retention purge removes a prefix of the chain only after appending a
*checkpoint* record naming the last purged position and its hash, so the rest still verifies.

This module is pure: building records and hashing them here, reading and writing them in
:mod:`cdr.storage.audit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from cdr.security.principal import AuthMethod, Principal

GENESIS = "0" * 64
"""The ``prev_hash`` of the first record of a chain that was never purged."""


class Outcome(StrEnum):
    SUCCESS = "success"  # allowed, and the request succeeded (or, for writes, committed)
    DENIED = "denied"  # the policy refused
    FAILED = "failed"  # allowed, but the request failed (404, 422, 500 ...)
    CHECKPOINT = "checkpoint"  # not an access: a retention purge's anchor


class AuditEvent(BaseModel):
    """One access to patient data (or a checkpoint): the content a chain position's hash covers."""

    model_config = ConfigDict(frozen=True)

    kind: str = "access"
    time: dt.datetime
    request_id: str | None = None
    actor_subject: str | None = None
    actor_pid: str | None = None
    actor_hpr: str | None = None
    actor_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    orgnr_parent: str | None = None
    orgnr_child: str | None = None
    patient_id: str | None = None
    patient_namespace: str | None = None
    ehr_id: uuid.UUID | None = None
    operation: str
    method: str | None = None
    path: str | None = None
    targets: tuple[str, ...] = ()
    basis: str | None = None
    purpose: str | None = None
    emergency: bool = False
    emergency_code: str | None = None
    emergency_text: str | None = None
    consent_override: bool = False
    outcome: Outcome = Outcome.SUCCESS
    status: int | None = None
    internal: bool = False
    checkpoint_seq: int | None = None
    checkpoint_hash: str | None = None
    ehr_ids: tuple[uuid.UUID, ...] = ()
    """the EHRs an AQL query's result held (stored in ``audit_ehr``, one row each, for the patient's log)"""


def actor_fields(principal: Principal) -> dict[str, Any]:
    """The actor columns of a record: person id, HPR number, name, client and organisation."""
    return {
        "actor_subject": principal.subject,
        "actor_pid": principal.pid,
        "actor_hpr": principal.hpr_number,
        "actor_name": principal.name,
        "client_id": principal.client_id,
        "client_name": principal.client_name,
        "orgnr_parent": principal.orgnr_parent,
        "orgnr_child": principal.orgnr_child,
    }


def is_internal(principal: Principal, patient_id: str | None) -> bool:
    """Whether an access is system-internal, i.e. not shown in the patient's access log.

    Internal: authentication switched off (a developer on loopback), a system acting for no organisation, and
    the patient's own accesses (the log answers "who *else* has seen my record").
    """
    if principal.auth_method is AuthMethod.NONE:
        return True
    if principal.pid is not None and principal.pid == patient_id:
        return True
    return principal.pid is None and principal.hpr_number is None and principal.organisation is None


_AS_IS = frozenset({str, bool, int, float, type(None)})
"""Types whose values are already plain JSON (exactly these: a StrEnum is a str subclass and goes on)."""


def _plain(value: Any) -> Any:
    if value.__class__ in _AS_IS:  # most fields of every audited request: one look-up
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


CONTENT = tuple(AuditEvent.model_fields)
"""The fields of a record's content, in declaration order."""
HASHED = (*CONTENT, "seq", "prev_hash")
"""The fields a record's hash covers: all of its content, its position and the previous hash."""


def _canonical(row: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The hashed fields of ``row`` as plain JSON values. ``ehr_ids`` counts (by :func:`ehr_ids_digest`) only
    when there are any, so that records written before the field existed keep their hashes."""
    content = {name: _plain(row.get(name)) for name in names if name != "ehr_ids"}
    content["targets"] = content["targets"] or []
    ehr_ids = row.get("ehr_ids")
    if ehr_ids:
        content["ehr_ids"] = ehr_ids_digest(ehr_ids)
    return content


def ehr_ids_digest(ehr_ids: Iterable[uuid.UUID]) -> str:
    """SHA-256 over the sorted 16-byte EHR ids a record names: what its hash covers of the list (a population
    query names thousands; their bytes hash several times faster than their text forms).

    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> ehr_ids_digest([a, b]) == ehr_ids_digest([b, a]) != ehr_ids_digest([a])
    True
    """
    return hashlib.sha256(b"".join(sorted({e.bytes for e in ehr_ids}))).hexdigest()


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the :data:`HASHED` fields of ``row`` (a stored or new record).

    >>> row = {"seq": 1, "prev_hash": GENESIS, "operation": "ehr:read", "targets": []}
    >>> record_hash(row) == record_hash(dict(row))
    True
    >>> record_hash(row) != record_hash({**row, "seq": 2})
    True
    """
    content = _canonical(row, HASHED)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a record's content (its :class:`AuditEvent` fields, without its
    position and the previous hash): what :func:`chained_hash` binds to a chain position."""
    content = _canonical(row, CONTENT)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chained_hash(seq: int, prev_hash: str, digest: str) -> str:
    """A record's hash in the form a database can compute while it appends (one statement on PostgreSQL):
    SHA-256 over ``"<seq>:<prev_hash>:<content digest>"``. It covers what :func:`record_hash` covers.

    >>> row = {"seq": 1, "prev_hash": GENESIS, "operation": "ehr:read", "targets": []}
    >>> chained_hash(1, GENESIS, content_digest(row)) != chained_hash(2, GENESIS, content_digest(row))
    True
    """
    return hashlib.sha256(f"{seq}:{prev_hash}:{digest}".encode()).hexdigest()


def hash_matches(row: Mapping[str, Any]) -> bool:
    """Whether a stored record's ``hash`` is its :func:`record_hash` or its :func:`chained_hash` (both forms
    bind the whole content to the position and the previous hash)."""
    stored = row["hash"]
    if record_hash(row) == stored:
        return True
    return chained_hash(int(row["seq"]), str(row["prev_hash"]), content_digest(row)) == stored


class ChainReport(BaseModel):
    """The result of :func:`verify_chain`: ``ok``, how many records were checked, and the first break."""

    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    broken_at: int | None = None
    position: int | None = None
    reason: str | None = None


def _anchor(rows: list[Mapping[str, Any]]) -> tuple[int, str]:
    """Where the remaining chain must start: after the newest checkpoint's purged prefix, else at 1."""
    checkpoints = [r for r in rows if r["kind"] == "checkpoint" and r.get("checkpoint_seq") is not None]
    if not checkpoints:
        return 0, GENESIS
    newest = max(checkpoints, key=lambda r: int(r["checkpoint_seq"]))
    return int(newest["checkpoint_seq"]), str(newest["checkpoint_hash"])


def verify_chain(rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None) -> ChainReport:
    """Check a chain given in ``seq`` order against its recorded ``head`` (seq, hash), if any.

    A record whose content was edited no longer matches its hash; a removed record leaves a gap in ``seq``
    and a ``prev_hash`` that names a record that is not there; records swapped in order carry ``prev_hash``
    values that do not match their new predecessors; a removed tail leaves the chain shorter than its head.
    ``position`` is 1-based in the rows given; ``broken_at`` is the ``seq`` there.

    >>> verify_chain([], None).ok
    True
    """
    listed = list(rows)
    expected_seq, expected_prev = _anchor(listed)
    expected_seq += 1

    def broken(position: int, seq: int | None, reason: str) -> ChainReport:
        return ChainReport(ok=False, checked=position - 1, broken_at=seq, position=position, reason=reason)

    last: tuple[int, str] | None = None
    for position, row in enumerate(listed, 1):
        seq = int(row["seq"])
        if seq != expected_seq:
            return broken(
                position, seq, f"expected position {expected_seq}, found {seq}: a record is missing"
            )
        if row["prev_hash"] != expected_prev:
            return broken(position, seq, "prev_hash does not match the previous record: removed or reordered")
        if not hash_matches(row):
            return broken(position, seq, "the record does not match its hash: it was edited")
        expected_seq, expected_prev = seq + 1, str(row["hash"])
        last = (seq, str(row["hash"]))
    if head is not None and last != head:
        found = "no records" if last is None else f"position {last[0]}"
        return broken(
            len(listed) + 1, head[0], f"the chain ends at {found} but its head is position {head[0]}"
        )
    if head is None and last is not None:
        return broken(len(listed) + 1, None, "the chain has records but no head")
    return ChainReport(
        ok=True,
        checked=len(listed),
        head_seq=None if last is None else last[0],
        head_hash=None if last is None else last[1],
    )
