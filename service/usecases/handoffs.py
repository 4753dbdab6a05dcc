"""Handoffs: create, move through the Task state machine, business status and notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.auth import policy
from service.auth.context import AccessContext
from service.domain.handoff_status import (
    OPEN,
    STATUS_WORDS,
    TASK_STATUSES,
    TERMINAL,
    allowed_next,
    can_transition,
    party_for,
)
from service.domain.timing import DECISION_KINDS
from service.models import Handoff, HandoffEvent, Organization, Patient, ReadinessItem, Stay
from service.models.handoffs import HANDOFF_KINDS
from service.usecases import closing
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, IllegalTransition, Invalid, VersionMismatch
from service.usecases.unit_of_work import get_or_404, unit_of_work

# Saying no or withdrawing must tell the other side why (Task.statusReason; Gravity SDOH referral
# workflow: https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html), whichever door it comes through.
NEEDS_REASON = {"rejected": "Say why the referral is declined.", "cancelled": "Say why it is cancelled."}
# A recipient that completes a referral says what it did (Task.output, the Gravity SDOH "resulting
# activity"): that outcome is what closes the loop for the requester (service.usecases.closing).
NEEDS_OUTCOME = "Say what was done for the patient."


def new_handoff(
    session: Session,
    *,
    patient_id: str,
    kind: str,
    owner_org_id: str,
    requester_org_id: str,
    actor: str,
    due_at: datetime | None = None,
    stay_id: str | None = None,
    referral_id: str | None = None,
    description: str | None = None,
    status: str = "requested",
    owner_user_id: str | None = None,
) -> Handoff:
    """Add a handoff inside the caller's transaction (used by other use cases too)."""
    if kind not in HANDOFF_KINDS:
        raise Invalid("unknown handoff kind", fields={"kind": [f"must be one of {', '.join(HANDOFF_KINDS)}"]})
    if status not in ("draft", "requested", "ready"):
        raise Invalid(
            "a handoff starts as draft, requested or ready", fields={"status": [f"'{status}' is not a start state"]}
        )
    for org_id in (owner_org_id, requester_org_id):
        get_or_404(session, Organization, org_id)
    now = clock.now()
    handoff = Handoff(
        patient_id=patient_id,
        stay_id=stay_id,
        referral_id=referral_id,
        kind=kind,
        description=description,
        owner_org_id=owner_org_id,
        owner_user_id=owner_user_id,
        requester_org_id=requester_org_id,
        status=status,
        due_at=due_at,
        authored_on=now,
        status_changed_at=now,
        notes=[],
    )
    handoff.events.append(HandoffEvent(at=now, actor=actor, from_status=None, to_status=status))
    return create(session, handoff, actor=actor)


def create_handoff(session: Session, *, actor: str, **fields: object) -> Handoff:
    with unit_of_work(session):
        get_or_404(session, Patient, str(fields["patient_id"]))
        if fields.get("stay_id"):
            get_or_404(session, Stay, str(fields["stay_id"]))
        return new_handoff(session, actor=actor, **fields)  # type: ignore[arg-type]


PARTY_WORDS = {"owner": "the organisation it was sent to", "requester": "the organisation that sent it"}


def _check_party(handoff: Handoff, target: str, acting_org_id: str | None) -> None:
    if not policy.task_move_allowed(acting_org_id, handoff, target):
        party = party_for(target)
        raise ConflictError(
            f"Only {PARTY_WORDS[party]} may set it to '{STATUS_WORDS.get(target, target).lower()}'.",
            details={"party": party, "owner": handoff.owner_org_id, "requester": handoff.requester_org_id},
        )


def move_handoff(
    session: Session,
    handoff: Handoff,
    target: str,
    *,
    actor: str,
    reason: str | None = None,
    business_status: str | None = None,
    acting_org_id: str | None = None,
    outcome: str | None = None,
) -> Handoff:
    """Transition inside the caller's transaction; records the timeline event and the audit entry,
    and follows a referral recipient's final move through to the referral and its goal."""
    if target not in TASK_STATUSES:
        raise Invalid("unknown status", fields={"status": [f"must be one of {', '.join(TASK_STATUSES)}"]})
    if not can_transition(handoff.status, target):
        raise IllegalTransition(handoff.status, target, allowed_next(handoff.status))
    _check_party(handoff, target, acting_org_id)
    if target in NEEDS_REASON and not (reason or "").strip():
        raise Invalid("a reason is needed", fields={"reason": [NEEDS_REASON[target]]})
    _check_outcome(handoff, target, outcome)
    now = clock.now()
    changes: dict[str, object] = {"status": target, "status_changed_at": now}
    if reason is not None:
        changes["status_reason"] = reason
    if business_status is not None:
        changes["business_status"] = business_status
    if outcome is not None:
        changes["outcome"] = outcome.strip()
    if target == "in-progress" and handoff.execution_start is None:
        changes["execution_start"] = now
    if target in ("completed", "failed", "cancelled") and handoff.execution_end is None:
        changes["execution_end"] = now
    from_status = handoff.status
    apply_changes(session, handoff, changes, actor=actor, action="transition")
    handoff.events.append(
        HandoffEvent(
            at=now,
            actor=actor,
            from_status=from_status,
            to_status=target,
            business_status=business_status,
            reason=reason,
        )
    )
    if target == "completed":
        _meet_linked_readiness(session, handoff, actor)
    if target in TERMINAL:
        closing.recipient_moved(session, handoff, actor=actor)
    return handoff


def _check_outcome(handoff: Handoff, target: str, outcome: str | None) -> None:
    if outcome is not None and target != "completed":
        raise Invalid("an outcome is said on completion", fields={"outcome": ["only with status completed"]})
    if target == "completed" and handoff.kind in DECISION_KINDS and not (outcome or "").strip():
        raise Invalid("an outcome is needed", fields={"outcome": [NEEDS_OUTCOME]})


def _meet_linked_readiness(session: Session, handoff: Handoff, actor: str) -> None:
    for item in session.scalars(select(ReadinessItem).where(ReadinessItem.handoff_id == handoff.id)):
        apply_changes(
            session, item, {"met": True, "met_at": clock.now(), "met_by": actor}, actor=actor, action="readiness"
        )


def transition_handoff(
    session: Session,
    handoff_id: str,
    target: str,
    *,
    actor: str,
    reason: str | None = None,
    business_status: str | None = None,
    expected_version: int | None = None,
    acting_org_id: str | None = None,
    outcome: str | None = None,
) -> Handoff:
    with unit_of_work(session):
        handoff = get_or_404(session, Handoff, handoff_id)
        _check_version(handoff, expected_version)
        return move_handoff(
            session,
            handoff,
            target,
            actor=actor,
            reason=reason,
            business_status=business_status,
            acting_org_id=acting_org_id,
            outcome=outcome,
        )


def _check_version(handoff: Handoff, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != handoff.version:
        raise VersionMismatch("Handoff", handoff.id, expected_version, handoff.version)


def set_business_status(
    session: Session, handoff_id: str, business_status: str | None, *, actor: str, expected_version: int | None = None
) -> Handoff:
    with unit_of_work(session):
        handoff = get_or_404(session, Handoff, handoff_id)
        _check_version(handoff, expected_version)
        return _set_business_status(session, handoff, business_status, actor)


def _set_business_status(session: Session, handoff: Handoff, business_status: str | None, actor: str) -> Handoff:
    apply_changes(session, handoff, {"business_status": business_status}, actor=actor)
    handoff.events.append(
        HandoffEvent(
            at=clock.now(),
            actor=actor,
            from_status=handoff.status,
            to_status=handoff.status,
            business_status=business_status,
        )
    )
    return handoff


def add_note(session: Session, handoff_id: str, text: str, *, actor: str) -> Handoff:
    if not text.strip():
        raise Invalid("a note needs text", fields={"text": ["Write the note first."]})
    with unit_of_work(session):
        handoff = get_or_404(session, Handoff, handoff_id)
        return _append_note(session, handoff, text, actor)


def _append_note(session: Session, handoff: Handoff, text: str, actor: str) -> Handoff:
    note = {"at": clock.now().isoformat(), "author": actor, "text": text.strip()}
    return apply_changes(session, handoff, {"notes": [*handoff.notes, note]}, actor=actor, action="note")


# The businessStatus of a referral whose recipient asked the requester something before deciding.
INFORMATION_REQUESTED = "information requested"


def ask_for_information(
    session: Session,
    handoff_id: str,
    question: str,
    *,
    actor: str,
    acting_org_id: str | None = None,
    expected_version: int | None = None,
) -> Handoff:
    """The recipient asks the requester before deciding: the question joins the handoff's notes, its
    businessStatus says so, and a requested Task becomes received (R4 Task.status "received": the
    potential performer has the task but has not yet agreed to perform it,
    https://hl7.org/fhir/R4/codesystem-task-status.html)."""
    if not question.strip():
        raise Invalid("a question needs text", fields={"question": ["Say what the hospital should send or answer."]})
    with unit_of_work(session):
        handoff = get_or_404(session, Handoff, handoff_id)
        _check_version(handoff, expected_version)
        if handoff.status == "requested":
            move_handoff(
                session,
                handoff,
                "received",
                actor=actor,
                business_status=INFORMATION_REQUESTED,
                acting_org_id=acting_org_id,
            )
        elif handoff.status == "received":
            if acting_org_id is not None and acting_org_id != handoff.owner_org_id:
                raise ConflictError("Only the organisation the referral was sent to asks for information about it.")
            _set_business_status(session, handoff, INFORMATION_REQUESTED, actor)
        else:
            raise ConflictError(
                "This referral was already answered or closed: information is asked for before deciding.",
                details={"status": handoff.status},
            )
        return _append_note(session, handoff, question, actor)


def owner_queue(
    session: Session, owner_org_id: str, *, include_closed: bool = False, ctx: AccessContext | None = None
) -> list[Handoff]:
    """The handoffs an organisation must act on, most urgent (earliest due) first; those `ctx` may
    see when a principal asks (None: carebridge itself, e.g. the scenario checks)."""
    get_or_404(session, Organization, owner_org_id)
    query = select(Handoff).where(Handoff.owner_org_id == owner_org_id)
    if ctx is not None:
        query = query.where(policy.visible_rows(ctx, "Task"))
    if not include_closed:
        query = query.where(Handoff.status.in_(OPEN))
    return list(session.scalars(query.order_by(Handoff.due_at.is_(None), Handoff.due_at, Handoff.id)))
