"""Screenings and the health concerns they suggest (Gravity SDOH:
https://hl7.org/fhir/us/sdoh-clinicalcare/checking_for_sdoh.html).

Recording a screening stores the QuestionnaireResponse as recorded and derives, in the same
transaction, its Observations and suggested health concerns with the pure mapping
(`fhir_mappings.screening.screening_findings`); each record is audited and written to the outbox
like every other change (`usecases.changes`). Whoever records it, a planner on the web, a script
on the REST API or a partner (a payer's own screening) on the FHIR API, it flows into
suggestions the same way.

A suggestion is `unconfirmed` until a person of the hospital running the case confirms or
dismisses (refutes) it. A confirmed concern is addressed by the stay's open case plans
(CarePlan.addresses, as a Condition reference), and a goal or a referral may then name it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from fhir_mappings.codec import MappingError
from fhir_mappings.domain import ScreeningData
from fhir_mappings.screening import Findings, from_fhir_questionnaire_response, screening_findings, unknown_items
from service import clock
from service.models import CasePlan, Goal, HealthConcern, Patient, Referral, Screening, ScreeningObservation, Stay
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, Invalid
from service.usecases.questionnaires import by_canonical, refuse_invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work

# https://hl7.org/fhir/R4/valueset-questionnaire-answers-status.html
ANSWER_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
# Only finished answers say anything about needs; a screening still in progress suggests nothing.
_FINISHED = ("completed", "amended")
# A person decides on a suggestion: confirm it, or dismiss it as refuted.
DECISIONS = ("confirmed", "refuted")
# The plans that take up a confirmed concern (https://hl7.org/fhir/R4/valueset-request-status.html).
_OPEN_PLAN = ("draft", "active", "on-hold")


def _parsed(response: Mapping[str, Any], patient_id: str) -> ScreeningData:
    """The response read, when it is a valid FHIR R4 QuestionnaireResponse of this patient (the
    same checks whichever door it came through)."""
    refuse_invalid(response, "QuestionnaireResponse")
    try:
        screening = from_fhir_questionnaire_response(response)
    except (MappingError, KeyError, TypeError) as bad:
        raise Invalid("the screening cannot be read", fields={"item": [str(bad)]}) from None
    errors: dict[str, list[str]] = {}
    if screening.status not in ANSWER_STATUSES:
        errors["status"] = [f"must be one of {', '.join(ANSWER_STATUSES)}"]
    if screening.patient_id not in (None, patient_id) or (response.get("subject") and screening.patient_id is None):
        errors["subject"] = [f"must be Patient/{patient_id}"]
    if not screening.questionnaire:
        errors["questionnaire"] = ["name the instrument (its canonical url)"]
    if errors:
        raise Invalid("the screening cannot be recorded", fields=errors)
    return screening


def record_screening(
    session: Session,
    response: Mapping[str, Any],
    *,
    patient_id: str,
    actor: str,
    stay_id: str | None = None,
    recorded_by_org_id: str | None = None,
) -> Screening:
    """Store a QuestionnaireResponse of the patient (on `stay_id`, else the patient's stay in
    progress), with its Observations and suggested concerns."""
    screening = _parsed(response, patient_id)
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        questionnaire = by_canonical(session, screening.questionnaire)
        if questionnaire is None:
            raise Invalid(
                "unknown instrument", fields={"questionnaire": [f"no Questionnaire {screening.questionnaire}"]}
            )
        unknown = unknown_items(screening, questionnaire.resource)
        if unknown:
            raise Invalid("answers to questions the instrument does not ask", fields={"item": list(unknown)})
        stay = _stay_of(session, patient_id, stay_id)
        authored = screening.authored or clock.now()
        row = create(
            session,
            Screening(
                patient_id=patient_id,
                stay_id=stay.id if stay else None,
                questionnaire=screening.questionnaire,
                status=screening.status,
                authored=authored,
                author=actor,
                recorded_by_org_id=recorded_by_org_id,
                resource=dict(response),
            ),
            actor=actor,
        )
        if screening.status in _FINISHED:
            recorded = ScreeningData(
                id=row.id,
                questionnaire=screening.questionnaire,
                patient_id=patient_id,
                status=screening.status,
                authored=authored,
                items=screening.items,
            )
            _derive(session, row, screening_findings(recorded, questionnaire.resource), actor=actor)
        return row


def _stay_of(session: Session, patient_id: str, stay_id: str | None) -> Stay | None:
    if stay_id is not None:
        stay = get_or_404(session, Stay, stay_id)
        if stay.patient_id != patient_id:
            raise Invalid("the stay is another patient's", fields={"stay_id": [stay_id]})
        return stay
    query = select(Stay).where(Stay.patient_id == patient_id, Stay.status == "in-progress")
    return session.scalars(query.order_by(Stay.admitted_at.desc())).first()


def _codes(concepts: Sequence[Mapping[str, Any]]) -> list[str]:
    return [coding["code"] for concept in concepts for coding in concept.get("coding") or ()]


def _derive(session: Session, screening: Screening, findings: Findings, *, actor: str) -> None:
    for observation in findings.observations:
        create(
            session,
            ScreeningObservation(
                id=observation["id"],
                screening_id=screening.id,
                patient_id=screening.patient_id,
                code=observation["code"]["coding"][0]["code"],
                categories=_codes(observation["category"]),
                effective=screening.authored,
                resource=observation,
            ),
            actor=actor,
        )
    for condition in findings.concerns:
        finding = condition["code"]["coding"][0]
        create(
            session,
            HealthConcern(
                id=condition["id"],
                screening_id=screening.id,
                patient_id=screening.patient_id,
                stay_id=screening.stay_id,
                code=finding["code"],
                display=finding["display"],
                categories=_codes(condition["category"]),
                clinical_status="active",
                verification_status="unconfirmed",
                recorded=screening.authored,
                resource=condition,
            ),
            actor=actor,
        )


def decide_concern(
    session: Session, concern_id: str, decision: str, *, actor: str, expected_version: int | None = None
) -> HealthConcern:
    """Confirm a suggested concern (the stay's open plans then address it) or dismiss it (refuted;
    plans that addressed it no longer do). Deciding again changes the decision."""
    if decision not in DECISIONS:
        raise Invalid("unknown decision", fields={"verification_status": [f"must be one of {', '.join(DECISIONS)}"]})
    with unit_of_work(session):
        concern = get_or_404(session, HealthConcern, concern_id)
        if concern.verification_status == decision:
            raise ConflictError(f"concern {concern_id} is already {decision}")
        changes = {"verification_status": decision, "decided_by": actor, "decided_at": clock.now()}
        apply_changes(session, concern, changes, actor=actor, expected_version=expected_version, action=decision)
        for plan in _open_plans(session, concern):
            addressed = [c for c in plan.concern_ids if c != concern.id]
            if decision == "confirmed":
                addressed.append(concern.id)
            if addressed != plan.concern_ids:
                apply_changes(session, plan, {"concern_ids": addressed}, actor=actor)
        return concern


def _open_plans(session: Session, concern: HealthConcern) -> list[CasePlan]:
    query = select(CasePlan).where(CasePlan.patient_id == concern.patient_id, CasePlan.status.in_(_OPEN_PLAN))
    if concern.stay_id is not None:
        query = query.where(CasePlan.stay_id == concern.stay_id)
    return list(session.scalars(query.order_by(CasePlan.created_at)))


def confirmed_concern_ids(session: Session, patient_id: str, stay_id: str | None) -> list[str]:
    """The confirmed concerns a new plan of the patient (for `stay_id`) addresses from the start."""
    query = select(HealthConcern.id).where(
        HealthConcern.patient_id == patient_id, HealthConcern.verification_status == "confirmed"
    )
    if stay_id is not None:
        query = query.where(HealthConcern.stay_id == stay_id)
    return list(session.scalars(query.order_by(HealthConcern.recorded, HealthConcern.id)))


def served_concern(session: Session, concern_id: str | None, patient_id: str) -> None:
    """A goal or a referral may name only a confirmed concern of its own patient (422 otherwise)."""
    if concern_id is None:
        return
    concern = session.get(HealthConcern, concern_id)
    if concern is None or concern.patient_id != patient_id:
        raise Invalid(
            "concern_id names no concern of this patient", fields={"concern_id": [f"unknown id '{concern_id}'"]}
        )
    if concern.verification_status != "confirmed":
        raise Invalid("only a confirmed concern can be served", fields={"concern_id": [concern.verification_status]})


def of_stay(session: Session, stay: Stay) -> tuple[list[Screening], list[HealthConcern]]:
    """A stay's screenings (newest first) and the concerns they suggested, for the case page."""
    screenings = session.scalars(
        select(Screening).where(Screening.stay_id == stay.id).order_by(Screening.authored.desc(), Screening.id)
    )
    concerns = session.scalars(
        select(HealthConcern).where(HealthConcern.stay_id == stay.id).order_by(HealthConcern.recorded, HealthConcern.id)
    )
    return list(screenings), list(concerns)


def worklist_marks(session: Session, stay_ids: Sequence[str]) -> tuple[set[str], dict[str, int]]:
    """For a worklist page: the stays screened at all, and per stay the concerns still to address:
    suggestions nobody has decided on, and confirmed concerns no goal or referral serves yet.
    Two grouped queries for the page, whatever its size."""
    if not stay_ids:
        return set(), {}
    found = session.scalars(select(Screening.stay_id).where(Screening.stay_id.in_(stay_ids)).distinct())
    screened = {stay_id for stay_id in found if stay_id is not None}
    served = or_(
        exists().where(Goal.concern_id == HealthConcern.id), exists().where(Referral.concern_id == HealthConcern.id)
    )
    to_address = or_(
        HealthConcern.verification_status == "unconfirmed",
        and_(HealthConcern.verification_status == "confirmed", ~served),
    )
    counts = session.execute(
        select(HealthConcern.stay_id, func.count())
        .where(HealthConcern.stay_id.in_(stay_ids), to_address)
        .group_by(HealthConcern.stay_id)
    )
    return screened, {stay_id: count for stay_id, count in counts if stay_id is not None}

