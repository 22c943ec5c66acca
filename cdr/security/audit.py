"""What they did: the audit record of one access to patient data, its hash chains, and chain verification.

Normen and pasientjournalloven § 16/§ 22 require that every access to a record is logged and that the log can
be trusted; the patient may see it (§ 18). Trust comes from two things: the table is append-only (the store
has no update or delete, and a trigger refuses them), and every record's hash covers its content *and the
previous record's hash in its chain*, so an edited, removed or reordered record breaks its chain at that
position, which :func:`verify_chains` reports. A retention purge removes a prefix of a chain only after
appending a *checkpoint* record to it naming the last purged position and its hash, so the rest still
verifies.

The trail is many chains, not one: each EHR's records are a chain of their own (:func:`chain_of`). An append
holds its chain's head until its transaction commits (that is what keeps positions gap-free and in commit
order), so one chain would let only one audited request commit at a time, whatever the hardware: every read
and write of patient data would queue there, its WAL flush included. With a chain per EHR, requests about
different patients commit side by side, each patient's log verifies on its own, and a trail sharded by EHR
(docs/scale.md) keeps each chain on one shard.

This module is pure: building records and hashing them here, reading and writing them in
:mod:`cdr.storage.audit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from cdr.security.principal import AuthMethod, Principal

GENESIS = "0" * 64
"""The ``prev_hash`` of the first record of a chain that was never purged."""

SYSTEM_CHAINS = 16
"""Records that name no EHR (a population query's, say) go to one of this many chains
numbered ``UUID(int=0)`` ... ``UUID(int=SYSTEM_CHAINS - 1)``, so that they do not queue behind each other
either. ``UUID(int=0)``, the nil UUID, also holds the records written while the trail was one chain."""

LEGACY_CHAIN = uuid.UUID(int=0)
"""The chain of the records written while there was one chain (migration 0007)."""


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


def chain_of(event: AuditEvent) -> uuid.UUID:
    """The chain a new record goes to: its EHR's (so that one patient's log is one chain, in order), else one
    of the :data:`SYSTEM_CHAINS`.

    >>> when, ehr_id = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), uuid.UUID(int=5)
    >>> chain_of(AuditEvent(time=when, operation="ehr:read", ehr_id=ehr_id)) == ehr_id
    True
    """
    if event.ehr_id is not None:
        return event.ehr_id
    return uuid.UUID(int=random.randrange(SYSTEM_CHAINS))  # spreading load, not a secret


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
"""The fields a :func:`record_hash` covers: all of the content, the position (under the name ``seq``, which
was the position while there was one chain) and the previous hash."""


def position_of(row: Mapping[str, Any]) -> int:
    """A record's position in its chain (``position``; a row given without one, as in one chain: ``seq``)."""
    return int(row["position"] if "position" in row else row["seq"])


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


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The UTF-8 JSON text the hashes are taken over: keys sorted, no spaces, non-ASCII as is. That is
    ``json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, which wrote every
    record so far; orjson writes the same bytes for the values a record holds (strings, integers, booleans,
    null, lists of them) ~10x faster, and the standard library takes what orjson refuses."""
    try:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the :data:`HASHED` fields of ``row``: the form of the records
    written in Python before the databases computed :func:`chained_hash`; verification still accepts it.

    >>> row = {"seq": 1, "prev_hash": GENESIS, "operation": "ehr:read", "targets": []}
    >>> record_hash(row) == record_hash(dict(row))
    True
    >>> record_hash(row) != record_hash({**row, "seq": 2})
    True
    """
    content = _canonical({**row, "seq": position_of(row)}, HASHED)
    return hashlib.sha256(canonical_json(content)).hexdigest()


def content_digest(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a record's content (its :class:`AuditEvent` fields, without its
    position and the previous hash): what :func:`chained_hash` binds to a chain position."""
    return hashlib.sha256(canonical_json(_canonical(row, CONTENT))).hexdigest()


def chained_hash(position: int, prev_hash: str, digest: str) -> str:
    """A record's hash, in the form a database can compute while it appends (one statement on PostgreSQL):
    SHA-256 over ``"<position>:<prev_hash>:<content digest>"``. It covers what :func:`record_hash` covers.

    >>> row = {"seq": 1, "prev_hash": GENESIS, "operation": "ehr:read", "targets": []}
    >>> chained_hash(1, GENESIS, content_digest(row)) != chained_hash(2, GENESIS, content_digest(row))
    True
    """
    return hashlib.sha256(f"{position}:{prev_hash}:{digest}".encode()).hexdigest()


def hash_matches(row: Mapping[str, Any]) -> bool:
    """Whether a stored record's ``hash`` is its :func:`chained_hash` or its :func:`record_hash` (both forms
    bind the whole content to the position and the previous hash)."""
    stored = row["hash"]
    if chained_hash(position_of(row), str(row["prev_hash"]), content_digest(row)) == stored:
        return True
    return record_hash(row) == stored


class ChainReport(BaseModel):
    """The result of :func:`verify_chain` (one chain) or :func:`verify_chains` (the trail): ``ok``, how
    many records were checked, and the first break: its ``chain``, its 1-based ``position`` among the chain's
    records given, and the chain position found or expected there (``broken_at``)."""

    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    chains: int | None = None
    heads_digest: str | None = None
    chain: uuid.UUID | None = None
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
    """Check one chain given in position order against its recorded ``head`` (position, hash), if any.

    A record whose content was edited no longer matches its hash; a removed record leaves a gap in the
    positions and a ``prev_hash`` that names a record that is not there; records swapped in order carry
    ``prev_hash`` values that do not match their new predecessors; a removed tail leaves the chain shorter
    than its head.

    >>> verify_chain([], None).ok
    True
    """
    listed = list(rows)
    if head == (0, GENESIS):  # created for a first record that was rolled back: an empty chain
        head = None
    expected, expected_prev = _anchor(listed)
    expected += 1

    def broken(position: int, found: int | None, reason: str) -> ChainReport:
        return ChainReport(ok=False, checked=position - 1, broken_at=found, position=position, reason=reason)

    last: tuple[int, str] | None = None
    for position, row in enumerate(listed, 1):
        found = position_of(row)
        if found != expected:
            return broken(
                position, found, f"expected position {expected}, found {found}: a record is missing"
            )
        if row["prev_hash"] != expected_prev:
            return broken(
                position, found, "prev_hash does not match the previous record: removed or reordered"
            )
        if not hash_matches(row):
            return broken(position, found, "the record does not match its hash: it was edited")
        expected, expected_prev = found + 1, str(row["hash"])
        last = (found, str(row["hash"]))
    if head is not None and last != head:
        where = "no records" if last is None else f"position {last[0]}"
        return broken(
            len(listed) + 1, head[0], f"the chain ends at {where} but its head is position {head[0]}"
        )
    if head is None and last is not None:
        return broken(len(listed) + 1, None, "the chain has records but no head")
    return ChainReport(
        ok=True,
        checked=len(listed),
        head_seq=None if last is None else last[0],
        head_hash=None if last is None else last[1],
    )


def heads_digest(heads: Mapping[uuid.UUID, tuple[int, str]]) -> str:
    """One SHA-256 over every chain's head (chain, position, hash): the line to keep outside the database.

    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> heads_digest({a: (3, "x"), b: (1, "y")}) == heads_digest({b: (1, "y"), a: (3, "x")})
    True
    """
    text = ";".join(f"{chain}:{position}:{hash_}" for chain, (position, hash_) in sorted(heads.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def verify_chains(
    rows: Iterable[Mapping[str, Any]], heads: Mapping[uuid.UUID, tuple[int, str]]
) -> ChainReport:
    """:func:`verify_chain` for every chain: ``rows`` in (chain, position) order, ``heads`` by chain. A chain
    with a head but no records left, or with records but no head, is broken too. The first break is
    reported, with its chain; ``checked`` counts the records of the chains before it as well.

    >>> verify_chains([], {}).ok
    True
    """
    checked, seen = 0, set[uuid.UUID]()
    given = ((chain, list(group)) for chain, group in itertools.groupby(rows, key=lambda r: r["chain"]))
    headless: Iterator[tuple[uuid.UUID, list[Mapping[str, Any]]]] = ((chain, []) for chain in sorted(heads))
    for chain, group in itertools.chain(given, headless):
        if chain in seen:
            if group:
                raise ValueError(f"the records of chain {chain} are not given together")
            continue
        seen.add(chain)
        report = verify_chain(group, heads.get(chain))
        if not report.ok:
            return report.model_copy(update={"chain": chain, "checked": checked + report.checked})
        checked += report.checked
    return ChainReport(ok=True, checked=checked, chains=len(seen), heads_digest=heads_digest(heads))
