"""The pages and Swagger UI work in a real browser under the Content-Security-Policy, with no violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.live_server import LiveApp
from tests.browser.test_pages import signed_in_page

pytestmark = pytest.mark.browser


def _violations(page: Any) -> list[str]:
    found: list[str] = []

    def keep(message: Any) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", keep)
    return found


def test_swagger_ui_renders_under_its_policy(browser: Any, live_app: LiveApp) -> None:
    page = browser.new_context(base_url=live_app.url).new_page()
    violations = _violations(page)
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "carebridge" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10
    assert violations == []


def test_the_web_app_runs_without_a_violation(browser: Any, live_app: LiveApp) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    violations = _violations(page)
    for path in ("/app/worklist", "/app/analytics", "/app/queue"):
        page.goto(path)
        page.wait_for_load_state()
    assert violations == []
