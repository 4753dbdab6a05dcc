"""Every operation the OpenAPI document lists answers 401 without credentials (issue #10: the only
public endpoints are discovery, tokens, sign-in and the API docs themselves)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.audit_events import AccessEvent

PUBLIC = ("/openapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js", "/fhir/R4/metadata",
          "/fhir/R4/.well-known/smart-configuration", "/.well-known/jwks.json", "/app/signin")  # fmt: skip


def test_every_operation_answers_401_without_credentials(client: Any, session: Session) -> None:
    spec = client.get("/openapi.json").get_json()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "no-such-id", path))
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 25  # the whole REST API, not an empty document
    answers = {
        f"{method} {path}": client.open(path, method=method, json={}).status_code for method, path in operations
    }
    assert answers == dict.fromkeys(answers, 401)
    refusals = session.scalar(select(func.count()).select_from(AccessEvent).where(AccessEvent.client_id == "anonymous"))
    assert refusals == len(operations)  # each one audited


def test_the_public_endpoints_need_no_credentials(client: Any) -> None:
    assert {url: client.get(url).status_code for url in PUBLIC} == dict.fromkeys(PUBLIC, 200)
