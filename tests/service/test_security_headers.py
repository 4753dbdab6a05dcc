"""Every response carries the browser security headers; /docs allows only its own inline script."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@pytest.mark.parametrize(
    "path",
    ["/app/signin", "/app/worklist", "/api/worklist", "/fhir/R4/metadata", "/fhir/R4/Patient", "/openapi.json", "/x"],
)
def test_every_response_has_the_security_headers(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == STRICT_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_web_pages_have_no_inline_script_or_style(client: Any) -> None:
    page = client.get("/app/signin").text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page and "style=" not in page


def test_swagger_ui_may_run_its_one_inline_script_and_nothing_else(client: Any) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    inline = re.findall(rb"<script>(.*?)</script>", response.data, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    csp = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in csp
    assert "style-src 'self' 'unsafe-inline';" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
