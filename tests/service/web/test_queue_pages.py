from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from service.models import Handoff
from service.usecases import handoffs, referrals
from tests.service.web.conftest import WebCase, sign_in


def _refer(session: Session, web_case: WebCase) -> list[str]:
    case = web_case.case
    referral = referrals.send_referral(
        session,
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        service="snf_placement",
        recipient_org_ids=[s.id for s in case.snfs],
        requester_org_id=case.hospital.id,
        reason="Rehab after hip fracture",
        diagnoses=[
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S72.001A", "display": "Right femur neck fracture"}
        ],
        actor="planner",
    )
    return [h.id for h in referral.handoffs]


def test_a_facility_sees_only_what_is_addressed_to_it_and_can_accept(
    client: Any, session: Session, web_case: WebCase
) -> None:
    handoff_ids = _refer(session, web_case)
    token = sign_in(client, web_case.intakes[2].username)
    page = client.get("/app/queue").text
    assert page.count('class="card') == 1 and handoff_ids[2] in page and handoff_ids[0] not in page
    assert "Rehab after hip fracture" in page
    assert "<dt>Diagnosis</dt><dd>Right femur neck fracture (<abbr" in page and ">S72.001A</abbr>)</dd>" in page
    # what an SNF needs to decide (born 1 Feb 1944, seen on Tue 10 Mar 2026; EDD three days on)
    assert "<dd>82 years · female</dd>" in page and "<dd>Acme Health Plan</dd>" in page
    assert "Fri 13 Mar" in page and "Respond by" in page and "Skilled nursing facility placement" in page
    # one action area, in an intake coordinator's words: no FHIR verbs, no second status field
    actions = page[page.index('<div class="actions"') : page.index('<div class="thread">')]
    buttons = re.findall(r'<button type="submit">([^<]+)</button>', actions)
    assert buttons == ["Accept — bed offered", "Decline", "Ask for information"]
    response = client.post(
        f"/app/handoffs/{handoff_ids[2]}/transition",
        data={"csrf_token": token, "target": "accepted", "business_status": "bed offered", "back": "/app/queue"},
    )
    # back to the card acted on, not the top of the queue, saying there that it was done
    saved = f"move-{handoff_ids[2]}-accepted"
    assert response.status_code == 303 and response.location == f"/app/queue?saved={saved}#handoff-{handoff_ids[2]}"
    page = client.get(response.location).text
    assert "“bed offered”" in page and '<span aria-hidden="true">✓</span> Done: Accepted.</span>' in page
    actions = page[page.index('<div class="actions"') : page.index('<div class="thread">')]
    assert re.findall(r'<button type="submit">([^<]+)</button>', actions) == ["Withdraw the bed offer", "Update"]
    # Another facility's handoff is out of reach, and its existence does not leak (404, as for no handoff).
    assert client.post(f"/app/handoffs/{handoff_ids[0]}/transition", data={"csrf_token": token}).status_code == 404


def test_declining_needs_a_reason_and_the_planner_sees_it(client: Any, session: Session, web_case: WebCase) -> None:
    handoff_ids = _refer(session, web_case)
    token = sign_in(client, web_case.intakes[0].username)
    page = client.get("/app/queue").text
    assert 'name="reason" required' in page
    client.post(
        f"/app/handoffs/{handoff_ids[0]}/transition",
        data={"csrf_token": token, "target": "rejected", "reason": "No bed available"},
    )
    sign_in(client, web_case.planner.username)
    case_page = client.get(f"/app/stays/{web_case.case.stay.id}").text
    assert "No bed available" in case_page
    assert "Requested → Declined — No bed available" in case_page


def test_a_blank_decline_is_refused_on_the_queue_next_to_the_reason(
    client: Any, session: Session, web_case: WebCase
) -> None:
    handoff_ids = _refer(session, web_case)
    token = sign_in(client, web_case.intakes[0].username)
    response = client.post(
        f"/app/handoffs/{handoff_ids[0]}/transition",
        data={"csrf_token": token, "target": "rejected", "reason": "   ", "back": "/app/queue"},
    )
    assert response.status_code == 422
    page = response.text
    assert "<h1>" in page and "referrals and tasks for us" in page  # the queue itself, not an error page
    assert f'id="err-move-{handoff_ids[0]}-rejected-reason" role="alert">Say why the referral is declined.' in page
    assert 'aria-invalid="true"' in page
    session.expire_all()
    assert client.get("/app/queue").text.count('class="status status-requested"') == 1  # nothing changed


def test_the_facility_asks_for_information_and_the_planner_answers_in_the_thread(
    client: Any, session: Session, web_case: WebCase
) -> None:
    handoff_ids = _refer(session, web_case)
    token = sign_in(client, web_case.intakes[1].username)
    blank = client.post(
        f"/app/handoffs/{handoff_ids[1]}/ask", data={"csrf_token": token, "question": " ", "back": "/app/queue"}
    )
    assert blank.status_code == 422 and "Say what the hospital should send or answer." in blank.text
    asked = client.post(
        f"/app/handoffs/{handoff_ids[1]}/ask",
        data={"csrf_token": token, "question": "Is she weight-bearing?", "back": "/app/queue"},
    )
    assert asked.status_code == 303
    session.expire_all()
    handoff = session.get_one(Handoff, handoff_ids[1])
    assert (handoff.status, handoff.business_status) == ("received", "information requested")
    planner_token = sign_in(client, web_case.planner.username)
    case_page = client.get(f"/app/stays/{web_case.case.stay.id}").text
    assert f"{web_case.intakes[1].display_name}</strong>, <time" in case_page and "Is she weight-bearing?" in case_page
    back = f"/app/stays/{web_case.case.stay.id}"
    client.post(
        f"/app/handoffs/{handoff_ids[1]}/notes",
        data={"csrf_token": planner_token, "text": "Yes, as tolerated", "back": back},
    )
    sign_in(client, web_case.intakes[1].username)
    queue = client.get("/app/queue").text
    assert "Pat Planner</strong>, <time" in queue and "Yes, as tolerated" in queue


def test_business_status_can_be_set_while_deciding(client: Any, session: Session, web_case: WebCase) -> None:
    handoff_ids = _refer(session, web_case)
    token = sign_in(client, web_case.intakes[1].username)
    client.post(
        f"/app/handoffs/{handoff_ids[1]}/business-status",
        data={"csrf_token": token, "business_status": "awaiting auth"},
    )
    assert "“awaiting auth”" in client.get("/app/queue").text


def test_the_facility_sees_the_placement_confirmed_with_the_arrival_date(
    client: Any, session: Session, web_case: WebCase
) -> None:
    handoff_ids = _refer(session, web_case)
    case = web_case.case
    handoffs.transition_handoff(session, handoff_ids[2], "accepted", actor="snf", acting_org_id=case.snfs[2].id)
    referral_id = session.get_one(Handoff, handoff_ids[2]).referral_id
    referrals.confirm_placement(session, str(referral_id), handoff_ids[2], actor="planner", reason="placed")
    sign_in(client, web_case.intakes[2].username)
    page = client.get("/app/queue").text
    # the factory's expected discharge date: three days after Tuesday 10 March 2026
    assert re.search(r"Placement confirmed:\s+arriving <time datetime=\"2026-03-13\">Fri 13 Mar</time>", page)
    sign_in(client, web_case.planner.username)
    assert '<strong class="placed">placed</strong>' in client.get(f"/app/stays/{case.stay.id}").text
