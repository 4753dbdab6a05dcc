"""Refusals a planner or a facility meets in the browser: shown on the same page, next to the
field, with what was typed still there (issue #14, "Validation")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from service import clock
from service.models import Organization, Stay
from service.usecases import handoffs, referrals
from tests.browser.live_server import LiveApp
from tests.browser.test_pages import OAKWOOD, signed_in_page

pytestmark = pytest.mark.browser


def test_a_decline_without_a_reason_is_refused_on_the_queue(
    browser: Any, live_app: LiveApp, screenshot: Any
) -> None:
    stay = live_app.fresh_stay()
    with live_app.session() as db:
        oakwood = db.query(Organization).filter_by(name=OAKWOOD).one().id
        referrals.send_referral(
            db, patient_id=stay.patient_id, stay_id=stay.id, service="snf_placement", recipient_org_ids=[oakwood],
            requester_org_id=stay.hospital_id, reason="Wound care after surgery", actor="dana.planner",
            answer_due_at=clock.now() + timedelta(hours=8),
        )  # fmt: skip
    page = signed_in_page(browser, live_app, "oakwood.intake")
    card = page.locator("li.card", has_text=stay.patient.display_name)
    card.get_by_label("Reason to decline").fill("   ")  # passes the browser's `required`, not carebridge
    card.get_by_role("button", name="Decline").click()
    page.wait_for_load_state()
    card = page.locator("li.card", has_text=stay.patient.display_name)
    assert card.get_by_role("alert").inner_text() == "Say why the referral is declined."
    assert card.get_by_label("Reason to decline").input_value() == "   "
    assert card.locator(".status-requested").inner_text() == "Requested"  # nothing changed
    assert page.get_by_role("heading", level=1).inner_text().endswith("referrals and tasks for us")
    screenshot(page, "decline-refused")


def test_a_discharge_in_the_future_is_refused_on_the_case_page(
    browser: Any, live_app: LiveApp, screenshot: Any
) -> None:
    stay = live_app.fresh_stay()
    next_year = clock.now().year + 1
    page = signed_in_page(browser, live_app, "dana.planner")
    page.goto(f"/app/stays/{stay.id}")
    page.get_by_label("Discharged at").fill(f"{next_year}-06-01T10:00")
    page.get_by_label("Disposition").select_option("snf")
    page.get_by_role("button", name="Record discharge").click()
    page.wait_for_load_state()
    discharge = page.locator("#discharge")
    assert discharge.get_by_role("alert").inner_text().startswith("is in the future")
    assert page.get_by_label("Discharged at").input_value() == f"{next_year}-06-01T10:00"
    assert page.get_by_label("Disposition").input_value() == "snf"
    with live_app.session() as db:
        assert db.get_one(Stay, stay.id).status == "in-progress"
    screenshot(page, "future-discharge-refused")


def test_the_facility_sees_the_placement_confirmed(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    stay = live_app.fresh_stay()
    with live_app.session() as db:
        oakwood = db.query(Organization).filter_by(name=OAKWOOD).one().id
        referral = referrals.send_referral(
            db, patient_id=stay.patient_id, stay_id=stay.id, service="snf_placement", recipient_org_ids=[oakwood],
            requester_org_id=stay.hospital_id, reason="Needs IV antibiotics", actor="dana.planner",
        )  # fmt: skip
        handoff_id = referral.handoffs[0].id
        handoffs.transition_handoff(db, handoff_id, "accepted", actor="oakwood.intake", acting_org_id=oakwood)
        referrals.confirm_placement(db, referral.id, handoff_id, actor="dana.planner", reason="placed")
    facility = signed_in_page(browser, live_app, "oakwood.intake")
    card = facility.locator("li.card", has_text=stay.patient.display_name)
    assert card.locator(".placed").inner_text().startswith("Placement confirmed: arriving")
    screenshot(facility, "placement-confirmed")
    planner = signed_in_page(browser, live_app, "dana.planner")
    planner.goto(f"/app/stays/{stay.id}")
    assert planner.locator("#referrals .placed").inner_text() == "placed"
    assert planner.locator("#timeline").get_by_text("Placement confirmed with Oakwood Nursing Center").is_visible()
