"""The demo data is believable: one patient per bed, and "later today" is later today where the hospital is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.demo import populate
from service.models import Handoff, Stay

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
