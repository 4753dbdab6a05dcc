"""The case and the queue as a planner and an intake coordinator work them (issue #14): follow-ups by
disposition, the facility's action area and notes thread, saves confirmed in place, and a timeline
that names people and shows each time's zone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from service import clock
from service.models import Organization
from service.usecases import handoffs, referrals, stays
from tests.browser.live_server import LiveApp
from tests.browser.test_pages import OAKWOOD, signed_in_page

pytestmark = pytest.mark.browser

CALL = "Post-discharge phone call within 48 hours"
PCP = "Primary-care follow-up visit within 7 days"
START_OF_CARE = "Home-health start of care within 48 hours of discharge"
ADMISSION = "Admit the patient and confirm arrival within 24 hours"
CHECK = "Case manager checks in with the facility within 72 hours"
# What each disposition starts, and what it must not (issue #14, "Follow-ups by disposition").
EXPECTED = {
    "home": ({CALL, PCP}, {START_OF_CARE, ADMISSION, CHECK}),
    "home_health": ({CALL, PCP, START_OF_CARE}, {ADMISSION, CHECK}),
    "snf": ({ADMISSION, CHECK}, {CALL, PCP, START_OF_CARE}),
}


def _place_at_oakwood(live: LiveApp, stay_id: str, patient_id: str, hospital_id: str) -> None:
    with live.session() as db:
        oakwood = db.query(Organization).filter_by(name=OAKWOOD).one().id
        referral = referrals.send_referral(
            db, patient_id=patient_id, stay_id=stay_id, service="snf_placement", recipient_org_ids=[oakwood],
            requester_org_id=hospital_id, reason="Rehab after a fall", actor="dana.planner",
        )  # fmt: skip
        handoff_id = referral.handoffs[0].id
        handoffs.transition_handoff(db, handoff_id, "accepted", actor="oakwood.intake", acting_org_id=oakwood)
        referrals.confirm_placement(db, referral.id, handoff_id, actor="dana.planner", reason="placed")


@pytest.mark.parametrize("disposition", list(EXPECTED))
def test_follow_ups_follow_each_disposition(
    browser: Any, live_app: LiveApp, screenshot: Any, disposition: str
) -> None:
    stay = live_app.fresh_stay()
    if disposition == "snf":
        _place_at_oakwood(live_app, stay.id, stay.patient_id, stay.hospital_id)
    with live_app.session() as db:
        stays.open_barrier(db, stay.id, category="equipment", note="Walker not delivered", actor="dana.planner")
    page = signed_in_page(browser, live_app, "dana.planner")
    page.goto(f"/app/stays/{stay.id}")
    # The discharge says what is still undone and asks where the patient went: nothing is preselected.
    warning = page.locator("#discharge-warning")
    assert "not done: " in warning.inner_text() and "1 barrier is still open: Equipment" in warning.inner_text()
    assert page.get_by_label("Disposition").input_value() == ""
    screenshot(page, "before-discharge")
    page.get_by_label("Disposition").select_option(disposition)
    page.get_by_role("button", name="Record discharge").click()
    page.wait_for_load_state()
    assert page.url.endswith("?saved=discharge#handoffs")
    assert page.locator("#handoffs").get_by_role("status").inner_text().endswith("its follow-ups are below.")
    rows = page.locator("#handoffs tbody th").all_inner_texts()
    wanted, unwanted = EXPECTED[disposition]
    assert wanted <= set(rows) and not unwanted & set(rows), rows
    if disposition == "snf":
        admission = page.locator("#handoffs tbody tr", has_text=ADMISSION)
        assert admission.locator("td").first.inner_text() == OAKWOOD  # the confirmed facility's intake owns it
        assert page.locator("#referrals").get_by_text("Completed").first.is_visible()  # the referral is done
        assert page.locator("#referrals").get_by_role("button", name="Withdraw the referral").count() == 0
    screenshot(page, "discharged")


def test_the_facility_answers_in_its_own_words_and_talks_to_the_hospital(
    browser: Any, live_app: LiveApp, screenshot: Any
) -> None:
    stay = live_app.fresh_stay()
    planner = signed_in_page(browser, live_app, "dana.planner")
    planner.goto(f"/app/stays/{stay.id}")
    tomorrow = (clock.now() + timedelta(days=1)).astimezone().strftime("%Y-%m-%d")  # any zone: only the date
    planner.get_by_label("Service").select_option("snf_placement")
    planner.get_by_label("Reason", exact=True).fill("Short-term rehab after a fall")
    planner.get_by_label("Respond by").fill(f"{tomorrow}T15:30")
    planner.get_by_label(OAKWOOD).check()
    planner.get_by_role("button", name="Send referral").click()
    planner.wait_for_load_state()
    assert planner.url.endswith("?saved=referral#referrals")
    assert planner.locator("#referrals").get_by_role("status").inner_text().endswith("Referral sent.")

    facility = signed_in_page(browser, live_app, "oakwood.intake")
    card = facility.locator("li.card", has_text=stay.patient.display_name)
    respond_by = card.locator("dt", has_text="Respond by").locator("xpath=following-sibling::dd[1]").inner_text()
    assert re.fullmatch(r"\w{3} \d\d \w{3}( \d{4})? 15:30 E[SD]T", respond_by), respond_by  # the planner's time
    buttons = card.locator(".actions button").all_inner_texts()
    assert buttons == ["Accept — bed offered", "Decline", "Ask for information"]
    card.get_by_label("Question for Riverside General Hospital").fill("Is she weight-bearing on the left leg?")
    card.get_by_role("button", name="Ask for information").click()
    facility.wait_for_load_state()
    card_id = facility.url.rsplit("#", 1)[-1]
    assert card_id.startswith("handoff-")  # back at the card, not the top of the queue
    card = facility.locator(f"#{card_id}")
    assert card.get_by_role("status").inner_text().endswith("Asked.")
    assert card.locator(".status").inner_text() == "Received"
    screenshot(facility, "asked")

    planner.goto(f"/app/stays/{stay.id}")
    row = planner.locator("#referrals tbody tr", has_text=OAKWOOD)
    assert row.locator(".notes").inner_text().startswith("Oakwood intake, ")  # a name, not a username
    row.get_by_label(f"Note to {OAKWOOD}").fill("Yes, as tolerated; PT notes to follow")
    row.get_by_role("button", name="Send note").click()
    planner.wait_for_load_state()
    assert planner.url.endswith(f"#{card_id}")
    timeline = planner.locator("#timeline li").all_inner_texts()
    asked = next(t for t in timeline if "Is she weight-bearing on the left leg?" in t)
    assert re.match(r"\w{3} \d\d \w{3}( \d{4})? \d\d:\d\d E[SD]T · Oakwood intake · Note on ", asked), asked
    assert not any("oakwood.intake" in t or "dana.planner" in t for t in timeline)
    screenshot(planner, "thread-and-timeline")

    facility.goto("/app/queue")
    card = facility.locator(f"#{card_id}")
    assert "Yes, as tolerated; PT notes to follow" in card.locator(".notes").inner_text()
    card.get_by_role("button", name="Accept — bed offered").click()
    facility.wait_for_load_state()
    card = facility.locator(f"#{card_id}")
    assert card.get_by_role("status").inner_text().endswith("Done: Accepted.")
    assert card.locator(".actions button").all_inner_texts() == ["Withdraw the bed offer", "Update"]
    screenshot(facility, "accepted")


def test_a_refused_referral_keeps_what_was_typed(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.locator("table.worklist tbody th a").first.click()  # any patient in hospital will do
    page.wait_for_load_state()
    page.get_by_label("Service").select_option("home_health")
    page.get_by_label("Reason", exact=True).fill("Wound care twice a week")
    page.get_by_role("button", name="Send referral").click()  # no recipient chosen
    page.wait_for_load_state()
    form = page.locator("form.send-referral")
    assert form.get_by_role("alert").inner_text() == "Choose at least one facility or agency to send it to."
    assert page.get_by_label("Service").input_value() == "home_health"
    assert page.get_by_label("Reason", exact=True).input_value() == "Wound care twice a week"
    screenshot(page, "referral-refused")
