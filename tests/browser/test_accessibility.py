"""axe-core (npm, pinned in tests/browser/axe/package-lock.json) on the pages: no serious or critical violation.

The test setup installs it with ``npm ci`` into tests/browser/axe/node_modules (gitignored) and
Playwright injects it into each page. Pages other helpers own add themselves to PAGES.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.live_server import LiveApp
from tests.browser.test_pages import signed_in_page
from tests.peers import require

pytestmark = pytest.mark.browser
AXE_DIR = Path(__file__).parent / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# (page, width): the worklist also at tablet width, where its layout changes.
PAGES = [("/app/worklist", 1280), ("/app/worklist", 768), ("/app/analytics", 1280)]
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        npm = shutil.which("npm")
        require(npm is not None, "npm not found (apt-get install -y npm) to install axe-core")
        assert npm is not None
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, capture_output=True, text=True, timeout=300
        )
        require(done.returncode == 0, f"npm ci of axe-core failed: {done.stderr[-500:]}")
    return AXE.read_text()


@pytest.mark.parametrize(("path", "width"), PAGES, ids=[f"{path.rsplit('/', 1)[-1]}-{width}" for path, width in PAGES])
def test_no_serious_or_critical_violations(
    browser: Any, live_app: LiveApp, axe_source: str, screenshot: Any, path: str, width: int
) -> None:
    page = signed_in_page(browser, live_app, "dana.planner")
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(path)
    blocking = _blocking(page, axe_source)
    screenshot(page, f"axe-{width}")
    assert blocking == []


@pytest.mark.parametrize("username", ["dana.planner", "oakwood.intake"])
def test_the_case_and_the_queue_have_no_serious_or_critical_violations(
    browser: Any, live_app: LiveApp, axe_source: str, screenshot: Any, username: str
) -> None:
    """The planner's case page and the facility's queue (where it lands), each with content in it."""
    page = signed_in_page(browser, live_app, username)
    if username == "dana.planner":
        page.goto(f"/app/stays/{live_app.fresh_stay().id}")
    blocking = _blocking(page, axe_source)
    screenshot(page, "axe")
    assert blocking == []


def _blocking(page: Any, axe_source: str) -> list[str]:
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy (rightly) refuses inline scripts.
    page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
