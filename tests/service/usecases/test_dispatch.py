from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ChangeEvent
from service.usecases import handoffs
from service.usecases.dispatch import dispatch_pending
from service.usecases.errors import Invalid
from tests.factories import Case


def test_changes_write_outbox_events_in_the_same_transaction(session: Session, case: Case, now: datetime) -> None:
    h = handoffs.create_handoff(
        session,
        actor="p",
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        kind="transport",
        owner_org_id=case.hospital.id,
        requester_org_id=case.hospital.id,
    )
    handoffs.transition_handoff(session, h.id, "accepted", actor="p")
    events = session.scalars(select(ChangeEvent).where(ChangeEvent.entity_id == h.id).order_by(ChangeEvent.id)).all()
    assert [(e.action, e.version, e.patient_id) for e in events] == [
        ("create", 1, case.patient.id),
        ("transition", 2, case.patient.id),
    ]


def test_refused_change_leaves_no_event(session: Session, case: Case) -> None:
    before = len(session.scalars(select(ChangeEvent)).all())
    with pytest.raises(Invalid):
        handoffs.create_handoff(
            session,
            actor="p",
            patient_id=case.patient.id,
            kind="teleport",
            owner_org_id=case.hospital.id,
            requester_org_id=case.hospital.id,
        )
    assert len(session.scalars(select(ChangeEvent)).all()) == before


def test_relay_fans_out_each_event_once(session: Session, case: Case, now: datetime) -> None:
    seen: list[tuple[str, str]] = []
    n = dispatch_pending(session, [lambda _s, e: seen.append((e.entity_type, e.action))])
    assert n == len(seen) > 0 and ("Stay", "create") in seen
    assert dispatch_pending(session, [lambda _s, e: seen.append(("again", ""))]) == 0
    assert session.scalar(select(ChangeEvent).where(ChangeEvent.dispatched_at.is_(None))) is None
