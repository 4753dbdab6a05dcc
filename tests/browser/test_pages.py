"""The planner's and the facility's day in a real browser, on the demo data.

Each test leaves a screenshot in screenshots/ for a person to check the pages really look right.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from service import clock
from service.demo import DEMO_PASSWORD
from service.models import Organization
from service.usecases import referrals
from tests.browser.live_server import LiveApp

pytestmark = pytest.mark.browser
OAKWOOD = "Oakwood Nursing Center"
SNFS = ("Maple Grove Skilled Nursing", "Harbor View Rehab & Care", OAKWOOD)


def signed_in_page(browser: Any, live: LiveApp, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live.url)
    page = context.new_page()
    page.goto("/app/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def test_worklist_on_demo_data(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    assert page.url.endswith("/app/worklist")
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() >= 20
    assert page.get_by_text("Times in America/New_York").is_visible()
    assert page.locator(".flag-overdue").count() >= 1  # demo has overdue referral answers, marked in words
    page.get_by_label("Unit").select_option("4 West")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    units = page.locator("table.worklist tbody td:nth-child(2)").all_inner_texts()
    assert units and all(text.startswith("4 West") for text in units)
    screenshot(page, "worklist")


def test_open_a_patient(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    stay = live_app.fresh_stay()
    page = signed_in_page(browser, live_app, "dana.planner")
    page.get_by_role("link", name=stay.patient.display_name).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == stay.patient.display_name
    for section in ("Plan and goals", "Referrals", "Discharge readiness", "Barriers", "Timeline"):
        assert page.get_by_role("heading", name=section).is_visible()
    screenshot(page, "case")


def test_send_a_referral_to_three_facilities(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    stay = live_app.fresh_stay()
    page = signed_in_page(browser, live_app, "dana.planner")
    page.goto(f"/app/stays/{stay.id}")
    page.get_by_label("Service").select_option("snf_placement")
    page.get_by_label("Reason", exact=True).fill("Rehab after hip fracture")
    for name in SNFS:
        page.get_by_label(name).check()
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_load_state()
    recipients = page.locator("#referrals tbody tr")
    assert recipients.count() == 3
    assert page.locator("#referrals .status-requested").count() == 3
    screenshot(page, "referral-sent")


def test_a_facility_accepts_and_the_planner_sees_it(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    stay = live_app.fresh_stay()
    with live_app.session() as db:
        snf_ids = [db.query(Organization).filter_by(name=name).one().id for name in SNFS]
        referrals.send_referral(
            db,
            patient_id=stay.patient_id,
            stay_id=stay.id,
            service="snf_placement",
            recipient_org_ids=snf_ids,
            requester_org_id=stay.hospital_id,
            reason="Needs 24-hour nursing",
            answer_due_at=clock.now() + timedelta(hours=4),
            actor="dana.planner",
        )
    facility = signed_in_page(browser, live_app, "oakwood.intake")
    assert facility.url.endswith("/app/queue")
    card = facility.locator("li.card", has_text=stay.patient.display_name)
    assert card.get_by_text("Needs 24-hour nursing").is_visible()
    card.get_by_role("button", name="Accept — bed offered").click()
    facility.wait_for_load_state()
    assert facility.locator("li.card", has_text=stay.patient.display_name).get_by_text("“bed offered”").is_visible()
    screenshot(facility, "facility-queue")

    planner = signed_in_page(browser, live_app, "dana.planner")
    planner.goto(f"/app/stays/{stay.id}")
    oakwood_row = planner.locator("#referrals tbody tr", has_text=OAKWOOD)
    assert oakwood_row.locator(".status-accepted").inner_text() == "Accepted"
    assert oakwood_row.get_by_text("“bed offered”").is_visible()
    assert planner.get_by_role("button", name="Confirm this placement and release the others").is_visible()
    assert planner.locator("#timeline").get_by_text("Requested → Accepted").first.is_visible()
    screenshot(planner, "planner-sees-acceptance")


def test_record_a_discharge_and_see_the_follow_ups(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    stay = live_app.fresh_stay()
    page = signed_in_page(browser, live_app, "dana.planner")
    page.goto(f"/app/stays/{stay.id}")
    page.get_by_label("Disposition").select_option("home_health")
    page.get_by_role("button", name="Record discharge").click()
    page.wait_for_load_state()
    follow_ups = page.locator("#handoffs tbody")
    for text in (
        "Post-discharge phone call within 48 hours",
        "Primary-care follow-up visit within 7 days",
        "Home-health start of care within 48 hours of discharge",
    ):
        assert follow_ups.get_by_text(text).is_visible()
    assert page.get_by_text("to home with home health services").first.is_visible()
    screenshot(page, "discharged")


def test_tablet_width_keeps_the_worklist_usable(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.set_viewport_size({"width": 800, "height": 1100})
    page.reload()
    assert page.get_by_role("button", name="Apply filters").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    screenshot(page, "tablet")


def test_placement_analytics_are_drawn_as_svg(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_load_state()
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() == 3
    assert page.get_by_text("Median time from referral to first answer").is_visible()
    answers = page.locator("table", has_text="Accepted of sent")
    for name in SNFS:
        assert answers.get_by_role("rowheader", name=name).is_visible()
    screenshot(page, "analytics")


def test_the_worklist_table_is_swapped_in_place_by_htmx(browser: Any, live_app: LiveApp) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.clock.install()  # a controllable clock, so the test need not wait 30 real seconds
    page.reload()
    assert page.evaluate("typeof htmx") == "object"  # served locally, no CDN
    page.evaluate("document.querySelector('#worklist').dataset.marker = 'old'")
    with page.expect_response(lambda r: "/app/worklist/table" in r.url and r.status == 200):
        page.clock.run_for(31_000)
    page.wait_for_function("!document.querySelector('#worklist').dataset.marker")
    assert page.locator("table.worklist tbody tr").count() >= 20


@pytest.mark.parametrize(
    ("username", "lands_on", "sees"),
    [
        ("dana.planner", "/app/worklist", "Worklist"),
        ("sam.casemanager", "/app/worklist", "Worklist"),
        ("maple.intake", "/app/queue", "Referral queue"),
        ("sunrise.intake", "/app/queue", "Referral queue"),
        ("acme.caremanager", "/app/queue", "Referral queue"),
        ("riley.auditor", "/app/", "has no pages in the web app"),
        ("alex.admin", "/app/", "has no pages in the web app"),
    ],
)
def test_each_demo_role_signs_in_to_its_own_page(
    browser: Any, live_app: LiveApp, username: str, lands_on: str, sees: str
) -> None:
    page = signed_in_page(browser, live_app, username)
    assert page.url.endswith(lands_on)
    assert page.get_by_text(sees).first.is_visible()


def test_an_intake_coordinator_is_refused_another_facilitys_referral(
    browser: Any, live_app: LiveApp, screenshot: Any
) -> None:
    stay = live_app.fresh_stay()
    with live_app.session() as db:
        maple, oakwood = (db.query(Organization).filter_by(name=name).one().id for name in (SNFS[0], OAKWOOD))
        others = referrals.send_referral(
            db, patient_id=stay.patient_id, stay_id=stay.id, service="snf_placement", recipient_org_ids=[maple],
            requester_org_id=stay.hospital_id, reason="Maple Grove only", actor="dana.planner",
        )  # fmt: skip
        theirs = referrals.send_referral(
            db, patient_id=stay.patient_id, stay_id=stay.id, service="snf_placement", recipient_org_ids=[oakwood],
            requester_org_id=stay.hospital_id, reason="Oakwood too", actor="dana.planner",
        )  # fmt: skip
        maple_handoff = others.handoffs[0].id
    page = signed_in_page(browser, live_app, "oakwood.intake")
    assert page.get_by_text("Oakwood too").is_visible()
    assert page.get_by_text("Maple Grove only").count() == 0
    # Asked for by address, with the signed-in session: the other facility's referral is not there for them.
    own = page.goto(f"/api/referrals/{theirs.id}")
    assert own is not None and own.status == 200
    refused = page.goto(f"/api/referrals/{others.id}")
    assert refused is not None and refused.status == 404
    handoff_page = page.goto(f"/api/handoffs/{maple_handoff}")
    assert handoff_page is not None and handoff_page.status == 404
    screenshot(page, "intake-refused-other-referral")
