"""May they: one decision function for every access to patient data, REST and AQL alike.

Norwegian law gives health personnel access to a patient's record only as their duty requires ("tjenstlig
behov", helsepersonelloven § 45, pasientjournalloven § 19), lets the patient restrict information and block
named personnel (§ 17), lets personnel break the glass in an emergency (akutt/nødrett, § 7) if that is
flagged and followed up, and lets the patient read their own record and its access log (§ 18). :func:`decide`
turns those rules into one pure function of the caller, the action and the facts about one EHR
(:class:`EhrFacts`, loaded by :mod:`cdr.storage.access_control`), so that the same rules can be tested as a
table and applied by REST now and by AQL later (see :mod:`cdr.security.query_scope`).

The order of the rules matters and is the policy:

1. researchers never read EHR-level data (no raw identities);
2. a **block** of the caller (HPR number or national id) denies, and nothing overrides it, not even an
   emergency;
3. the patient reads their own EHR (``patient`` area and ``pid`` equal to the EHR's subject id);
4. with authentication off (loopback development) everything is allowed, and marked so;
5. otherwise a *basis* is needed: an active care relation (person by HPR number, or the caller's organisation
   or unit), a purpose attested in the token for this patient, or emergency access (a reason sent now, or a
   grant from an earlier emergency request that has not expired);
6. a **restriction** that applies to the caller (everyone, their organisation or unit; the whole EHR or the
   composition or template asked for) denies unless a consent covers the caller or the access is an
   emergency.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from cdr.security.principal import AuthMethod, Principal

EMERGENCY_GRANT_MINUTES = 60
"""How long an emergency grant lasts unless configured otherwise (``CDR_EMERGENCY_MINUTES``)."""


class Access(StrEnum):
    """What the caller does with the patient data, as far as the policy cares."""

    READ = "read"
    WRITE = "write"


class Area(StrEnum):
    """The roles a principal holds, named after :class:`cdr.security.scopes.ApiArea` values."""

    READ = "read"
    WRITE = "write"
    PATIENT = "patient"
    RESEARCH = "research"
    ADMIN = "admin"


class Basis(StrEnum):
    """Why an access was allowed (or, for ``NONE``/``BLOCKED``/..., what was missing)."""

    SELF = "self"
    CARE_RELATION = "care_relation"
    PURPOSE = "attested_purpose"
    EMERGENCY = "emergency"
    DEVELOPMENT = "development"
    NONE = "none"
    BLOCKED = "blocked"
    RESTRICTED = "restricted"
    RESEARCH = "research"


class PartyKind(StrEnum):
    """Who a restriction is towards, or who a block or consent names."""

    EVERYONE = "everyone"
    ORGANISATION = "organisation"  # orgnr_parent: the legal entity
    UNIT = "unit"  # orgnr_child: the sub-unit (behandlingssted, avdeling)
    HPR = "hpr"  # a health professional by HPR number
    PID = "pid"  # a person by national id


class TargetKind(StrEnum):
    EHR = "ehr"
    COMPOSITION = "composition"
    TEMPLATE = "template"


class ControlKind(StrEnum):
    RESTRICTION = "restriction"
    BLOCK = "block"
    CONSENT = "consent"


def _active(
    valid_from: dt.datetime, valid_to: dt.datetime | None, ended: dt.datetime | None, now: dt.datetime
) -> bool:
    end = min((t for t in (valid_to, ended) if t is not None), default=None)
    return valid_from <= now and (end is None or now < end)


class CareRelation(BaseModel):
    """A care relation: a health professional (HPR number) or an organisation/unit may read an EHR within a
    validity period. Ending it early sets ``ended_at``; nothing is deleted."""

    model_config = ConfigDict(frozen=True)

    relation_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    ehr_id: uuid.UUID
    hpr_number: str | None = None
    organisation: str | None = None
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    created_by: str = ""
    reason: str | None = None

    def active(self, now: dt.datetime) -> bool:
        return _active(self.valid_from, self.valid_to, self.ended_at, now)

    def covers(self, principal: Principal) -> bool:
        if self.hpr_number is not None and self.hpr_number == principal.hpr_number:
            return True
        orgs = {principal.orgnr_parent, principal.orgnr_child} - {None}
        return self.organisation is not None and self.organisation in orgs


class PatientControl(BaseModel):
    """A restriction (towards a party, of a target), a block (of a person) or a consent (to a party,
    overriding one restriction or all of them), in force in a validity period until lifted."""

    model_config = ConfigDict(frozen=True)

    control_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    ehr_id: uuid.UUID
    kind: ControlKind
    target_kind: TargetKind | None = None
    target: str | None = None
    party_kind: PartyKind
    party: str | None = None
    overrides: uuid.UUID | None = None
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    lifted_at: dt.datetime | None = None
    created_by: str = ""
    note: str | None = None

    def active(self, now: dt.datetime) -> bool:
        return _active(self.valid_from, self.valid_to, self.lifted_at, now)

    def names(self, principal: Principal) -> bool:
        """Whether the party of this control is (or includes) ``principal``."""
        match self.party_kind:
            case PartyKind.EVERYONE:
                return True
            case PartyKind.ORGANISATION:
                return self.party is not None and self.party == principal.orgnr_parent
            case PartyKind.UNIT:
                return self.party is not None and self.party == principal.orgnr_child
            case PartyKind.HPR:
                return self.party is not None and self.party == principal.hpr_number
            case PartyKind.PID:
                return self.party is not None and self.party == principal.pid
        return False  # pragma: no cover  (every kind is matched above)

    def covers_target(self, target: Target | None) -> bool:
        """Whether this restriction applies to ``target`` (``None``: the EHR as a whole)."""
        if self.target_kind in (None, TargetKind.EHR):
            return True
        if target is None:
            return False
        if self.target_kind is TargetKind.COMPOSITION:
            return target.composition_id is not None and self.target == str(target.composition_id)
        return self.target is not None and self.target in target.template_ids


class EmergencyGrant(BaseModel):
    """Break-glass access recorded for one actor and EHR, valid until ``expires_at``."""

    model_config = ConfigDict(frozen=True)

    grant_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    ehr_id: uuid.UUID
    actor_subject: str
    actor_hpr: str | None = None
    reason_code: str
    reason_text: str
    granted_at: dt.datetime
    expires_at: dt.datetime

    def active(self, now: dt.datetime) -> bool:
        return self.granted_at <= now < self.expires_at


class EmergencyRequest(BaseModel):
    """The reason a caller sends to break the glass (``X-Cdr-Emergency-Reason-Code`` and ``-Text``)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=2000)


class Target(BaseModel):
    """The composition a request is about, when it is about one: its object id and template ids."""

    model_config = ConfigDict(frozen=True)

    composition_id: uuid.UUID | None = None
    template_ids: frozenset[str] = frozenset()


class EhrFacts(BaseModel):
    """Everything the policy knows about one EHR: whether it exists, its subject, and the access rules."""

    model_config = ConfigDict(frozen=True)

    ehr_id: uuid.UUID
    exists: bool = True
    subject_id: str | None = None
    subject_namespace: str | None = None
    relations: tuple[CareRelation, ...] = ()
    controls: tuple[PatientControl, ...] = ()
    grants: tuple[EmergencyGrant, ...] = ()


class Decision(BaseModel):
    """The answer: allowed or not, on which basis, and what the audit record must flag."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    basis: Basis
    reason: str
    emergency: bool = False
    emergency_code: str | None = None
    emergency_text: str | None = None
    consent_override: bool = False
    purpose: str | None = None
    new_grant: bool = False  # an emergency reason sent now, to be recorded as a grant
    patient_id: str | None = None
    patient_namespace: str | None = None


def _decision(allowed: bool, basis: Basis, reason: str, facts: EhrFacts, **flags: object) -> Decision:
    return Decision.model_validate(
        {
            "allowed": allowed,
            "basis": basis,
            "reason": reason,
            "patient_id": facts.subject_id,
            "patient_namespace": facts.subject_namespace,
            **flags,
        }
    )


def _attested_purpose(principal: Principal, facts: EhrFacts) -> str | None:
    for purpose in principal.purposes:
        if facts.subject_id is not None and purpose.patient_id == facts.subject_id:
            return purpose.describe()
    return None


def _is_self(principal: Principal, facts: EhrFacts) -> bool:
    return (
        Area.PATIENT in principal.roles
        and principal.pid is not None
        and facts.subject_id is not None
        and principal.pid == facts.subject_id
    )


def decide(
    principal: Principal,
    access: Access,
    facts: EhrFacts,
    now: dt.datetime,
    *,
    target: Target | None = None,
    emergency: EmergencyRequest | None = None,
) -> Decision:
    """May ``principal`` ``access`` the EHR described by ``facts`` (and ``target`` in it) at ``now``?

    See the module docstring for the rules and their order; the decision's ``reason`` says which one
    decided, in words fit for the 403 answer and the audit trail.
    """
    if Area.RESEARCH in principal.roles and not (principal.roles & {Area.READ, Area.WRITE, Area.PATIENT}):
        return _decision(False, Basis.RESEARCH, "research access never reads identified EHR data", facts)
    for control in facts.controls:
        if control.kind is ControlKind.BLOCK and control.active(now) and control.names(principal):
            reason = "the patient has blocked this person's access to the record"
            return _decision(False, Basis.BLOCKED, reason, facts)
    if _is_self(principal, facts):
        if access is Access.READ:
            return _decision(True, Basis.SELF, "the patient's own record", facts)
        return _decision(False, Basis.SELF, "patients read their own record but do not write it", facts)
    if principal.auth_method is AuthMethod.NONE:
        return _decision(True, Basis.DEVELOPMENT, "authentication is off (loopback development)", facts)
    needed = Area.READ if access is Access.READ else Area.WRITE
    if needed not in principal.roles:
        reason = f"{access.value} access to EHRs needs the {needed.value} scope"
        return _decision(False, Basis.NONE, reason, facts)
    if not facts.exists:  # the same answer as for an EHR without a basis: no existence oracle
        return _decision(False, Basis.NONE, "no care relation or attested purpose for this patient", facts)
    grant = _active_grant(principal, facts, now)
    restricted = _restrictions(principal, facts, now, target)
    consented = bool(restricted) and all(_consented(principal, facts, now, r) for r in restricted)
    flags: dict[str, object] = {"consent_override": consented}
    relation = next((r for r in facts.relations if r.active(now) and r.covers(principal)), None)
    purpose = _attested_purpose(principal, facts)
    if (relation is not None or purpose is not None) and (not restricted or consented):
        basis = Basis.CARE_RELATION if relation is not None else Basis.PURPOSE
        why = "active care relation" if relation is not None else "purpose attested for this patient"
        chosen = relation.reason if relation is not None else purpose
        return _decision(True, basis, why, facts, purpose=chosen, **flags)
    if grant is not None:
        return _decision(
            True,
            Basis.EMERGENCY,
            "emergency access (grant still valid)",
            facts,
            emergency=True,
            emergency_code=grant.reason_code,
            emergency_text=grant.reason_text,
            **flags,
        )
    if emergency is not None and principal.hpr_number is not None:
        return _decision(
            True,
            Basis.EMERGENCY,
            "emergency access",
            facts,
            emergency=True,
            emergency_code=emergency.code,
            emergency_text=emergency.text,
            new_grant=True,
            **flags,
        )
    if emergency is not None:
        reason = "emergency access is for health personnel (the caller has no HPR number)"
        return _decision(False, Basis.NONE, reason, facts)
    if restricted and not consented and (relation is not None or purpose is not None):
        reason = "the patient has restricted this information (consent or emergency access needed)"
        return _decision(False, Basis.RESTRICTED, reason, facts)
    return _decision(False, Basis.NONE, "no care relation or attested purpose for this patient", facts)


def _active_grant(principal: Principal, facts: EhrFacts, now: dt.datetime) -> EmergencyGrant | None:
    return next(
        (g for g in facts.grants if g.actor_subject == principal.subject and g.active(now)),
        None,
    )


def _restrictions(
    principal: Principal, facts: EhrFacts, now: dt.datetime, target: Target | None
) -> list[PatientControl]:
    return [
        c
        for c in facts.controls
        if c.kind is ControlKind.RESTRICTION
        and c.active(now)
        and c.names(principal)
        and c.covers_target(target)
    ]


def _consented(principal: Principal, facts: EhrFacts, now: dt.datetime, restriction: PatientControl) -> bool:
    return any(
        c.kind is ControlKind.CONSENT
        and c.active(now)
        and c.names(principal)
        and c.overrides in (None, restriction.control_id)
        for c in facts.controls
    )


def restricts_parts(principal: Principal, facts: EhrFacts, now: dt.datetime) -> bool:
    """Whether a composition or template restriction in force names ``principal``: only then can a listing
    of the EHR's compositions (a contribution, the directory) hold something hidden from them."""
    return any(
        c.kind is ControlKind.RESTRICTION
        and c.target_kind in (TargetKind.COMPOSITION, TargetKind.TEMPLATE)
        and c.active(now)
        and c.names(principal)
        for c in facts.controls
    )


def composition_decisions(
    principal: Principal,
    facts: EhrFacts,
    now: dt.datetime,
    compositions: Mapping[uuid.UUID, frozenset[str]],
    *,
    emergency: EmergencyRequest | None = None,
) -> dict[uuid.UUID, Decision]:
    """The read decision for each composition (object id -> its template ids) a listing names.

    A listing (a contribution's versions, the directory's items) shows a composition exactly when reading
    that composition would be allowed: the same :func:`decide`, with the composition as its target, so that
    it cannot reveal the uid of a composition whose GET answers 403; an allowed one may owe that to consent
    or emergency access, which the request's audit record must then flag.
    """
    return {
        composition_id: decide(
            principal,
            Access.READ,
            facts,
            now,
            target=Target(composition_id=composition_id, template_ids=template_ids),
            emergency=emergency,
        )
        for composition_id, template_ids in compositions.items()
    }
