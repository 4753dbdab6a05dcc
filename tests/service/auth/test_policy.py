"""The access policy: patient context confines whatever else a token holds, people get their
role's scopes, and only the hospital of a stay changes a case. Expected values are written out
from SMART App Launch 2 (scopes-and-launch-context) and issue #10, not from the policy's tables."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import policy
from service.auth.context import AccessContext
from service.auth.scopes import parse_scopes
from service.models import Handoff, Patient, User
from tests.factories import Case
from tests.service.fhir_api.support import World, bearer


def _task_patients(client: Any, token: str) -> set[str]:
    response = client.get("/fhir/R4/Task", query_string={"_count": "100"}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return {e["resource"]["for"]["reference"] for e in response.get_json().get("entry", [])}


def test_mixed_patient_and_user_scopes_see_only_the_launch_patients_tasks(
    client: Any, world: World, mint: Any
) -> None:
    # The issue's attack: `patient/Task.rs user/Patient.rs` for P1 searched other patients' Tasks.
    # The client is carebridge-operated (no organisation), so only the patient context can confine it.
    token = mint(None, "patient/Task.rs user/Patient.rs", patient_id=world.a.patient.id)
    assert _task_patients(client, token) == {f"Patient/{world.a.patient.id}"}
    other_task = client.get(f"/fhir/R4/Task/{world.ids_b['Task']}", headers=bearer(token))
    assert other_task.status_code == 404


def test_system_scope_beside_a_patient_scope_does_not_widen_it(client: Any, world: World, mint: Any) -> None:
    token = mint(None, "patient/Task.rs system/Task.rs", patient_id=world.b.patient.id)
    assert _task_patients(client, token) == {f"Patient/{world.b.patient.id}"}


def test_patient_scope_without_a_patient_confines_to_nobody(session: Session, world: World) -> None:
    ctx = AccessContext("c", "c", None, parse_scopes("patient/Task.rs user/Task.rs"), None)
    visible = session.scalars(select(Handoff.id).where(policy.visible_rows(ctx, "Task"))).all()
    assert visible == []


@pytest.mark.parametrize("resource_type", sorted(policy.MODELS))
def test_a_page_and_a_whole_set_see_the_same_rows(session: Session, world: World, resource_type: str) -> None:
    # The per-row shape (pages, reads by id) is the same rule as the whole-set one (counts, export).
    model, _ = policy.MODELS[resource_type]
    for org in (world.a.hospital, world.a.payer, world.a.snfs[0], world.a.snfs[2]):
        ctx = AccessContext("c", "c", org.id, parse_scopes("system/*.rs"), None)
        whole = session.scalars(select(model.id).where(policy.visible_rows(ctx, resource_type))).all()
        page = session.scalars(select(model.id).where(policy.visible_rows(ctx, resource_type, per_row=True))).all()
        assert sorted(page) == sorted(whole)


def test_a_hospital_page_of_tasks_holds_its_own_patients_only(session: Session, world: World) -> None:
    ctx = AccessContext("c", "c", world.a.hospital.id, parse_scopes("system/*.rs"), None)
    page = select(Handoff.patient_id).where(policy.visible_rows(ctx, "Task", per_row=True))
    assert set(session.scalars(page)) == {world.a.patient.id}


def _user(session: Session, case: Case, role: str, *, org_id: str | None = None, active: bool = True) -> User:
    user = User(
        username=f"{role}-{case.patient.id[:6]}",
        display_name=f"Test {role}",
        organization_id=org_id or case.hospital.id,
        role=role,
        active=active,
    )
    session.add(user)
    session.commit()
    return user


def test_a_person_is_a_principal_with_their_role_and_organisation(session: Session, case: Case) -> None:
    planner = _user(session, case, "case_manager")
    ctx = policy.principal_for_user(planner)
    assert (ctx.user_id, ctx.role, ctx.organization_id, ctx.subject) == (
        planner.id,
        "case_manager",
        case.hospital.id,
        planner.username,
    )
    assert ctx.actor == planner.username and ctx.display_name == "Test case_manager"
    assert policy.allows(ctx, "CarePlan", "c") and policy.allows(ctx, "Task", "u")
    assert not policy.allows(ctx, "AuditEvent", "s")


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        # The references of what each reads resolve: Encounter.location, CareTeam.participant.member,
        # Task.owner, and who made each change (_revinclude=Provenance:target).
        ("discharge_planner", [("Encounter", "u"), ("ServiceRequest", "c"), ("Patient", "u"), ("Location", "r"),
                               ("PractitionerRole", "s"), ("Practitioner", "r"), ("Provenance", "s")],
         [("AuditEvent", "r"), ("Organization", "c")]),
        ("intake_coordinator", [("ServiceRequest", "r"), ("Task", "u"), ("Patient", "r"), ("Organization", "r"),
                                ("Provenance", "r")],
         [("CarePlan", "r"), ("Encounter", "r"), ("Task", "c"), ("Patient", "u"), ("Location", "r")]),
        ("payer_care_manager", [("CarePlan", "r"), ("Goal", "s"), ("Task", "u"), ("Location", "s"),
                                ("PractitionerRole", "r")],
         [("CarePlan", "u"), ("Patient", "u"), ("ServiceRequest", "c")]),
        ("auditor", [("AuditEvent", "s")], [("Patient", "r"), ("Task", "r")]),
        ("administrator", [("Organization", "c")], [("Patient", "r"), ("AuditEvent", "r")]),
    ],
)  # fmt: skip
def test_roles_grant_what_the_issue_says(
    session: Session, case: Case, role: str, may: list[tuple[str, Any]], may_not: list[tuple[str, Any]]
) -> None:
    ctx = policy.principal_for_user(_user(session, case, role))
    assert [policy.allows(ctx, t, i) for t, i in may] == [True] * len(may)
    assert [policy.allows(ctx, t, i) for t, i in may_not] == [False] * len(may_not)


def test_a_persons_token_never_exceeds_their_role(session: Session, case: Case) -> None:
    intake = _user(session, case, "intake_coordinator", org_id=case.snfs[0].id)
    ctx = policy.principal_for_user(
        intake, parse_scopes("openid fhirUser user/Task.cruds user/CarePlan.rs system/*.rs patient/Task.rs")
    )
    # Each scope narrowed to the role's letters; what the role lacks (CarePlan, system/) is gone.
    assert ctx.scopes.raw == ("openid", "fhirUser", "user/Task.rus", "patient/Task.rs")
    assert not policy.allows(ctx, "Task", "c") and not policy.allows(ctx, "CarePlan", "r")


def test_a_disabled_person_is_no_principal(session: Session, case: Case) -> None:
    with pytest.raises(PermissionError):
        policy.principal_for_user(_user(session, case, "discharge_planner", active=False))


def test_only_the_patients_hospital_may_change_the_patient(session: Session, case: Case) -> None:
    # The anonymous payer_id attack: a payer (or anyone but the patient's hospital) must not
    # change the patient, e.g. to make a stranger its member.
    hospital = policy.principal_for_user(_user(session, case, "discharge_planner"))
    payer = policy.principal_for_user(_user(session, case, "payer_care_manager", org_id=case.payer.id))
    other = AccessContext("x", "x", case.snfs[0].id, parse_scopes("system/Patient.cruds"), None)
    patient = session.get(Patient, case.patient.id)
    assert policy.can_write(hospital, "Patient", patient)
    assert not policy.can_write(payer, "Patient", patient)
    assert not policy.can_write(other, "Patient", patient)


@pytest.mark.parametrize(
    ("target", "owner_may", "requester_may"),
    [
        ("accepted", True, False),
        ("rejected", True, False),
        ("entered-in-error", False, True),
        ("cancelled", True, True),
    ],
)
def test_task_moves_belong_to_one_side(case: Case, target: str, owner_may: bool, requester_may: bool) -> None:
    handoff = Handoff(owner_org_id=case.snfs[0].id, requester_org_id=case.hospital.id)
    assert policy.task_move_allowed(case.snfs[0].id, handoff, target) is owner_may
    assert policy.task_move_allowed(case.hospital.id, handoff, target) is requester_may
    assert policy.task_move_allowed(case.snfs[1].id, handoff, target) is False
