"""Referrals to one or more recipient organisations, each tracked by its own handoff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from service import clock
from service.domain.handoff_status import is_open
from service.domain.referral_loop import PLACEMENT_CONFIRMED
from service.models import CasePlan, Goal, Handoff, Organization, Patient, Referral, Stay
from service.models.referrals import PLACEMENT_SERVICES, PRIORITIES, REFERRAL_SERVICES, REFERRAL_STATUSES
from service.usecases import closing
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, Invalid
from service.usecases.handoffs import move_handoff, new_handoff
from service.usecases.screenings import served_concern
from service.usecases.unit_of_work import get_or_404, unit_of_work

DEFAULT_ANSWER_WITHIN = timedelta(hours=24)


MAX_DIAGNOSES = 20


def send_referral(
    session: Session,
    *,
    patient_id: str,
    service: str,
    recipient_org_ids: Sequence[str],
    requester_org_id: str,
    actor: str,
    stay_id: str | None = None,
    case_plan_id: str | None = None,
    goal_id: str | None = None,
    reason: str | None = None,
    diagnoses: Sequence[Mapping[str, str]] = (),
    concern_id: str | None = None,
    priority: str = "routine",
    wanted_by: date | None = None,
    answer_due_at: datetime | None = None,
    requester_ref: str | None = None,
) -> Referral:
    """One ServiceRequest, one Task per recipient, all in one transaction; `concern_id` the
    confirmed health concern it serves (ServiceRequest.reasonReference); `diagnoses` each a coded
    concept {system, code, display} or a free-text {display} (ServiceRequest.reasonCode)."""
    errors: dict[str, list[str]] = {}
    if len(diagnoses) > MAX_DIAGNOSES:
        errors["diagnoses"] = [f"Give at most {MAX_DIAGNOSES} diagnoses."]
    elif any(
        bool(d.get("code")) != bool(d.get("system")) or not d.get("code") and not d.get("display") for d in diagnoses
    ):
        errors["diagnoses"] = ["Give each diagnosis a code with its code system, or a description."]
    if service not in REFERRAL_SERVICES:
        errors["service"] = [f"must be one of {', '.join(REFERRAL_SERVICES)}"]
    if priority not in PRIORITIES:
        errors["priority"] = [f"must be one of {', '.join(PRIORITIES)}"]
    if answer_due_at is not None and answer_due_at <= clock.now():
        errors["answer_due_at"] = ["The answer must be due later than now."]
    if not recipient_org_ids:
        errors["recipient_org_ids"] = ["Choose at least one facility or agency to send it to."]
    elif len(set(recipient_org_ids)) != len(recipient_org_ids):
        errors["recipient_org_ids"] = ["A recipient is chosen twice."]
    if errors:
        raise Invalid("the referral cannot be sent", fields=errors)
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        get_or_404(session, Organization, requester_org_id)
        if stay_id:
            get_or_404(session, Stay, stay_id)
        if case_plan_id:
            get_or_404(session, CasePlan, case_plan_id)
        if goal_id:
            _check_goal(session, goal_id, patient_id)
        served_concern(session, concern_id, patient_id)
        recipients = [get_or_404(session, Organization, org_id) for org_id in recipient_org_ids]
        now = clock.now()
        referral = create(
            session,
            Referral(
                patient_id=patient_id,
                stay_id=stay_id,
                case_plan_id=case_plan_id,
                goal_id=goal_id,
                service=service,
                reason=reason,
                diagnoses=[{k: v for k, v in d.items() if v} for d in diagnoses],
                concern_id=concern_id,
                priority=priority,
                status="active",
                intent="order",
                requester_ref=requester_ref or f"Organization/{requester_org_id}",
                wanted_by=wanted_by,
                authored_on=now,
                notes=[],
            ),
            actor=actor,
        )
        due = answer_due_at or now + DEFAULT_ANSWER_WITHIN
        for org in recipients:
            new_handoff(
                session,
                patient_id=patient_id,
                kind="referral_decision",
                owner_org_id=org.id,
                requester_org_id=requester_org_id,
                actor=actor,
                due_at=due,
                stay_id=stay_id,
                referral_id=referral.id,
                description=f"{org.name}: decide on {service.replace('_', ' ')} referral",
            )
        closing.follow_goal(session, goal_id, actor=actor)
        return referral


def _check_goal(session: Session, goal_id: str, patient_id: str) -> None:
    """A referral serves a goal of its own patient, never another's."""
    if get_or_404(session, Goal, goal_id).patient_id != patient_id:
        raise Invalid("the goal is another patient's", fields={"goal_id": ["must be a goal of the referral's patient"]})


def confirm_placement(
    session: Session, referral_id: str, accepted_handoff_id: str, *, actor: str, reason: str
) -> list[Handoff]:
    """The planner confirms the accepting facility; every other open recipient is released.

    Returns the handoffs that were cancelled. Cancelling is allowed to either party in the
    Gravity SDOH workflow, so the requester may do it.
    """
    if not reason.strip():
        raise Invalid("say why the other facilities are released", fields={"reason": ["must not be blank"]})
    with unit_of_work(session):
        referral = get_or_404(session, Referral, referral_id)
        if referral.service not in PLACEMENT_SERVICES:
            raise ConflictError(f"a {referral.service} referral is not a placement; nothing to confirm")
        accepted = next((h for h in referral.handoffs if h.id == accepted_handoff_id), None)
        if accepted is None:
            raise Invalid(
                "that handoff is not a recipient of this referral", fields={"handoff_id": [accepted_handoff_id]}
            )
        if accepted.status not in ("accepted", "in-progress", "completed"):
            raise ConflictError(
                f"handoff {accepted.id} is '{accepted.status}'; only an accepted recipient can be confirmed",
                details={"status": accepted.status},
            )
        facility = get_or_404(session, Organization, accepted.owner_org_id)
        cancelled = []
        for other in referral.handoffs:
            if other.id != accepted.id and is_open(other.status):
                move_handoff(session, other, "cancelled", actor=actor, reason=reason)
                cancelled.append(other)
        apply_changes(session, accepted, {"business_status": PLACEMENT_CONFIRMED}, actor=actor)
        apply_changes(
            session,
            referral,
            {"notes": [*referral.notes, f"Placement confirmed with {facility.name}"]},
            actor=actor,
            action="confirm_placement",
        )
        return cancelled


def update_referral_status(session: Session, referral_id: str, status: str, *, actor: str) -> Referral:
    if status not in REFERRAL_STATUSES:
        raise Invalid("unknown status", fields={"status": [f"must be one of {', '.join(REFERRAL_STATUSES)}"]})
    with unit_of_work(session):
        referral = get_or_404(session, Referral, referral_id)
        apply_changes(session, referral, {"status": status}, actor=actor)
        closing.follow_goal(session, referral.goal_id, actor=actor)
        return referral
