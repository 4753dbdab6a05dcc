"""GET /api/worklist counts "today" where its caller is, as the web pages do, unless `tz` says otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.factories import Case, hospital_transport


def _due_tonight_in_new_york(session: Session, case: Case, now: datetime) -> None:
    # now is Tue 10 Mar 09:00 UTC = 05:00 in New York; 03:00 UTC on the 11th is still the 10th there (23:00 EDT).
    hospital_transport(session, case, now.replace(hour=3) + timedelta(days=1))
    case.planner.time_zone = "America/New_York"
    session.commit()


def test_a_person_gets_their_own_zone_unless_tz_is_given(
    client: Any, session: Session, case: Case, now: datetime, cookie_session: Any
) -> None:
    _due_tonight_in_new_york(session, case, now)
    cookie_session(case.planner)
    page = client.get("/api/worklist").json
    assert page["time_zone"] == "America/New_York"
    assert page["items"][0]["due_today_handoffs"] == 1
    in_utc = client.get("/api/worklist?tz=UTC").json
    assert in_utc["time_zone"] == "UTC" and in_utc["items"][0]["due_today_handoffs"] == 0


def test_a_backend_client_gets_its_organisations_zone(
    client: Any, session: Session, case: Case, now: datetime, hospital: dict[str, str]
) -> None:
    _due_tonight_in_new_york(session, case, now)
    page = client.get("/api/worklist", headers=hospital).json
    assert page["time_zone"] == "America/New_York" and page["items"][0]["due_today_handoffs"] == 1
