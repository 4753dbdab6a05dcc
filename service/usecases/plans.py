"""Case plans and goals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import CasePlan, Goal, Patient, Stay
from service.models.plans import GOAL_ACHIEVEMENT, GOAL_LIFECYCLE, PLAN_INTENTS, PLAN_STATUSES
from service.usecases.changes import apply_changes, create
from service.usecases.errors import Invalid
from service.usecases.screenings import confirmed_concern_ids, served_concern
from service.usecases.unit_of_work import get_or_404, unit_of_work

PLAN_FIELDS = {
    "status",
    "intent",
    "title",
    "description",
    "period_start",
    "period_end",
    "author_ref",
    "addresses",
    "notes",
}
GOAL_FIELDS = {
    "description",
    "lifecycle_status",
    "achievement_status",
    "start_date",
    "target_measure",
    "target_due_date",
    "expressed_by_ref",
    "concern_id",
    "notes",
}
_CODES: dict[str, tuple[str, ...]] = {
    "status": PLAN_STATUSES,
    "intent": PLAN_INTENTS,
    "lifecycle_status": GOAL_LIFECYCLE,
    "achievement_status": GOAL_ACHIEVEMENT,
}


def _validate(values: Mapping[str, Any], allowed: set[str]) -> None:
    errors: dict[str, list[str]] = {k: ["not editable"] for k in sorted(set(values) - allowed)}
    for name, codes in _CODES.items():
        if name in values and values[name] is not None and values[name] not in codes:
            errors[name] = [f"must be one of {', '.join(codes)}"]
    start, end = values.get("period_start"), values.get("period_end")
    if start and end and end < start:
        errors["period_end"] = ["is before period_start"]
    if errors:
        raise Invalid("the plan or goal has invalid fields", fields=errors)


def create_case_plan(
    session: Session, *, patient_id: str, title: str, actor: str, stay_id: str | None = None, **fields: Any
) -> CasePlan:
    _validate(fields, PLAN_FIELDS)
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        if stay_id:
            get_or_404(session, Stay, stay_id)
        # The stay's confirmed concerns are what a new plan addresses (usecases.screenings).
        concerns = confirmed_concern_ids(session, patient_id, stay_id)
        plan = CasePlan(
            patient_id=patient_id,
            stay_id=stay_id,
            title=title,
            categories=["assess-plan"],
            concern_ids=concerns,
            **fields,
        )
        return create(session, plan, actor=actor)


def update_case_plan(
    session: Session, plan_id: str, changes: Mapping[str, Any], *, actor: str, expected_version: int | None = None
) -> CasePlan:
    _validate(changes, PLAN_FIELDS)
    with unit_of_work(session):
        plan = get_or_404(session, CasePlan, plan_id)
        return apply_changes(session, plan, changes, actor=actor, expected_version=expected_version)


def add_goal(session: Session, plan_id: str, *, description: str, actor: str, **fields: Any) -> Goal:
    _validate(fields, GOAL_FIELDS)
    with unit_of_work(session):
        plan = get_or_404(session, CasePlan, plan_id)
        served_concern(session, fields.get("concern_id"), plan.patient_id)
        goal = Goal(patient_id=plan.patient_id, case_plan_id=plan.id, description=description, **fields)
        return create(session, goal, actor=actor)


def update_goal(
    session: Session, goal_id: str, changes: Mapping[str, Any], *, actor: str, expected_version: int | None = None
) -> Goal:
    _validate(changes, GOAL_FIELDS)
    with unit_of_work(session):
        goal = get_or_404(session, Goal, goal_id)
        if changes.get("concern_id") is not None:
            served_concern(session, changes["concern_id"], goal.patient_id)
        return apply_changes(session, goal, changes, actor=actor, expected_version=expected_version)


def plan_of_stay(session: Session, stay_id: str) -> str | None:
    """The id of the stay's first case plan, which a referral sent from the stay's page belongs to."""
    query = select(CasePlan.id).where(CasePlan.stay_id == stay_id).order_by(CasePlan.created_at).limit(1)
    plan_id: str | None = session.scalar(query)
    return plan_id
