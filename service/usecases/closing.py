"""Closing the loop on a referral: the rules that turn its recipients' answers into the
ServiceRequest's status and the served goal's achievement, in one place for every door.

Gravity SDOH referral workflow (https://hl7.org/fhir/us/sdoh-clinicalcare/STU2/referral_workflow.html):
the recipient completes its Task saying what it did (`Task.output`), and the requester then sets
the ServiceRequest `completed` and updates the Goal. Here that happens in the same transaction as
the Task's move, so partners hear of all three through the outbox together:

- a recipient completes: the ServiceRequest is `completed`, any other recipient still open is
  cancelled (the need is met);
- every recipient declined, failed or was cancelled: the ServiceRequest is `revoked`, since
  nobody will do it (https://hl7.org/fhir/R4/valueset-request-status.html);
- nobody answered by the due time ("no response", `service.domain.referral_loop`): the requester
  may close it with a reason, which cancels the open recipients and revokes the ServiceRequest;
- the goal's achievementStatus (https://hl7.org/fhir/R4/valueset-goal-achievement.html) is
  `achieved` once a referral for it completed, `in-progress` while one is still open, and
  `not-achieved` when every one was revoked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.handoff_status import TERMINAL, is_open
from service.domain.referral_loop import (
    NO_RESPONSE,
    OPEN_REQUEST,
    PLACEMENT_CONFIRMED,
    Loop,
    Recipient,
    referral_loop,
)
from service.models import Goal, Handoff, Organization, Referral
from service.usecases import handoffs
from service.usecases.changes import apply_changes
from service.usecases.errors import ConflictError, Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work


def recipient_moved(session: Session, handoff: Handoff, *, actor: str) -> None:
    """Follow a referral recipient's move to a final status (inside the caller's transaction)."""
    referral = handoff.referral
    if referral is None or handoff.status not in TERMINAL:
        return
    if referral.status == "active":
        if handoff.status == "completed":
            _complete(session, referral, handoff, actor=actor)
        elif not any(h.status not in TERMINAL for h in referral.handoffs) and not _completed(referral):
            settle(session, referral, "revoked", actor=actor)
            return
    follow_goal(session, referral.goal_id, actor=actor)


def _completed(referral: Referral) -> bool:
    return any(h.status == "completed" for h in referral.handoffs)


def _complete(session: Session, referral: Referral, done: Handoff, *, actor: str) -> None:
    """The need is met: the others' offers are no longer wanted (either party may cancel)."""
    name = get_or_404(session, Organization, done.owner_org_id).name
    for other in referral.handoffs:
        if other.id != done.id and is_open(other.status):
            handoffs.move_handoff(session, other, "cancelled", actor=actor, reason=f"Completed by {name}")
    settle(session, referral, "completed", actor=actor)


def settle(session: Session, referral: Referral, status: str, *, actor: str, note: str | None = None) -> None:
    """Set the referral's status (inside the caller's transaction) and let its goal follow."""
    changes: dict[str, object] = {"status": status}
    if note:
        changes["notes"] = [*referral.notes, note]
    apply_changes(session, referral, changes, actor=actor, action="close_loop")
    follow_goal(session, referral.goal_id, actor=actor)


def follow_goal(session: Session, goal_id: str | None, *, actor: str) -> None:
    """The goal's achievementStatus from the referrals that serve it (none: left as it is)."""
    if goal_id is None:
        return
    serving = select(Referral.status).where(Referral.goal_id == goal_id, Referral.status != "entered-in-error")
    statuses = set(session.scalars(serving))
    if not statuses:
        return
    if "completed" in statuses:
        achievement = "achieved"
    elif statuses & OPEN_REQUEST:
        achievement = "in-progress"
    else:
        achievement = "not-achieved"
    goal = get_or_404(session, Goal, goal_id)
    if goal.achievement_status != achievement:
        apply_changes(session, goal, {"achievement_status": achievement}, actor=actor, action="follow_referrals")


def close_unanswered(session: Session, referral_id: str, *, reason: str, actor: str, now: datetime) -> Referral:
    """Close a referral nobody answered by its due time: the open recipients are cancelled with
    `reason` (Task.statusReason) and the ServiceRequest is revoked."""
    if not reason.strip():
        raise Invalid("say why the referral is closed", fields={"reason": ["must not be blank"]})
    with unit_of_work(session):
        referral = get_or_404(session, Referral, referral_id)
        state = loop_of(session, referral, now).state
        if state != NO_RESPONSE:
            raise ConflictError(
                f"referral {referral.id} is not waiting past its due time for an answer; only an unanswered "
                "referral is closed this way",
                details={"state": state},
            )
        settle(session, referral, "revoked", actor=actor, note=f"Closed without an answer: {reason}")
        for handoff in referral.handoffs:
            if is_open(handoff.status):
                handoffs.move_handoff(session, handoff, "cancelled", actor=actor, reason=reason)
        return referral


def loop_of(session: Session, referral: Referral, now: datetime) -> Loop:
    """Where the referral's loop stands now (`service.domain.referral_loop`)."""
    owners = {h.owner_org_id for h in referral.handoffs}
    query = select(Organization.id, Organization.name).where(Organization.id.in_(sorted(owners)))
    names = {org_id: name for org_id, name in session.execute(query)}
    return referral_loop(referral.status, [recipient(h, names[h.owner_org_id]) for h in referral.handoffs], now)


def recipient(handoff: Handoff, name: str) -> Recipient:
    return Recipient(
        name=name, kind=handoff.kind, status=handoff.status, due_at=handoff.due_at, outcome=handoff.outcome,
        placed=handoff.business_status == PLACEMENT_CONFIRMED,
    )  # fmt: skip
