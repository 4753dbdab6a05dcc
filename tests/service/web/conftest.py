"""Web-app fixtures: the ``case`` with users who can sign in, and a signed-in test client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from service.models import CareTeamMember, User
from tests.factories import Case

PASSWORD = "correct horse"
# Cheap hashing keeps the tests fast; the format is the same werkzeug hash the demo users get.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@dataclass
class WebCase:
    case: Case
    planner: User
    intakes: list[User]  # one intake coordinator per SNF, in case.snfs order


@pytest.fixture
def web_case(session: Session, case: Case) -> WebCase:
    case.planner.password_hash = FAST_HASH
    case.planner.time_zone = "America/New_York"
    session.add(CareTeamMember(patient_id=case.patient.id, user_id=case.planner.id, role="discharge_planner"))
    intakes = [
        User(
            username=f"intake-{i}",
            display_name=f"{snf.name} intake",
            organization_id=snf.id,
            role="intake_coordinator",
            password_hash=FAST_HASH,
        )
        for i, snf in enumerate(case.snfs)
    ]
    session.add_all(intakes)
    session.commit()
    return WebCase(case, case.planner, intakes)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: Any, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the new session's CSRF token."""
    token = csrf_of(client.get("/app/signin").text)
    response = client.post("/app/signin", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/app/queue").text)
