"""`changes.create_all`: many records at once, with what `create` writes for each one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditRecord, ChangeEvent, Patient
from service.usecases import audit, changes


def test_create_all_stores_the_rows_with_their_defaults_audit_entries_and_events(session: Session) -> None:
    rows = changes.create_all(
        session, Patient, [{"family_name": "Lee", "given_name": "Ann"}, {"family_name": "Ng", "given_name": "Bo"}],
        actor="test",
    )  # fmt: skip

    stored = [session.get_one(Patient, row["id"]) for row in rows]
    assert [p.family_name for p in stored] == ["Lee", "Ng"] and all(p.created_at for p in stored)
    for patient in stored:
        entry = session.scalars(select(AuditRecord).where(AuditRecord.entity_id == patient.id)).one()
        assert (entry.action, entry.actor, entry.before) == ("create", "test", None)
        assert entry.after == audit.snapshot(patient)
        event = session.scalars(select(ChangeEvent).where(ChangeEvent.entity_id == patient.id)).one()
        assert (event.entity_type, event.patient_id, event.action) == ("Patient", patient.id, "create")
    # The relay trigger (service.tasks.relay) sends the relay after commit: no ORM ChangeEvent was flushed.
    assert session.info[changes.EVENTS_WRITTEN] is True
