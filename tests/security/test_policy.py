"""The policy as a table: who, what is known about the EHR, which request -> allowed or not, and why."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from cdr.security.policy import (
    Access,
    Basis,
    CareRelation,
    ControlKind,
    Decision,
    EhrFacts,
    EmergencyGrant,
    EmergencyRequest,
    PartyKind,
    PatientControl,
    Target,
    TargetKind,
    decide,
)
from cdr.security.principal import AttestedPurpose, AuthMethod, Principal

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
EHR = uuid.UUID("11111111-1111-4111-8111-111111111111")
COMP = uuid.UUID("22222222-2222-4222-8222-222222222222")
PATIENT = "13116900216"
HPR, OTHER_HPR = "9144900", "9144901"
ORG, UNIT, OTHER_ORG = "912159523", "922734046", "974589095"
RESTRICTION_ID = uuid.UUID("33333333-3333-4333-8333-333333333333")


def person(*roles: str, hpr: str | None = HPR, **fields: Any) -> Principal:
    return Principal(
        subject=fields.pop("subject", f"sub-{hpr}"),
        auth_method=AuthMethod.BEARER,
        hpr_number=hpr,
        orgnr_parent=fields.pop("orgnr_parent", ORG),
        orgnr_child=fields.pop("orgnr_child", UNIT),
        roles=frozenset(roles or ("read", "write")),
        **fields,
    )


NURSE = person()
STRANGER = person(hpr=OTHER_HPR, orgnr_parent=OTHER_ORG, orgnr_child=None)
PATIENT_SELF = Principal(
    subject="p", auth_method=AuthMethod.BEARER, pid=PATIENT, roles=frozenset({"patient"})
)
OTHER_PATIENT = Principal(
    subject="q", auth_method=AuthMethod.BEARER, pid="01010150093", roles=frozenset({"patient"})
)
RESEARCHER = person("research", "query", hpr=None)
DEVELOPER = Principal(subject="anonymous", auth_method=AuthMethod.NONE, roles=frozenset({"read", "write"}))
SYSTEM_OF_UNIT = Principal(
    subject="client",
    auth_method=AuthMethod.BEARER,
    orgnr_parent=ORG,
    orgnr_child=UNIT,
    roles=frozenset({"read"}),
)
PURPOSED = person(
    hpr=OTHER_HPR, orgnr_parent=OTHER_ORG, purposes=(AttestedPurpose(code="TREAT", patient_id=PATIENT),)
)
WRONG_PURPOSE = person(
    hpr=OTHER_HPR, orgnr_parent=OTHER_ORG, purposes=(AttestedPurpose(code="TREAT", patient_id="01010150093"),)
)
EMERGENCY = EmergencyRequest(code="AKUTT", text="bevisstløs pasient")


def relation(**fields: Any) -> CareRelation:
    return CareRelation(ehr_id=EHR, valid_from=NOW - HOUR, **fields)


def control(
    kind: ControlKind, party_kind: PartyKind, party: str | None = None, **fields: Any
) -> PatientControl:
    return PatientControl(
        ehr_id=EHR, kind=kind, party_kind=party_kind, party=party, valid_from=NOW - HOUR, **fields
    )


def facts(*items: CareRelation | PatientControl | EmergencyGrant, exists: bool = True) -> EhrFacts:
    return EhrFacts(
        ehr_id=EHR,
        exists=exists,
        subject_id=PATIENT,
        subject_namespace="fnr",
        relations=tuple(i for i in items if isinstance(i, CareRelation)),
        controls=tuple(i for i in items if isinstance(i, PatientControl)),
        grants=tuple(i for i in items if isinstance(i, EmergencyGrant)),
    )


HPR_RELATION = relation(hpr_number=HPR)
UNIT_RELATION = relation(organisation=UNIT)
EXPIRED = relation(hpr_number=HPR, valid_to=NOW - dt.timedelta(minutes=1))
ENDED = relation(hpr_number=HPR, ended_at=NOW - dt.timedelta(minutes=1))
FUTURE = CareRelation(ehr_id=EHR, hpr_number=HPR, valid_from=NOW + HOUR)
BLOCK_NURSE = control(ControlKind.BLOCK, PartyKind.HPR, HPR)
LIFTED_BLOCK = control(ControlKind.BLOCK, PartyKind.HPR, HPR, lifted_at=NOW - HOUR / 2)
BLOCK_PATIENT_PID = control(ControlKind.BLOCK, PartyKind.PID, "01010150093")
RESTRICT_ALL = control(ControlKind.RESTRICTION, PartyKind.EVERYONE, control_id=RESTRICTION_ID)
RESTRICT_UNIT = control(ControlKind.RESTRICTION, PartyKind.UNIT, UNIT, control_id=RESTRICTION_ID)
RESTRICT_OTHER_ORG = control(ControlKind.RESTRICTION, PartyKind.ORGANISATION, OTHER_ORG)
RESTRICT_COMP = control(
    ControlKind.RESTRICTION, PartyKind.EVERYONE, target_kind=TargetKind.COMPOSITION, target=str(COMP)
)
RESTRICT_TEMPLATE = control(
    ControlKind.RESTRICTION, PartyKind.ORGANISATION, ORG, target_kind=TargetKind.TEMPLATE, target="psyk.v1"
)
CONSENT_NURSE = control(ControlKind.CONSENT, PartyKind.HPR, HPR, overrides=RESTRICTION_ID)
CONSENT_OTHER = control(ControlKind.CONSENT, PartyKind.HPR, OTHER_HPR)
GRANT = EmergencyGrant(
    ehr_id=EHR,
    actor_subject=STRANGER.subject,
    reason_code="AKUTT",
    reason_text="x",
    granted_at=NOW - HOUR / 2,
    expires_at=NOW + HOUR / 2,
)
NURSE_GRANT = GRANT.model_copy(update={"actor_subject": NURSE.subject})
OLD_GRANT = GRANT.model_copy(update={"expires_at": NOW - dt.timedelta(seconds=1)})
IN_COMP = Target(composition_id=COMP)
PSYK = Target(composition_id=uuid.uuid4(), template_ids=frozenset({"psyk.v1"}))


def case(
    name: str,
    principal: Principal,
    ehr: EhrFacts,
    expect: str,
    *,
    access: Access = Access.READ,
    target: Target | None = None,
    emergency: EmergencyRequest | None = None,
    flagged: bool = False,
    consented: bool = False,
) -> Any:
    """One row: ``expect`` is "allow <basis>" or "deny <basis>"."""
    verdict, basis = expect.split()
    expected = (verdict == "allow", Basis(basis), flagged, consented)
    return pytest.param(principal, access, ehr, target, emergency, expected, id=name)


CASES = [
    case("no relation", NURSE, facts(), "deny none"),
    case("relation by HPR", NURSE, facts(HPR_RELATION), "allow care_relation"),
    case("relation by unit", NURSE, facts(UNIT_RELATION), "allow care_relation"),
    case("system of the unit", SYSTEM_OF_UNIT, facts(UNIT_RELATION), "allow care_relation"),
    case("someone else's relation", STRANGER, facts(HPR_RELATION, UNIT_RELATION), "deny none"),
    case("expired relation", NURSE, facts(EXPIRED), "deny none"),
    case("ended relation", NURSE, facts(ENDED), "deny none"),
    case("future relation", NURSE, facts(FUTURE), "deny none"),
    case("write with relation", NURSE, facts(HPR_RELATION), "allow care_relation", access=Access.WRITE),
    case(
        "write without the write scope", person("read"), facts(HPR_RELATION), "deny none", access=Access.WRITE
    ),
    case("unknown EHR", NURSE, facts(exists=False), "deny none"),
    case("attested purpose", PURPOSED, facts(), "allow attested_purpose"),
    case("purpose for another patient", WRONG_PURPOSE, facts(), "deny none"),
    case("emergency", STRANGER, facts(), "allow emergency", emergency=EMERGENCY, flagged=True),
    case("emergency without HPR", SYSTEM_OF_UNIT, facts(), "deny none", emergency=EMERGENCY),
    case("live grant", STRANGER, facts(GRANT), "allow emergency", flagged=True),
    case("expired grant", STRANGER, facts(OLD_GRANT), "deny none"),
    case("someone else's grant", NURSE, facts(GRANT), "deny none"),
    case("block", NURSE, facts(HPR_RELATION, BLOCK_NURSE), "deny blocked"),
    case("block beats emergency", NURSE, facts(BLOCK_NURSE), "deny blocked", emergency=EMERGENCY),
    case("block beats a grant", NURSE, facts(NURSE_GRANT, BLOCK_NURSE), "deny blocked"),
    case("block beats consent", NURSE, facts(HPR_RELATION, BLOCK_NURSE, CONSENT_NURSE), "deny blocked"),
    case("lifted block", NURSE, facts(HPR_RELATION, LIFTED_BLOCK), "allow care_relation"),
    case("block by pid", OTHER_PATIENT, facts(BLOCK_PATIENT_PID), "deny blocked"),
    case("restricted towards everyone", NURSE, facts(HPR_RELATION, RESTRICT_ALL), "deny restricted"),
    case("restricted towards the unit", NURSE, facts(HPR_RELATION, RESTRICT_UNIT), "deny restricted"),
    case(
        "restricted towards another org",
        NURSE,
        facts(HPR_RELATION, RESTRICT_OTHER_ORG),
        "allow care_relation",
    ),
    case(
        "consent overrides",
        NURSE,
        facts(HPR_RELATION, RESTRICT_ALL, CONSENT_NURSE),
        "allow care_relation",
        consented=True,
    ),
    case("consent to another", NURSE, facts(HPR_RELATION, RESTRICT_ALL, CONSENT_OTHER), "deny restricted"),
    case(
        "emergency overrides restriction",
        NURSE,
        facts(HPR_RELATION, RESTRICT_ALL),
        "allow emergency",
        emergency=EMERGENCY,
        flagged=True,
    ),
    case(
        "restricted composition: EHR level", NURSE, facts(HPR_RELATION, RESTRICT_COMP), "allow care_relation"
    ),
    case(
        "restricted composition itself",
        NURSE,
        facts(HPR_RELATION, RESTRICT_COMP),
        "deny restricted",
        target=IN_COMP,
    ),
    case(
        "another composition", NURSE, facts(HPR_RELATION, RESTRICT_COMP), "allow care_relation", target=PSYK
    ),
    case(
        "restricted template", NURSE, facts(HPR_RELATION, RESTRICT_TEMPLATE), "deny restricted", target=PSYK
    ),
    case(
        "restricted template, other org",
        STRANGER,
        facts(relation(hpr_number=OTHER_HPR), RESTRICT_TEMPLATE),
        "allow care_relation",
        target=PSYK,
    ),
    case("patient reads own", PATIENT_SELF, facts(RESTRICT_ALL), "allow self"),
    case("patient writes own", PATIENT_SELF, facts(), "deny self", access=Access.WRITE),
    case("another patient", OTHER_PATIENT, facts(), "deny none"),
    case("patient pid without patient scope", person("read", hpr=None, pid=PATIENT), facts(), "deny none"),
    case("researcher", RESEARCHER, facts(UNIT_RELATION), "deny research", emergency=EMERGENCY),
    case("development", DEVELOPER, facts(), "allow development"),
]


@pytest.mark.parametrize(("principal", "access", "ehr", "target", "emergency", "expected"), CASES)
def test_decision(
    principal: Principal,
    access: Access,
    ehr: EhrFacts,
    target: Target | None,
    emergency: EmergencyRequest | None,
    expected: tuple[bool, Basis, bool, bool],
) -> None:
    decision = decide(principal, access, ehr, NOW, target=target, emergency=emergency)
    found = (decision.allowed, decision.basis, decision.emergency, decision.consent_override)
    assert found == expected, decision.reason
    assert decision.patient_id == PATIENT


def test_a_new_emergency_is_to_be_recorded_once() -> None:
    first: Decision = decide(STRANGER, Access.READ, facts(), NOW, emergency=EMERGENCY)
    assert (
        first.new_grant and first.emergency_code == "AKUTT" and first.emergency_text == "bevisstløs pasient"
    )
    again = decide(STRANGER, Access.READ, facts(GRANT), NOW, emergency=EMERGENCY)
    assert again.allowed and not again.new_grant and again.emergency_code == GRANT.reason_code


def test_the_relation_boundary_is_half_open() -> None:
    ends = relation(hpr_number=HPR, valid_to=NOW)
    assert not decide(NURSE, Access.READ, facts(ends), NOW).allowed
    assert decide(NURSE, Access.READ, facts(ends), NOW - dt.timedelta(microseconds=1)).allowed
