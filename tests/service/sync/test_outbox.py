"""The partner outbox (service/sync/outbox.py): which partners a change is queued for."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import Delivery, Partner
from service.sync.outbox import claim, fence, renew
from service.usecases import plans
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.partners import add_partner
from tests.factories import Case, build_case


def _partner(session: Session, name: str, kind: str, organization_id: str, push: list[str]) -> Partner:
    return add_partner(
        session, name=name, kind=kind, organization_id=organization_id, fhir_base=f"http://127.0.0.1:9/{name}/fhir",
        client_id="carebridge", token_endpoint="http://127.0.0.1:9/token", key_kid="k1", scopes="system/*.cruds",
        pull_types=[], push_types=push,
    )  # fmt: skip


def _queued_for(session: Session, entity_id: str) -> set[str]:
    rows = session.execute(
        select(Partner.name).join(Delivery, Delivery.partner_id == Partner.id).where(Delivery.entity_id == entity_id)
    )
    return set(rows.scalars())


def test_a_change_is_queued_only_for_partners_whose_organisation_may_read_it(
    session: Session, case: Case, now: datetime
) -> None:
    other = build_case(session, now, mrn="MRN-OTHER")
    _partner(session, "our-ehr", "ehr", case.hospital.id, ["CarePlan"])
    _partner(session, "our-payer", "payer", case.payer.id, ["CarePlan"])
    _partner(session, "their-payer", "payer", other.payer.id, ["CarePlan"])
    _partner(session, "our-payer-tasks-only", "payer", case.payer.id, ["Task"])

    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Discharge plan", actor="planner")
    while dispatch_pending(session, CONSUMERS):
        pass

    # Another payer never hears of a non-member's plan (issue #5: a payer sees only its members).
    assert _queued_for(session, plan.id) == {"our-ehr", "our-payer"}


def test_a_renewed_lease_holds_and_a_crashed_workers_rows_return_after_one_lease(
    session: Session, case: Case, now: datetime
) -> None:
    partner = _partner(session, "our-ehr", "ehr", case.hospital.id, ["CarePlan"])
    plans.create_case_plan(session, patient_id=case.patient.id, title="Discharge plan", actor="planner")
    dispatch_pending(session, CONSUMERS)
    lease = timedelta(seconds=30)

    def at(seconds: int) -> None:
        clock.set_clock(lambda: now + timedelta(seconds=seconds))

    first = fence(claim(session, partner.id, limit=10, lease=lease))
    assert len(first) == 1
    at(20)
    assert claim(session, partner.id, limit=10, lease=lease) == []
    assert renew(session, first, lease) == 1  # the heartbeat: held until 50 s
    at(45)
    assert claim(session, partner.id, limit=10, lease=lease) == []  # without the renewal, free at 30 s
    # The worker dies here: nobody renews, and one lease after its last heartbeat the row is due.
    at(51)
    second = fence(claim(session, partner.id, limit=10, lease=lease))
    assert list(second) == list(first)
    # A heartbeat of the dead claim (a worker that was only frozen) no longer touches the row.
    assert renew(session, first, lease) == 0
    assert renew(session, second, lease) == 1


def test_a_claim_hands_out_one_row_per_record_and_none_of_a_record_in_flight(
    session: Session, case: Case, now: datetime
) -> None:
    partner = _partner(session, "our-ehr", "ehr", case.hospital.id, ["CarePlan"])
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Discharge plan", actor="planner")
    dispatch_pending(session, CONSUMERS)
    lease = timedelta(seconds=30)
    [sent] = claim(session, partner.id, limit=10, lease=lease)
    # A newer change while the first is in flight: a second row, which waits for the first.
    plans.update_case_plan(session, plan.id, {"title": "Revised plan"}, actor="planner")
    dispatch_pending(session, CONSUMERS)
    assert claim(session, partner.id, limit=10, lease=lease) == []
    # The first worker dies: both rows of the plan are due, and only the older one goes out.
    clock.set_clock(lambda: now + timedelta(seconds=31))
    assert [row.id for row in claim(session, partner.id, limit=10, lease=lease)] == [sent.id]
    assert claim(session, partner.id, limit=10, lease=lease) == []
