"""Where a referral's loop stands, derived from the ServiceRequest's status and its recipients'
Tasks, never stored stale (the case page, the worklist and the REST API show it).

- `closed`: the ServiceRequest is completed (a recipient did it, or the patient was discharged to
  the confirmed facility); its outcome is what the recipient said it did (Task.output);
- `unmet`: it was revoked (every recipient declined, or it was closed without an answer);
- `no response`: still active, nobody has taken it up, and every recipient still to answer is past
  the time its answer was due (Task.restriction.period.end, Gravity SDOH "respond by");
- `open`: otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.domain.timing import AWAITING_ANSWER, is_overdue

CLOSED, UNMET, NO_RESPONSE, OPEN = "closed", "unmet", "no response", "open"
# The accepted recipient's Task.businessStatus once the hospital confirms it (FHIR R4 Task.businessStatus:
# "the current status of the task from the perspective of the business"), so the facility sees it too.
PLACEMENT_CONFIRMED = "placement confirmed"
# The ServiceRequest statuses that still ask for the service (https://hl7.org/fhir/R4/valueset-request-status.html).
OPEN_REQUEST = frozenset({"draft", "active", "on-hold"})
# A recipient that has taken the referral up (Task state machine, https://hl7.org/fhir/R4/task.html#statemachine).
TAKEN_UP = frozenset({"accepted", "in-progress", "on-hold", "completed"})


@dataclass(frozen=True)
class Recipient:
    """One recipient's Task, as far as the loop is concerned."""

    name: str
    kind: str
    status: str
    due_at: datetime | None = None
    outcome: str | None = None
    placed: bool = False  # the hospital confirmed this facility's placement


@dataclass(frozen=True)
class Loop:
    state: str
    outcome: str | None = None


def referral_loop(referral_status: str, recipients: Sequence[Recipient], now: datetime) -> Loop:
    if referral_status == "completed":
        return Loop(CLOSED, _outcome(recipients))
    if referral_status not in OPEN_REQUEST:
        return Loop(UNMET)
    waiting = [r for r in recipients if r.status in AWAITING_ANSWER]
    taken_up = any(r.status in TAKEN_UP for r in recipients)
    if waiting and not taken_up and all(is_overdue(r.kind, r.status, r.due_at, now) for r in waiting):
        return Loop(NO_RESPONSE)
    return Loop(OPEN)


def _outcome(recipients: Sequence[Recipient]) -> str | None:
    for r in recipients:
        if r.status == "completed" and r.outcome:
            return f"{r.outcome} ({r.name})"
    return next((f"Placed with {r.name}" for r in recipients if r.placed), None)
