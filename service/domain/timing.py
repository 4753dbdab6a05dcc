"""Derived times: overdue and avoidable days are computed from the record, never stored stale."""

from __future__ import annotations

from datetime import date, datetime

from service.domain.handoff_status import is_open


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and is_open(status) and due_at < now


def is_due_on(status: str, due_at: datetime | None, day: date) -> bool:
    return due_at is not None and is_open(status) and due_at.date() == day


def avoidable_days(medically_ready: date | None, discharged_on: date | None, today: date) -> int:
    """Whole days the patient stayed after being medically ready, not counting either end.

    The medically-ready day is spent arranging the discharge and the discharge day is not an
    inpatient day (midnight census), so ready Thursday and discharged Saturday counts Friday: one
    avoidable day (SCENARIOS.md, story 1). A patient still in hospital counts up to today.
    """
    if medically_ready is None:
        return 0
    end = discharged_on or today
    return max(0, (end - medically_ready).days - 1)
