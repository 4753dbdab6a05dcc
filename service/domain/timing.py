"""Derived times: overdue and avoidable days are computed from the record, never stored stale."""

from __future__ import annotations

from datetime import date, datetime

from service.domain.handoff_status import OPEN

# A referral recipient's due time is for its answer (Task.restriction.period.end, "respond by" in
# the Gravity SDOH referral): once it has accepted, the decision is no longer late. Other
# handoffs (an authorisation, a call, a delivery) are due until they are done.
DECISION_KINDS = frozenset({"referral_decision"})
AWAITING_ANSWER = frozenset({"requested", "received"})


def counts_against_due(kind: str, status: str) -> bool:
    """Whether the handoff's due time still applies in this status."""
    return status in (AWAITING_ANSWER if kind in DECISION_KINDS else OPEN)


def is_overdue(kind: str, status: str, due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and counts_against_due(kind, status) and due_at < now


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
