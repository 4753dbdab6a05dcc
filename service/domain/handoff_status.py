"""The FHIR Task state machine that every handoff follows.

Transitions come from the Task state machine diagram in FHIR Workflow
(https://hl7.org/fhir/R4/task.html#statemachine) as profiled for referrals by the Gravity SDOH
IG (https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html): the requester owns
draft/requested/entered-in-error, the recipient owns accepted..completed, either may cancel.
"""

from __future__ import annotations

from typing import Literal

# Required binding: https://hl7.org/fhir/R4/valueset-task-status.html
TASK_STATUSES = (
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
)

# Each status as the two sides say it (rejected is what an intake coordinator calls a decline).
STATUS_WORDS = {
    "draft": "Draft",
    "requested": "Requested",
    "received": "Received",
    "accepted": "Accepted",
    "rejected": "Declined",
    "ready": "Ready",
    "cancelled": "Cancelled",
    "in-progress": "In progress",
    "on-hold": "On hold",
    "failed": "Failed",
    "completed": "Completed",
    "entered-in-error": "Entered in error",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"requested", "ready", "cancelled", "entered-in-error"}),
    "requested": frozenset({"received", "accepted", "rejected", "cancelled"}),
    "received": frozenset({"accepted", "rejected", "cancelled"}),
    "accepted": frozenset({"in-progress", "on-hold", "completed", "failed", "cancelled"}),
    "ready": frozenset({"in-progress", "cancelled"}),
    "in-progress": frozenset({"on-hold", "completed", "failed", "cancelled"}),
    "on-hold": frozenset({"in-progress", "completed", "failed", "cancelled"}),
}
TERMINAL = frozenset({"completed", "failed", "cancelled", "rejected", "entered-in-error"})
# Work that somebody still has to do: not finished and already sent (a draft is not yet anyone's job).
OPEN = frozenset(TASK_STATUSES) - TERMINAL - {"draft"}

Party = Literal["requester", "owner", "either"]
_REQUESTER_ONLY = frozenset({"draft", "requested", "entered-in-error", "ready"})
_OWNER_ONLY = frozenset({"received", "accepted", "rejected", "in-progress", "on-hold", "completed", "failed"})


def allowed_next(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def can_transition(current: str, target: str) -> bool:
    return target in allowed_next(current)


def party_for(target: str) -> Party:
    """Who may move a referral handoff into ``target`` (Gravity SDOH ownership rules)."""
    if target in _REQUESTER_ONLY:
        return "requester"
    if target in _OWNER_ONLY:
        return "owner"
    return "either"


def is_open(status: str) -> bool:
    return status in OPEN
