"""The worklist in a real browser: unmet items named, refreshes that keep the user's place, tablet width."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.live_server import LiveApp
from tests.browser.test_pages import signed_in_page

pytestmark = pytest.mark.browser
UNMET_NAMES = (
    "Medication reconciliation",
    "Equipment (DME) ordered",
    "Transport arranged",
    "Patient and family education",
    "Follow-up appointment booked",
    "Payer authorization",
)


def test_unmet_readiness_items_are_named_in_each_row(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    lists = page.locator("table.worklist ul.unmet")
    assert lists.count() >= 10
    first = lists.first.locator("li").first
    full = first.locator(".visually-hidden").inner_text()
    assert full in UNMET_NAMES
    assert first.locator("[title]").get_attribute("title") == full  # the full name on hover
    assert first.locator("[title]").is_visible()
    screenshot(page, "unmet-items")


def test_focus_survives_a_refresh(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.clock.install()
    page.reload()
    patient = page.locator("table.worklist tbody th a").nth(2)
    name = patient.inner_text()
    patient.focus()
    page.clock.run_for(31_000)
    page.get_by_text("paused while you are in the table").wait_for()
    assert page.evaluate("document.activeElement.textContent") == name
    # Out of the table, the next tick refreshes it again and focus stays where the user put it.
    page.get_by_label("Unit").focus()
    page.evaluate("document.querySelector('#worklist').dataset.marker = 'old'")
    with page.expect_response(lambda r: "/app/worklist/table" in r.url and r.status == 200):
        page.clock.run_for(31_000)
    page.wait_for_function("!document.querySelector('#worklist').dataset.marker")
    assert page.evaluate("document.activeElement.id") == "f-unit"
    screenshot(page, "after-refresh")


def test_at_768_px_every_value_is_reachable_and_announced(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.reload()
    region = page.get_by_role("region", name="Worklist table, scrolls sideways")
    assert region.get_attribute("tabindex") == "0"  # keyboard users can scroll it
    assert page.get_by_text("The table scrolls sideways").is_visible()
    # Every column, scrolled into view inside the region, is visible, and the patient column stays put.
    first_row = page.locator("table.worklist tbody tr").first
    patient = first_row.locator("th")
    left = patient.bounding_box()["x"]
    for header in ("Due today", "Barriers", "Referral loops", "Avoidable days"):
        cell = page.get_by_role("columnheader", name=header)
        cell.scroll_into_view_if_needed()
        assert cell.is_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 768
    assert abs(patient.bounding_box()["x"] - left) < 5  # sticky: a few pixels, not a column's width
    # The table keeps its semantics: each value is announced with its column and its patient.
    assert page.get_by_role("columnheader").count() == 12
    assert first_row.get_by_role("rowheader").count() == 1
    screenshot(page, "tablet-768")


def test_analytics_rates_show_their_counts(browser: Any, live_app: LiveApp, screenshot: Any) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.goto("/app/analytics")
    table = page.locator("table", has_text="Accepted of sent")
    assert table.get_by_role("columnheader", name="Accepted of answered").is_visible()
    rows = table.locator("tbody tr")
    assert rows.count() >= 3
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        sent, answered, accepted = (int(cells.nth(k).inner_text()) for k in range(3))
        assert f"({accepted} of {sent} sent)" in cells.nth(4).inner_text()
        if answered:
            assert f"({accepted} of {answered} answered)" in cells.nth(5).inner_text()
        else:
            assert cells.nth(5).inner_text() == "no answers yet"
    assert page.get_by_text("requests to facilities").is_visible()
    screenshot(page, "analytics-rates")
