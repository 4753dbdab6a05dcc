from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.app import runtime
from service.usecases import handoffs, stays
from tests.factories import build_case, hospital_transport
from tests.service.web.conftest import WebCase, sign_in


def _overdue_transport(session: Session, web_case: WebCase, now: datetime) -> None:
    case = web_case.case
    hospital_transport(session, case, now - timedelta(hours=2))


def test_worklist_shows_the_columns_and_marks_overdue_work_in_words(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    _overdue_transport(session, web_case, now)
    sign_in(client, web_case.planner.username)
    page = client.get("/app/worklist").text
    for column in ("Patient", "Unit / bed", "Expected discharge", "Medically ready", "Days to EDD", "Readiness"):
        assert column in page
    assert "Anders, Agnes" in page and "4 West / 12A" in page
    assert "1 overdue" in page  # in words, not by colour alone
    assert "0/6" in page  # readiness progress
    assert 'hx-trigger="every 30s"' in page


def test_the_table_fragment_refreshes_with_the_same_filters(client: Any, web_case: WebCase) -> None:
    sign_in(client, web_case.planner.username)
    fragment = client.get("/app/worklist/table?unit=5+East").text
    assert fragment.lstrip().startswith('<section id="worklist"')
    assert "<html" not in fragment
    assert "No patients match" in fragment
    assert "Anders, Agnes" in client.get("/app/worklist/table?unit=4+West").text


def test_filters_sorting_and_paging(client: Any, app: Any, session: Session, web_case: WebCase, now: datetime) -> None:
    second = build_case(session, now, mrn="MRN-2002")
    stays.update_stay(session, second.stay.id, {"planner_id": web_case.planner.id}, actor="test")
    # The second case has its own hospital; move its stay into the planner's hospital to share the list.
    second.stay.hospital_id = web_case.case.hospital.id
    second.patient.family_name = "Zeller"
    session.commit()
    _overdue_transport(session, web_case, now)
    sign_in(client, web_case.planner.username)
    overdue_only = client.get("/app/worklist?overdue=1").text
    assert "Anders, Agnes" in overdue_only and "Zeller" not in overdue_only
    by_name_desc = client.get("/app/worklist?sort=patient&dir=desc").text
    assert by_name_desc.index("Zeller") < by_name_desc.index("Anders")
    assert 'aria-sort="descending"' in by_name_desc
    runtime(app).settings = replace(runtime(app).settings, worklist_page_size=1)
    first = client.get("/app/worklist").text
    assert first.count('<th scope="row">') == 1
    next_link = re.search(r'<a href="([^"]+)">Next page</a>', first)
    assert next_link and "cursor=" in next_link.group(1)
    second_page = client.get(html.unescape(next_link.group(1))).text
    assert second_page.count('<th scope="row">') == 1
    assert ("Zeller" in first) != ("Zeller" in second_page)


def test_facility_users_have_no_worklist(client: Any, web_case: WebCase) -> None:
    sign_in(client, web_case.intakes[0].username)
    assert client.get("/app/worklist").status_code == 403
    assert client.get(f"/app/stays/{web_case.case.stay.id}").status_code == 403  # their role runs no cases
    assert client.get("/app/").location == "/app/queue"


def test_another_hospitals_planner_sees_neither_the_stay_nor_the_case(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    other = build_case(session, now, mrn="MRN-3003")
    other.planner.password_hash = web_case.planner.password_hash
    session.commit()
    sign_in(client, other.planner.username)
    assert "Anders, Agnes" in client.get("/app/worklist").text  # their own patient (same name, other stay)
    assert web_case.case.stay.id not in client.get("/app/worklist").text
    # Another hospital's stay is not theirs to know of: the same 404 as a stay that does not exist.
    assert client.get(f"/app/stays/{web_case.case.stay.id}").status_code == 404


def test_each_row_names_its_unmet_readiness_items_in_words(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    stays.set_readiness(session, web_case.case.stay.id, "transport", met=True, actor="test")
    sign_in(client, web_case.planner.username)
    page = client.get("/app/worklist").text
    assert "1/6" in page
    # Full names for screen readers and on hover, a compact form on screen.
    for full in ("Medication reconciliation", "Equipment (DME) ordered", "Patient and family education",
                 "Follow-up appointment booked", "Payer authorization"):
        assert f'<span class="visually-hidden">{full}</span>' in page
        assert f'title="{full}"' in page
    assert ">Meds rec<" in page and ">Payer auth<" in page
    assert "Transport arranged" not in page  # met, so not listed
    # Identifiers say what they are, here and on the case.
    assert '<span class="sub mrn">MRN MRN-1001</span>' in page
    assert "MRN MRN-1001" in client.get(f"/app/stays/{web_case.case.stay.id}").text


def test_a_stay_past_its_expected_discharge_and_work_due_today_are_flagged_in_words(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    # 09:00 UTC is 05:00 in New York (the planner's zone): a handoff due at 15:00 UTC is due today there.
    web_case.case.stay.expected_discharge_date = (now - timedelta(days=2)).date()
    session.commit()
    handoffs.create_handoff(
        session,
        actor="test",
        patient_id=web_case.case.patient.id,
        stay_id=web_case.case.stay.id,
        kind="transport",
        owner_org_id=web_case.case.hospital.id,
        requester_org_id=web_case.case.hospital.id,
        due_at=now + timedelta(hours=6),
        description="Wheelchair van",
    )
    sign_in(client, web_case.planner.username)
    page = client.get("/app/worklist").text
    assert "Past EDD by 2 days" in page
    assert "1 due today" in page


def test_the_refresh_is_not_announced_and_pauses_while_the_user_is_in_the_table(
    client: Any, web_case: WebCase
) -> None:
    sign_in(client, web_case.planner.username)
    fragment = client.get("/app/worklist/table").text
    assert "aria-live" not in fragment
    assert "paused while you are in the table" in fragment
    assert "worklist.js" in client.get("/app/worklist").text
    assert "activeElement" in client.get("/app/static/worklist.js").text


def test_a_planner_saves_named_filters_that_only_they_see(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    token = sign_in(client, web_case.planner.username)
    saved = client.post(
        "/app/worklist/filters",
        data={"csrf_token": token, "name": "My unit, overdue", "query": "unit=4+West&overdue=1&evil=1&cursor=x"},
    )
    assert saved.status_code == 303 and saved.location == "/app/worklist?unit=4+West&overdue=1"
    page = client.get("/app/worklist").text
    assert '<a href="/app/worklist?unit=4+West&amp;overdue=1">My unit, overdue</a>' in page
    assert client.post("/app/worklist/filters", data={"csrf_token": token, "name": " ", "query": ""}).status_code == 422
    filter_id = re.search(r"/app/worklist/filters/([^/]+)/delete", page)
    assert filter_id
    other = build_case(session, now, mrn="MRN-4004")
    other.planner.password_hash = web_case.planner.password_hash
    session.commit()
    client.post("/app/signout", data={"csrf_token": token})
    other_token = sign_in(client, other.planner.username)
    assert "My unit, overdue" not in client.get("/app/worklist").text
    refused = client.post(f"/app/worklist/filters/{filter_id.group(1)}/delete", data={"csrf_token": other_token})
    assert refused.status_code == 404  # someone else's filter is not theirs to know of
    client.post("/app/signout", data={"csrf_token": other_token})
    token = sign_in(client, web_case.planner.username)
    deleted = client.post(f"/app/worklist/filters/{filter_id.group(1)}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert "My unit, overdue" not in client.get("/app/worklist").text
