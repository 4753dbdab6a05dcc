"""Realistic demo data, relative to today: one hospital's discharge-planning floor in mid-week.

Idempotent: loading twice leaves one copy (the hospital's NPI identifies the demo set).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from fhir_mappings.screening import instrument
from service import clock
from service.config import Settings
from service.db import make_engine
from service.migrate import upgrade
from service.models import CareTeamMember, Goal, Organization, Practitioner, ReadinessItem, User
from service.usecases import (
    discharge,
    documents,
    handoffs,
    parties,
    patients,
    plans,
    questionnaires,
    referrals,
    screenings,
    stays,
)

DEMO_NPI = {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1999999984"}
DEMO_PASSWORD = "demo"
# ICD-10-CM, the US diagnosis code system (https://terminology.hl7.org/CodeSystem-icd10CM.html).
HIP_FRACTURE = {
    "system": "http://hl7.org/fhir/sid/icd-10-cm",
    "code": "S72.001A",
    "display": "Fracture of unspecified part of neck of right femur, initial encounter",
}
# What the SNFs get with each placement referral (invented text, no real patient's).
DEMO_DOCUMENTS = (
    ("34117-2", "Admission H&P", "History and physical\nFall at home with right hip fracture; ORIF on day 1.\n"),
    ("10160-0", "Medication list", "Medications\n- apixaban 2.5 mg twice daily\n- acetaminophen 650 mg as needed\n"),
)
UNITS = ("4 West", "5 East", "Ortho 6", "Cardiac Stepdown")
# The demo hospital's (and its users') zone: "today" and "later today" are days there, not in UTC.
ZONE = ZoneInfo("America/New_York")
FAMILY = [
    "Anders",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zhou",
]
GIVEN = [
    "Agnes",
    "Bernard",
    "Carmen",
    "Dorothy",
    "Edgar",
    "Frances",
    "George",
    "Helen",
    "Irene",
    "James",
    "Kathleen",
    "Louis",
    "Margaret",
]
BARRIERS = (
    ("post_acute_bed", "Needs SNF bed; two facilities at capacity"),
    ("insurance_authorization", "Awaiting payer authorisation for SNF"),
    ("family_caregiver", "Daughter works nights; caregiver training not scheduled"),
    ("equipment", "Hospital bed must be delivered before discharge"),
    ("transport", "Wheelchair van needed"),
)


@dataclass
class Orgs:
    hospital: Organization
    snfs: list[Organization]
    home_health: Organization
    payer: Organization
    pcp: Organization
    # Community organisations a hospital refers social needs to: a food bank, a transport service
    # and a utility-assistance programme (Gravity SDOH referrals).
    food_bank: Organization
    rides: Organization
    utility_help: Organization


def load_demo(settings: Settings, *, stays: int = 25, seed: int = 7) -> str:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    # All or nothing: the use cases' commits become savepoints inside one outer transaction.
    with engine.connect() as conn, conn.begin():
        factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        with factory() as session:
            if _already_loaded(session):
                return "demo data already loaded"
            orgs, users = populate(session, stays=stays, seed=seed)
    engine.dispose()
    return (
        f"demo data loaded: 1 hospital, {len(orgs.snfs)} SNFs, 1 home-health agency, 1 payer, 3 community "
        f"organisations, {stays} inpatients; "
        f"sign in as {', '.join(sorted(users))} (password '{DEMO_PASSWORD}')"
    )


def populate(session: Session, *, stays: int, seed: int) -> tuple[Orgs, dict[str, User]]:
    """The demo organisations, people and inpatients, written through the use cases in `session`."""
    orgs = _organizations(session)
    users = _users(session, orgs)
    questionnaires.load_shipped(session)
    _inpatients(session, orgs, users, count=stays, rng=random.Random(seed))
    return orgs, users


def _already_loaded(session: Session) -> bool:
    hospitals = session.scalars(select(Organization).where(Organization.kind == "hospital"))
    return any(DEMO_NPI in h.identifiers for h in hospitals)


def _organizations(session: Session) -> Orgs:
    def org(name: str, kind: str, **kw: object) -> Organization:
        return parties.add_organization(session, name=name, kind=kind, actor="demo", **kw)  # type: ignore[arg-type]

    def at(line: str, postal_code: str, phone: str) -> dict[str, str]:
        # Fictional addresses in one town; 555-01xx numbers are reserved for fiction.
        return {"address_line": line, "address_city": "Riverside", "address_state": "OH",
                "address_postal_code": postal_code, "phone": f"+1-937-555-{phone}"}  # fmt: skip

    snfs = (
        ("Maple Grove Skilled Nursing", "12 Maple Grove Lane", "0102"),
        ("Harbor View Rehab & Care", "300 Harbor Road", "0103"),
        ("Oakwood Nursing Center", "45 Oakwood Avenue", "0104"),
    )
    return Orgs(
        hospital=org(
            "Riverside General Hospital", "hospital", identifiers=[DEMO_NPI], **at("1 Hospital Drive", "45400", "0101")
        ),
        snfs=[org(name, "snf", **at(line, "45401", phone)) for name, line, phone in snfs],
        home_health=org("Sunrise Home Health", "home_health", **at("8 Sunrise Court", "45402", "0105")),
        payer=org("Acme Health Plan", "payer", **at("200 Commerce Street", "45403", "0106")),
        pcp=org("Main Street Primary Care", "primary_care", **at("77 Main Street", "45400", "0107")),
        food_bank=org("Riverside Community Food Bank", "community", **at("15 Market Street", "45400", "0108")),
        rides=org("County Ride Connect", "community", **at("2 Depot Square", "45402", "0109")),
        utility_help=org("Keep the Lights On Utility Assistance", "community", **at("90 Power Lane", "45403", "0110")),
    )


def _users(session: Session, orgs: Orgs) -> dict[str, User]:
    specs = [
        ("dana.planner", "Dana Reyes, RN (discharge planner)", orgs.hospital, "discharge_planner"),
        ("sam.casemanager", "Sam Okoro, RN (nurse case manager)", orgs.hospital, "case_manager"),
        ("maple.intake", "Maple Grove intake", orgs.snfs[0], "intake_coordinator"),
        ("harbor.intake", "Harbor View intake", orgs.snfs[1], "intake_coordinator"),
        ("oakwood.intake", "Oakwood intake", orgs.snfs[2], "intake_coordinator"),
        ("sunrise.intake", "Sunrise Home Health intake", orgs.home_health, "intake_coordinator"),
        ("pantry.intake", "Food bank intake", orgs.food_bank, "intake_coordinator"),
        ("rides.intake", "Ride Connect dispatch", orgs.rides, "intake_coordinator"),
        ("lights.intake", "Utility assistance intake", orgs.utility_help, "intake_coordinator"),
        ("acme.caremanager", "Acme care manager", orgs.payer, "payer_care_manager"),
        ("riley.auditor", "Riley Brooks (privacy auditor)", orgs.hospital, "auditor"),
        ("alex.admin", "Alex Kim (administrator)", orgs.hospital, "administrator"),
    ]
    password = generate_password_hash(DEMO_PASSWORD)
    users = {
        name: User(
            username=name,
            display_name=display,
            organization_id=org.id,
            role=role,
            password_hash=password,
            time_zone=ZONE.key,
        )
        for name, display, org, role in specs
    }
    # The hospital's two clinicians are Practitioners too: their PractitionerRole on a care team
    # names them (the shared intake and payer accounts are roles without a named person).
    for username, name in (("dana.planner", "Dana Reyes"), ("sam.casemanager", "Sam Okoro")):
        users[username].practitioner = Practitioner(name=name, organization_id=orgs.hospital.id)
    session.add_all(users.values())
    session.commit()
    return users


def _inpatients(session: Session, orgs: Orgs, users: dict[str, User], *, count: int, rng: random.Random) -> None:
    now = clock.now()
    today = now.astimezone(ZONE).date()
    planner, case_manager = users["dana.planner"], users["sam.casemanager"]
    for i in range(count):
        # One patient in five is uninsured: no payer, so no member id either (a member id names a payer's member).
        insured = i % 5 != 4
        member_id = {"kind": "member_id", "system": "https://acmehealth.example/member-id", "value": f"ACM{5500 + i}"}
        patient = patients.register_patient(
            session,
            family_name=FAMILY[i % len(FAMILY)] + ("" if i < len(FAMILY) else f"-{i}"),
            given_name=GIVEN[i % len(GIVEN)],
            birth_date=date(1935 + rng.randrange(50), rng.randrange(1, 13), rng.randrange(1, 28)),
            gender=rng.choice(("female", "male")),
            identifiers=[
                {"kind": "mrn", "system": "urn:oid:2.16.840.1.113883.19.5.1", "value": f"RGH{100200 + i}"},
                *([member_id] if insured else []),
            ],
            payer_id=orgs.payer.id if insured else None,
            primary_care_id=orgs.pcp.id,
            actor="demo",
        )
        for user, role in ((planner, "discharge_planner"), (case_manager, "nurse_case_manager")):
            session.add(CareTeamMember(patient_id=patient.id, user_id=user.id, role=role))
        admitted = datetime.combine(today - timedelta(days=rng.randrange(1, 9)), time(rng.randrange(0, 24)), UTC)
        edd = today + timedelta(days=rng.randrange(-1, 6))
        stay = stays.admit(
            session,
            patient_id=patient.id,
            hospital_id=orgs.hospital.id,
            admitted_at=admitted,
            unit=UNITS[i % len(UNITS)],
            bed=_bed(i, rng),
            planner_id=planner.id,
            expected_discharge_date=max(edd, admitted.date()),
            medically_ready_date=max(edd - timedelta(days=rng.randrange(0, 3)), admitted.date()),
            actor="demo",
        )
        for item in stay.readiness_items[: rng.randrange(0, 5)]:
            stays.set_readiness(session, stay.id, item.code, met=True, actor="dana.planner")
        if i % 3 == 0:
            category, note = BARRIERS[i % len(BARRIERS)]
            stays.open_barrier(session, stay.id, category=category, note=note, actor="dana.planner")
        plan = plans.create_case_plan(
            session,
            patient_id=patient.id,
            stay_id=stay.id,
            title="Discharge and transition plan",
            description="Safe discharge to the least restrictive setting with follow-up in place.",
            period_start=admitted.date(),
            author_ref=f"Organization/{orgs.hospital.id}",
            actor="sam.casemanager",
        )
        _patients_goal(
            session,
            plan.id,
            patient.id,
            "Walk 50 ft with a walker before discharge",
            achievement=rng.choice(("in-progress", "improving", "no-change")),
            start=admitted.date(),
            due=stay.expected_discharge_date,
        )
        if i % 4 == 0:
            _screen(session, patient.id, plan.id, confirm=i % 8 == 0, authored=admitted + timedelta(hours=6))
        _stage(session, orgs, stay.id, patient.id, plan.id, stage=i % 6, now=now, rng=rng)
        if i % 8 == 7:
            discharge.record_discharge(
                session,
                stay.id,
                discharged_at=now - timedelta(hours=rng.randrange(30, 60)),
                disposition=rng.choice(("home", "home_health", "snf")),
                actor="dana.planner",
            )


def _patients_goal(
    session: Session, plan_id: str, patient_id: str, description: str, *, start: date,
    achievement: str = "in-progress", due: date | None = None, concern_id: str | None = None,
) -> Goal:
    """An active goal of the plan, the patient's own (US Core Goal.expressedBy), serving
    `concern_id` if given (Goal.addresses)."""
    return plans.add_goal(
        session, plan_id, description=description, lifecycle_status="active", achievement_status=achievement,
        start_date=start, target_due_date=due, expressed_by_ref=f"Patient/{patient_id}", concern_id=concern_id,
        actor="sam.casemanager",
    )  # fmt: skip


# An AHC HRSN screening that finds food insecurity (worried food would run out: often true) and a
# lack of transportation (yes); utilities and housing fine.
_HRSN_ANSWERS = (("71802-3", "LA31993-1"), ("88122-7", "LA28397-0"), ("93030-5", "LA33-6"), ("96779-4", "LA32-8"))


def _screen(session: Session, patient_id: str, plan_id: str, *, confirm: bool, authored: datetime) -> None:
    """A planner's screening on admission; on every other such patient the food insecurity it
    suggests is confirmed and served by a goal (the rest wait on the case page for a decision)."""
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": instrument("ahc-hrsn-core")["url"],
        "status": "completed",
        "authored": authored.isoformat(),
        "item": [
            {"linkId": link, "answer": [{"valueCoding": {"system": "http://loinc.org", "code": code}}]}
            for link, code in _HRSN_ANSWERS
        ],
    }
    screening = screenings.record_screening(session, response, patient_id=patient_id, actor="dana.planner")
    if confirm:
        food = next(c for c in screening.concerns if c.code == "733423003")
        screenings.decide_concern(session, food.id, "confirmed", actor="dana.planner")
        goal = "Enough food at home after discharge"
        _patients_goal(session, plan_id, patient_id, goal, start=authored.date(), concern_id=food.id)


def _bed(i: int, rng: random.Random) -> str:
    """A bed no other demo patient of the same unit lies in: stay i is the (i // units)-th of its unit."""
    rng.randrange(1, 40), rng.choice("AB")  # drawn as before, so the rest of the demo stays the same
    nth = i // len(UNITS)
    return f"{10 + nth // 2}{'AB'[nth % 2]}"


def later_today(now: datetime, *, hours: int) -> datetime:
    """`hours` from now, but still today in the demo's zone, even when the demo is loaded in the evening."""
    local = now.astimezone(ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time.min, ZONE)
    return min(now + timedelta(hours=hours), now + (midnight - now) * 0.9)


def _stage(
    session: Session,
    orgs: Orgs,
    stay_id: str,
    patient_id: str,
    plan_id: str,
    *,
    stage: int,
    now: datetime,
    rng: random.Random,
) -> None:
    """Put a patient's referrals at one of several realistic points of the placement process."""
    hospital = orgs.hospital.id
    if stage in (0, 1, 2):  # SNF placement out to three facilities, answers at different points
        sent = now - timedelta(hours=rng.choice((6, 20, 30)))
        with clock.frozen_at(sent):
            referral = referrals.send_referral(
                session,
                patient_id=patient_id,
                stay_id=stay_id,
                case_plan_id=plan_id,
                service="snf_placement",
                recipient_org_ids=[s.id for s in orgs.snfs],
                requester_org_id=hospital,
                reason="Post-acute rehabilitation after hip fracture",
                diagnoses=[HIP_FRACTURE],
                wanted_by=(sent + timedelta(days=2)).date(),  # ServiceRequest.occurrenceDateTime
                actor="dana.planner",
            )
            for type_code, title, text in DEMO_DOCUMENTS:
                new = documents.NewDocument(type_code, text.encode(), "text/plain", title)
                documents.add_document(
                    session, referral.id, new, max_bytes=Settings.max_document_bytes, actor="dana.planner",
                    author_org_id=hospital,
                )  # fmt: skip
            handoffs.create_handoff(
                session,
                actor="dana.planner",
                patient_id=patient_id,
                stay_id=stay_id,
                kind="payer_authorization",
                owner_org_id=orgs.payer.id,
                requester_org_id=hospital,
                due_at=sent + timedelta(hours=48),
                description="Insurance authorisation for SNF",
            )
        decline, accept = referral.handoffs[0], referral.handoffs[2]
        if stage >= 1:
            with clock.frozen_at(sent + timedelta(hours=3)):
                handoffs.transition_handoff(
                    session,
                    decline.id,
                    "rejected",
                    reason="No bed available",
                    actor="maple.intake",
                    acting_org_id=decline.owner_org_id,
                )
        if stage == 2:
            with clock.frozen_at(sent + timedelta(hours=5)):
                handoffs.transition_handoff(
                    session,
                    accept.id,
                    "accepted",
                    business_status="bed offered",
                    actor="oakwood.intake",
                    acting_org_id=accept.owner_org_id,
                )
    elif stage == 3:  # home with home health and a hospital bed
        referrals.send_referral(
            session,
            patient_id=patient_id,
            stay_id=stay_id,
            case_plan_id=plan_id,
            service="home_health",
            recipient_org_ids=[orgs.home_health.id],
            requester_org_id=hospital,
            reason="Heart failure, new diuretic",
            wanted_by=(now + timedelta(days=1)).date(),
            actor="sam.casemanager",
        )
        dme = handoffs.create_handoff(
            session,
            actor="sam.casemanager",
            patient_id=patient_id,
            stay_id=stay_id,
            kind="dme_delivery",
            owner_org_id=orgs.home_health.id,
            requester_org_id=hospital,
            due_at=now + timedelta(hours=20),
            description="Deliver hospital bed before discharge",
        )
        item = session.scalar(
            select(ReadinessItem).where(ReadinessItem.stay_id == stay_id, ReadinessItem.code == "dme_ordered")
        )
        if item is not None:
            item.handoff_id, item.met = dme.id, False
            session.commit()
    elif stage == 4:  # transport arranged, due later today
        handoffs.create_handoff(
            session,
            actor="dana.planner",
            patient_id=patient_id,
            stay_id=stay_id,
            kind="transport",
            owner_org_id=hospital,
            requester_org_id=hospital,
            due_at=later_today(now, hours=rng.randrange(1, 6)),
            description="Wheelchair van to home",
        )
    elif stage == 5:  # food insecurity found: a goal and a food-bank referral that serves it
        goal = _patients_goal(session, plan_id, patient_id, "Has enough food at home after discharge", start=now.date())
        referrals.send_referral(
            session,
            patient_id=patient_id,
            stay_id=stay_id,
            case_plan_id=plan_id,
            goal_id=goal.id,
            service="food_assistance",
            recipient_org_ids=[orgs.food_bank.id],
            requester_org_id=hospital,
            reason="Food insecurity (Hunger Vital Sign positive)",
            wanted_by=(now + timedelta(days=3)).date(),
            actor="sam.casemanager",
        )
