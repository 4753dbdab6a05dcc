"""The demo data is believable: one patient per bed, and "later today" is later today where the hospital is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.demo import populate
from service.models import Handoff, Patient, Stay

NEW_YORK = ZoneInfo("America/New_York")


def test_distinct_beds_and_due_times_within_the_local_day(session: Session) -> None:
    # 02:00 UTC on the 11th is 22:00 on Tuesday 10 March in New York: two hours of "today" are left.
    loaded_at = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    with clock.frozen_at(loaded_at):
        populate(session, stays=25, seed=7)
    beds = session.execute(select(Stay.unit, Stay.bed)).all()
    assert len(beds) == 25 and len(set(beds)) == 25
    vans = session.scalars(select(Handoff).where(Handoff.description == "Wheelchair van to home")).all()
    assert vans
    for van in vans:
        due = van.due_at if van.due_at.tzinfo else van.due_at.replace(tzinfo=UTC)
        assert due > loaded_at
        assert due.astimezone(NEW_YORK).date() == date(2026, 3, 10)


def test_a_member_id_comes_with_its_payer(session: Session) -> None:
    populate(session, stays=10, seed=7)
    patients = {p.family_name: p for p in session.scalars(select(Patient))}
    assert patients["Anders"].payer_id is not None  # the first card of the queue shows his payer
    for patient in patients.values():
        has_member_id = any(i.kind == "member_id" for i in patient.identifiers)
        assert has_member_id == (patient.payer_id is not None), patient.family_name
    assert sum(p.payer_id is None for p in patients.values()) == 2  # one in five uninsured
