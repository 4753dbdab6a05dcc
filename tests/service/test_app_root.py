"""The bare address and the browser's favicon request land somewhere useful, not on a JSON 404."""

from __future__ import annotations

from typing import Any


def test_the_root_redirects_to_the_web_app(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.location == "/app/"


def test_the_favicon_is_served(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.location == "/app/static/favicon.svg"
    icon = client.get("/app/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert '<link rel="icon" href="/app/static/favicon.svg"' in client.get("/app/signin").text
