from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from service.usecases import handoffs, referrals, stays
from service.usecases.errors import Invalid
from service.usecases.worklist import WorklistFilter, worklist
from tests.factories import Case, build_case, hospital_transport


def test_row_counts_open_overdue_due_today_unmet_and_barriers(session: Session, case: Case, now: datetime) -> None:
    common = {"patient_id": case.patient.id, "stay_id": case.stay.id, "requester_org_id": case.hospital.id}
    handoffs.create_handoff(
        session, actor="p", kind="transport", owner_org_id=case.hospital.id, due_at=now - timedelta(hours=1), **common
    )
    handoffs.create_handoff(
        session,
        actor="p",
        kind="payer_authorization",
        owner_org_id=case.payer.id,
        due_at=now + timedelta(hours=3),
        **common,
    )
    done = handoffs.create_handoff(
        session, actor="p", kind="other", owner_org_id=case.payer.id, due_at=now - timedelta(hours=5), **common
    )
    handoffs.transition_handoff(session, done.id, "cancelled", actor="p", reason="no longer needed")
    stays.set_readiness(session, case.stay.id, "transport", met=True, actor="p")
    stays.open_barrier(session, case.stay.id, category="post_acute_bed", note="needs SNF bed", actor="p")

    page = worklist(session, now=now, tz=UTC)
    (row,) = page.rows
    assert (row.open_handoffs, row.overdue_handoffs, row.due_today_handoffs) == (2, 1, 1)
    assert "transport" not in row.unmet_readiness and len(row.unmet_readiness) == row.readiness_total - 1
    assert [b.note for b in row.open_barriers] == ["needs SNF bed"]
    assert row.days_to_edd == 3 and page.next_cursor is None


def test_due_today_follows_the_time_zone(session: Session, case: Case, now: datetime) -> None:
    # 09:00 UTC on the 10th is 05:00 in New York; a task due 02:00 UTC on the 11th is due "today" there.
    hospital_transport(session, case, datetime(2026, 3, 11, 2, tzinfo=UTC))
    assert worklist(session, now=now, tz=UTC).rows[0].due_today_handoffs == 0
    assert worklist(session, now=now, tz=ZoneInfo("America/New_York")).rows[0].due_today_handoffs == 1


def test_sorted_by_edd_paged_and_filtered(session: Session, now: datetime) -> None:
    cases = [build_case(session, now, mrn=f"MRN-{i}") for i in range(5)]
    for i, c in enumerate(cases):
        stays.update_stay(
            session,
            c.stay.id,
            {"expected_discharge_date": (now + timedelta(days=5 - i)).date(), "unit": "ICU" if i % 2 else "4 West"},
            actor="p",
        )
    cases[0].stay.expected_discharge_date = None  # as admitted from an ADT feed, before anyone planned it
    session.commit()
    first = worklist(session, now=now, tz=UTC, limit=2)
    second = worklist(session, now=now, tz=UTC, limit=2, cursor=first.next_cursor)
    third = worklist(session, now=now, tz=UTC, limit=2, cursor=second.next_cursor)
    order = [r.stay.id for p in (first, second, third) for r in p.rows]
    assert order == [cases[i].stay.id for i in (4, 3, 2, 1, 0)]  # no EDD sorts last
    assert third.next_cursor is None
    icu = worklist(session, now=now, tz=UTC, filters=WorklistFilter(unit="ICU"))
    assert {r.stay.unit for r in icu.rows} == {"ICU"} and len(icu.rows) == 2
    mine = worklist(session, now=now, tz=UTC, filters=WorklistFilter(planner_id=cases[2].planner.id))
    assert [r.stay.id for r in mine.rows] == [cases[2].stay.id]
    with pytest.raises(Invalid):
        worklist(session, now=now, tz=UTC, cursor="%%%not-a-cursor")


def test_has_overdue_filter_and_referral_overdue_at_24h(session: Session, case: Case, now: datetime) -> None:
    other = build_case(session, now, mrn="MRN-2")
    referrals.send_referral(
        session,
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        service="snf_placement",
        recipient_org_ids=[case.snfs[0].id],
        requester_org_id=case.hospital.id,
        actor="p",
    )
    assert worklist(session, now=now, tz=UTC, filters=WorklistFilter(has_overdue=True)).rows == []
    later = now + timedelta(hours=25)
    rows = worklist(session, now=later, tz=UTC, filters=WorklistFilter(has_overdue=True)).rows
    assert [r.stay.id for r in rows] == [case.stay.id] and rows[0].overdue_handoffs == 1
    assert other.stay.id in {r.stay.id for r in worklist(session, now=later, tz=UTC).rows}


def test_other_orders_are_sorted_and_paged_by_the_database(session: Session, now: datetime) -> None:
    cases = [build_case(session, now, mrn=f"MRN-{i}") for i in range(4)]
    ready = [None, now - timedelta(days=5), now - timedelta(days=2), now - timedelta(days=3)]
    # Avoidable days (SCENARIOS.md story 1, neither end counted): 0, 4, 1 and 2.
    for c, day, family in zip(cases, ready, ("Cole", "adams", "Baker", "Dunn"), strict=True):
        c.stay.medically_ready_date = day.date() if day else None
        c.patient.family_name = family
    session.commit()
    for due in (now - timedelta(hours=2), now - timedelta(hours=1)):
        hospital_transport(session, cases[2], due)
    hospital_transport(session, cases[0], now - timedelta(hours=1))

    def order(sort: str, *, descending: bool = False, offset: int = 0, limit: int = 4) -> list[str]:
        page = worklist(session, now=now, tz=UTC, sort=sort, descending=descending, offset=offset, limit=limit)
        return [r.stay.id for r in page.rows]

    def ids(*indexes: int) -> list[str]:
        return [cases[i].stay.id for i in indexes]

    assert order("avoidable", descending=True) == ids(1, 3, 2, 0)
    most_first = worklist(session, now=now, tz=UTC, sort="avoidable", descending=True).rows
    assert [r.avoidable_days for r in most_first] == [4, 2, 1, 0]
    assert order("avoidable") == ids(0, 2, 3, 1)
    first = worklist(session, now=now, tz=UTC, sort="avoidable", descending=True, limit=2)
    assert first.has_more and first.next_cursor is None
    assert order("avoidable", descending=True, offset=2, limit=2) == ids(2, 0)
    assert not worklist(session, now=now, tz=UTC, sort="avoidable", descending=True, offset=2, limit=2).has_more
    assert order("patient") == ids(1, 2, 0, 3)  # adams, Baker, Cole, Dunn: case does not matter
    assert order("ready") == ids(1, 3, 2, 0)  # no medically-ready date sorts last
    assert order("overdue", descending=True)[:2] == ids(2, 0)
    with pytest.raises(Invalid):
        worklist(session, now=now, tz=UTC, sort="password")
