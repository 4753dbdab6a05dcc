"""Inpatient stays: admission, planning dates, readiness checklist and barriers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from service import clock
from service.models import Barrier, Organization, Patient, ReadinessItem, Stay, User
from service.models.stays import BARRIER_CATEGORIES, READINESS_ITEMS
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work

EDITABLE = {"unit", "bed", "planner_id", "expected_discharge_date", "medically_ready_date"}
# An active stay keeps where the patient is and when they are expected to leave once known:
# the worklist sorts and flags by them.
KEPT_ONCE_SET = {
    "unit": "Keep the unit; type the new one.",
    "expected_discharge_date": "Keep a date; pick the new one.",
}


def _check_dates(admitted_at: datetime, edd: date | None, ready: date | None) -> None:
    errors: dict[str, list[str]] = {}
    if edd is not None and edd < admitted_at.date():
        errors["expected_discharge_date"] = ["is before the admission date"]
    if ready is not None and ready < admitted_at.date():
        errors["medically_ready_date"] = ["is before the admission date"]
    if errors:
        raise Invalid("the planning dates do not fit the stay", fields=errors)


def admit(
    session: Session,
    *,
    patient_id: str,
    hospital_id: str,
    admitted_at: datetime,
    actor: str,
    unit: str | None = None,
    bed: str | None = None,
    planner_id: str | None = None,
    expected_discharge_date: date | None = None,
    medically_ready_date: date | None = None,
    source_system: str | None = None,
    source_id: str | None = None,
) -> Stay:
    """Open an inpatient stay with a fresh readiness checklist."""
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        hospital = get_or_404(session, Organization, hospital_id)
        if hospital.kind != "hospital":
            raise Invalid("a stay belongs to a hospital", fields={"hospital_id": [f"is a {hospital.kind}"]})
        if planner_id is not None:
            get_or_404(session, User, planner_id)
        _check_dates(admitted_at, expected_discharge_date, medically_ready_date)
        stay = Stay(
            patient_id=patient_id,
            hospital_id=hospital_id,
            status="in-progress",
            admitted_at=admitted_at,
            unit=unit,
            bed=bed,
            planner_id=planner_id,
            expected_discharge_date=expected_discharge_date,
            medically_ready_date=medically_ready_date,
            source_system=source_system,
            source_id=source_id,
            readiness_items=[ReadinessItem(code=code, position=i) for i, code in enumerate(READINESS_ITEMS)],
        )
        return create(session, stay, actor=actor)


def update_stay(session: Session, stay_id: str, changes: Mapping[str, Any], *, actor: str) -> Stay:
    with unit_of_work(session):
        stay = get_or_404(session, Stay, stay_id)
        unknown = set(changes) - EDITABLE
        if unknown:
            raise Invalid("these fields cannot be changed here", fields={k: ["not editable"] for k in sorted(unknown)})
        if stay.status != "in-progress":
            raise ConflictError(f"stay {stay_id} is {stay.status}; only an active stay can be re-planned")
        blanked = {
            name: [message]
            for name, message in KEPT_ONCE_SET.items()
            if name in changes and changes[name] in (None, "") and getattr(stay, name) is not None
        }
        if blanked:
            raise Invalid("an active stay keeps its unit and expected discharge date", fields=blanked)
        if changes.get("planner_id"):
            get_or_404(session, User, changes["planner_id"])
        _check_dates(
            stay.admitted_at,
            changes.get("expected_discharge_date", stay.expected_discharge_date),
            changes.get("medically_ready_date", stay.medically_ready_date),
        )
        return apply_changes(session, stay, changes, actor=actor)


def set_readiness(session: Session, stay_id: str, code: str, *, met: bool, actor: str) -> ReadinessItem:
    with unit_of_work(session):
        stay = get_or_404(session, Stay, stay_id)
        item = next((i for i in stay.readiness_items if i.code == code), None)
        if item is None:
            raise Invalid("unknown readiness item", fields={"code": [f"must be one of {', '.join(READINESS_ITEMS)}"]})
        if item.handoff_id is not None:
            raise ConflictError(
                "This item is done when its handoff is completed; update that handoff instead.",
                details={"code": code, "handoff_id": item.handoff_id},
            )
        changes = {"met": met, "met_at": clock.now() if met else None, "met_by": actor if met else None}
        return apply_changes(session, item, changes, actor=actor, action="readiness")


def open_barrier(session: Session, stay_id: str, *, category: str, note: str, actor: str) -> Barrier:
    if category not in BARRIER_CATEGORIES:
        raise Invalid(
            "unknown barrier category", fields={"category": [f"must be one of {', '.join(BARRIER_CATEGORIES)}"]}
        )
    with unit_of_work(session):
        get_or_404(session, Stay, stay_id)
        barrier = Barrier(stay_id=stay_id, category=category, note=note, opened_at=clock.now(), opened_by=actor)
        return create(session, barrier, actor=actor)


def resolve_barrier(session: Session, barrier_id: str, *, actor: str, note: str | None = None) -> Barrier:
    with unit_of_work(session):
        barrier = get_or_404(session, Barrier, barrier_id)
        if barrier.resolved_at is not None:
            raise ConflictError(
                "This barrier was already resolved.", details={"resolved_at": barrier.resolved_at.isoformat()}
            )
        changes: dict[str, Any] = {"resolved_at": clock.now(), "resolved_by": actor}
        if note:
            changes["note"] = f"{barrier.note}\n{note}".strip()
        return apply_changes(session, barrier, changes, actor=actor, action="resolve")
