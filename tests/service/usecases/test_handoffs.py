from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.handoff_status import TASK_STATUSES, TRANSITIONS
from service.models import AuditRecord, Handoff
from service.usecases import handoffs
from service.usecases.errors import ConflictError, IllegalTransition, Invalid, NotFound, VersionMismatch
from tests.factories import Case


def _handoff(session: Session, case: Case, now: datetime, **kw: object) -> Handoff:
    fields = {
        "patient_id": case.patient.id,
        "stay_id": case.stay.id,
        "kind": "payer_authorization",
        "owner_org_id": case.payer.id,
        "requester_org_id": case.hospital.id,
        "due_at": now + timedelta(hours=4),
    } | kw
    return handoffs.create_handoff(session, actor="user:planner", **fields)


def _drive_to(session: Session, handoff: Handoff, status: str) -> None:
    """Walk a fresh 'draft' handoff to ``status`` along allowed transitions (breadth-first)."""
    paths = {"draft": []}
    queue = ["draft"]
    while queue:
        current = queue.pop(0)
        for nxt in sorted(TRANSITIONS.get(current, ())):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    for step in paths[status]:
        handoffs.transition_handoff(session, handoff.id, step, actor="test", reason="test")


def test_create_records_timeline_and_audit(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    assert h.status == "requested" and [e.to_status for e in h.events] == ["requested"]
    audit = session.scalars(select(AuditRecord).where(AuditRecord.entity_id == h.id)).all()
    assert [a.action for a in audit] == ["create"] and audit[0].after["status"] == "requested"


def test_payer_authorisation_requested_accepted_completed(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    handoffs.transition_handoff(session, h.id, "accepted", actor="payer", acting_org_id=case.payer.id)
    handoffs.transition_handoff(
        session, h.id, "completed", actor="payer", acting_org_id=case.payer.id, business_status="auth approved"
    )
    session.refresh(h)
    assert h.status == "completed" and h.business_status == "auth approved" and h.execution_end == now
    assert [(e.from_status, e.to_status) for e in h.events] == [
        (None, "requested"),
        ("requested", "accepted"),
        ("accepted", "completed"),
    ]
    before_after = session.scalars(
        select(AuditRecord).where(AuditRecord.entity_id == h.id, AuditRecord.action == "transition")
    ).all()
    assert [(a.before["status"], a.after["status"]) for a in before_after] == [
        ("requested", "accepted"),
        ("accepted", "completed"),
    ]


ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in TASK_STATUSES for b in TASK_STATUSES if (a, b) not in ALLOWED],
)
def test_every_refused_transition_is_409_naming_allowed_states(
    session: Session, case: Case, now: datetime, current: str, target: str
) -> None:
    h = _handoff(session, case, now, status="draft")
    _drive_to(session, h, current)
    with pytest.raises(IllegalTransition) as err:
        handoffs.transition_handoff(session, h.id, target, actor="test")
    assert err.value.status == 409
    assert err.value.details["allowed"] == sorted(TRANSITIONS.get(current, ()))
    session.refresh(h)
    assert h.status == current  # nothing half-written


def test_only_owner_may_accept(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    with pytest.raises(ConflictError, match="Only the organisation it was sent to"):
        handoffs.transition_handoff(session, h.id, "accepted", actor="x", acting_org_id=case.hospital.id)
    handoffs.transition_handoff(session, h.id, "cancelled", actor="x", acting_org_id=case.hospital.id, reason="n/a")


def test_stale_version_is_refused(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    with pytest.raises(VersionMismatch):
        handoffs.transition_handoff(session, h.id, "accepted", actor="x", expected_version=h.version + 5)


def test_unknown_status_kind_and_handoff(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    with pytest.raises(Invalid):
        handoffs.transition_handoff(session, h.id, "bogus", actor="x")
    with pytest.raises(Invalid):
        _handoff(session, case, now, kind="teleport")
    with pytest.raises(Invalid):
        _handoff(session, case, now, status="completed")
    with pytest.raises(NotFound):
        handoffs.transition_handoff(session, "nope", "accepted", actor="x")


def test_business_status_and_notes(session: Session, case: Case, now: datetime) -> None:
    h = _handoff(session, case, now)
    handoffs.set_business_status(session, h.id, "awaiting clinicals", actor="payer")
    handoffs.add_note(session, h.id, "faxed H&P", actor="planner")
    session.refresh(h)
    assert h.business_status == "awaiting clinicals"
    assert h.notes[-1]["text"] == "faxed H&P" and h.events[-1].business_status == "awaiting clinicals"
    with pytest.raises(Invalid):
        handoffs.add_note(session, h.id, "   ", actor="planner")


def test_owner_queue_earliest_due_first_open_only(session: Session, case: Case, now: datetime) -> None:
    late = _handoff(session, case, now, due_at=now + timedelta(hours=8))
    soon = _handoff(session, case, now, due_at=now + timedelta(hours=1))
    done = _handoff(session, case, now)
    handoffs.transition_handoff(session, done.id, "cancelled", actor="x", reason="no longer needed")
    assert [h.id for h in handoffs.owner_queue(session, case.payer.id)] == [soon.id, late.id]
    assert len(handoffs.owner_queue(session, case.payer.id, include_closed=True)) == 3
