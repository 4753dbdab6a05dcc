"""Hand-written builders for a small realistic case (a pytest plugin: ``case`` and ``cli_db`` fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from service.db import make_engine, make_session_factory
from service.migrate import upgrade
from service.models import Goal, Handoff, Organization, Patient, Referral, Stay, User
from service.usecases import handoffs, parties, patients, plans, referrals, stays


@dataclass
class Case:
    hospital: Organization
    snfs: list[Organization]
    payer: Organization
    pcp: Organization
    planner: User
    patient: Patient
    stay: Stay


def build_case(session: Session, now: datetime, *, mrn: str = "MRN-1001") -> Case:
    hospital = parties.add_organization(session, name="St. Example General", kind="hospital", actor="test")
    snfs = [parties.add_organization(session, name=f"Oak SNF {i}", kind="snf", actor="test") for i in (1, 2, 3)]
    payer = parties.add_organization(session, name="Acme Health Plan", kind="payer", actor="test")
    pcp = parties.add_organization(session, name="Main Street Primary Care", kind="primary_care", actor="test")
    planner = User(
        username=f"planner-{mrn}", display_name="Pat Planner", organization_id=hospital.id, role="discharge_planner"
    )
    session.add(planner)
    session.commit()
    patient = patients.register_patient(
        session,
        family_name="Anders",
        given_name="Agnes",
        birth_date=date(1944, 2, 1),
        gender="female",
        identifiers=[{"kind": "mrn", "system": "urn:example:mrn", "value": mrn}],
        payer_id=payer.id,
        primary_care_id=pcp.id,
        actor="test",
    )
    stay = stays.admit(
        session,
        patient_id=patient.id,
        hospital_id=hospital.id,
        admitted_at=now - timedelta(days=1),
        unit="4 West",
        bed="12A",
        planner_id=planner.id,
        expected_discharge_date=(now + timedelta(days=3)).date(),
        medically_ready_date=(now + timedelta(days=2)).date(),
        actor="test",
    )
    return Case(hospital, snfs, payer, pcp, planner, patient, stay)


def snf_referral_fields(case: Case, **fields: Any) -> dict[str, Any]:
    """A SNF-placement referral from the case's hospital to its three SNFs (``fields`` override)."""
    return {
        "patient_id": case.patient.id,
        "stay_id": case.stay.id,
        "service": "snf_placement",
        "recipient_org_ids": [s.id for s in case.snfs],
        "requester_org_id": case.hospital.id,
    } | fields


def send_snf_referral(session: Session, case: Case, *, actor: str = "planner", **fields: Any) -> Referral:
    """That referral, sent through the use case."""
    return referrals.send_referral(session, actor=actor, **snf_referral_fields(case, **fields))


def hospital_transport(session: Session, case: Case, due_at: datetime) -> Handoff:
    """The hospital's own wheelchair-van handoff on the case's stay, due at `due_at`."""
    return handoffs.create_handoff(
        session,
        actor="test",
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        kind="transport",
        owner_org_id=case.hospital.id,
        requester_org_id=case.hospital.id,
        due_at=due_at,
        description="Wheelchair van",
    )


def case_goal(session: Session, case: Case, description: str) -> Goal:
    """A goal of a new plan for the case's stay."""
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, stay_id=case.stay.id, title="Discharge plan", actor="test"
    )
    return plans.add_goal(session, plan.id, description=description, lifecycle_status="active", actor="test")


def community_referral(
    session: Session, case: Case, service: str, recipients: list[Organization], goal: Goal, **fields: Any
) -> Referral:
    """A referral of the case's stay to community organisations, serving `goal`."""
    return referrals.send_referral(
        session, patient_id=case.patient.id, stay_id=case.stay.id, service=service, goal_id=goal.id,
        recipient_org_ids=[org.id for org in recipients], requester_org_id=case.hospital.id, actor="planner", **fields,
    )  # fmt: skip


def community_org(session: Session, name: str) -> Organization:
    return parties.add_organization(session, name=name, kind="community", actor="test")


@pytest.fixture
def case(session: Session, now: datetime) -> Case:
    return build_case(session, now)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file of its own (CLI commands commit) as DATABASE_URL, with a hospital; its id."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        hospital = parties.add_organization(session, name="St. Example General", kind="hospital", actor="test")
    engine.dispose()
    return hospital.id
