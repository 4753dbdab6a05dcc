from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Handoff, Referral
from service.usecases import handoffs, plans
from tests.service.web.conftest import WebCase, sign_in


def _send_to_three(client: Any, token: str, web_case: WebCase) -> str:
    stay = web_case.case.stay
    response = client.post(
        f"/app/stays/{stay.id}/referrals",
        data={
            "csrf_token": token,
            "service": "snf_placement",
            "priority": "routine",
            "reason": "Rehab after hip fracture",
            "diagnosis": "Right hip fracture\r\n\r\n Deconditioning ",
            "recipient": [snf.id for snf in web_case.case.snfs],
        },
    )
    assert response.status_code == 303 and response.location.endswith("?saved=referral#referrals")
    return str(response.location)


def test_send_a_referral_to_three_facilities_and_see_each_recipient(
    client: Any, session: Session, web_case: WebCase
) -> None:
    token = sign_in(client, web_case.planner.username)
    back_at = _send_to_three(client, token, web_case)
    sent = session.scalars(select(Handoff).where(Handoff.stay_id == web_case.case.stay.id)).all()
    assert sorted(h.owner_org_id for h in sent) == sorted(s.id for s in web_case.case.snfs)
    # one free-text diagnosis per line, blank lines dropped
    assert session.get_one(Referral, sent[0].referral_id).diagnoses == [
        {"display": "Right hip fracture"},
        {"display": "Deconditioning"},
    ]
    page = client.get(back_at).text
    for snf in web_case.case.snfs:
        assert snf.name in page
    assert page.count('<span class="status status-requested">Requested</span>') == 3
    assert 'role="status"><span aria-hidden="true">✓</span> Referral sent.</span>' in page  # said in place
    # The requester may withdraw its own request but never accept on the facility's behalf.
    assert ">Withdraw the referral</button>" in page and ">Accept" not in page
    assert f"Sent to {web_case.case.snfs[0].name} (skilled nursing facility placement referral)" in page  # timeline


def test_an_illegal_or_stale_move_is_shown_plainly_and_changes_nothing(
    client: Any, session: Session, web_case: WebCase
) -> None:
    token = sign_in(client, web_case.planner.username)
    _send_to_three(client, token, web_case)
    handoff = session.scalars(select(Handoff).where(Handoff.stay_id == web_case.case.stay.id)).first()
    assert handoff is not None
    refused = client.post(
        f"/app/handoffs/{handoff.id}/transition", data={"csrf_token": token, "target": "accepted", "version": "1"}
    )
    assert refused.status_code == 409
    # on the case page itself, next to the form of that move
    assert "<h1>Anders, Agnes</h1>" in refused.text and f'id="err-move-{handoff.id}-accepted-form"' in refused.text
    assert "Only the organisation it was sent to may set it to &#39;accepted&#39;." in refused.text
    handoffs.transition_handoff(session, handoff.id, "received", actor="facility")
    stale = client.post(
        f"/app/handoffs/{handoff.id}/transition",
        data={"csrf_token": token, "target": "cancelled", "reason": "patient went home", "version": "1"},
    )
    assert stale.status_code == 409 and "Someone else changed this while you were on the page" in stale.text
    assert 'value="patient went home"' in stale.text  # what was typed is kept
    session.refresh(handoff)
    assert handoff.status == "received"


def test_readiness_barriers_plan_goals_and_notes_are_editable(client: Any, session: Session, web_case: WebCase) -> None:
    stay = web_case.case.stay
    plan = plans.create_case_plan(session, patient_id=stay.patient_id, stay_id=stay.id, title="Plan A", actor="t")
    token = sign_in(client, web_case.planner.username)
    posts = [
        (f"/app/stays/{stay.id}/readiness", {"code": "transport", "met": "1"}),
        (f"/app/stays/{stay.id}/barriers", {"category": "equipment", "note": "Hospital bed needed at home"}),
        (f"/app/plans/{plan.id}", {"title": "Home with services", "status": "active", "version": "1"}),
        (f"/app/plans/{plan.id}/goals", {"description": "Climb 12 stairs", "target_due_date": "2026-03-12"}),
        (f"/app/plans/{plan.id}/notes", {"text": "Daughter can stay the first week"}),
    ]
    for url, data in posts:
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 303, (url, response.text)
    page = client.get(f"/app/stays/{stay.id}").text
    assert "☑ Done</span>\n        <span>Transport arranged" in page
    assert "Hospital bed needed at home" in page and "Barrier opened: Equipment" in page
    assert 'value="Home with services"' in page and "Climb 12 stairs" in page
    assert "Daughter can stay the first week — Pat Planner" in page
    barrier_id = re.search(r"/app/barriers/([^/]+)/resolve", page)
    assert barrier_id
    client.post(f"/app/barriers/{barrier_id.group(1)}/resolve", data={"csrf_token": token, "note": "Delivered"})
    assert "Barrier resolved: Equipment" in client.get(f"/app/stays/{stay.id}").text


def test_a_stale_plan_edit_is_refused_with_the_reason(client: Any, session: Session, web_case: WebCase) -> None:
    stay = web_case.case.stay
    plan = plans.create_case_plan(session, patient_id=stay.patient_id, stay_id=stay.id, title="Plan A", actor="t")
    plans.update_case_plan(session, plan.id, {"title": "Plan B"}, actor="colleague")
    token = sign_in(client, web_case.planner.username)
    response = client.post(f"/app/plans/{plan.id}", data={"csrf_token": token, "title": "Mine", "version": "1"})
    assert response.status_code == 409
    assert f'id="err-plan-{plan.id}-form" role="alert">Someone else changed this' in response.text


def test_recording_a_discharge_starts_the_follow_ups_in_the_users_time_zone(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    stay = web_case.case.stay
    token = sign_in(client, web_case.planner.username)
    page = client.get(f"/app/stays/{stay.id}").text
    assert 'value="2026-03-10T05:00"' in page  # 09:00 UTC is 05:00 in New York (EDT)
    response = client.post(
        f"/app/stays/{stay.id}/discharge",
        data={"csrf_token": token, "discharged_at": "2026-03-10T05:00", "disposition": "home"},
    )
    assert response.status_code == 303
    session.refresh(stay)
    assert stay.status == "finished" and stay.discharged_at == now
    page = client.get(f"/app/stays/{stay.id}").text
    assert "Post-discharge phone call within 48 hours" in page
    assert "Primary-care follow-up visit within 7 days" in page
    assert "Thu 12 Mar 05:00 EDT" in page  # the 48-hour call, shown in the planner's zone
    # the hospital's own call is ready to be done: nobody accepts or declines it
    assert ">Accept</button>" not in page and ">Decline</button>" not in page and ">Start</button>" in page


def test_bad_input_is_explained(client: Any, web_case: WebCase) -> None:
    token = sign_in(client, web_case.planner.username)
    response = client.post(
        f"/app/stays/{web_case.case.stay.id}/referrals",
        data={"csrf_token": token, "service": "snf_placement", "priority": "routine"},
    )
    assert response.status_code == 422
    assert (
        'id="err-referral-recipient_org_ids" role="alert">Choose at least one facility or agency to send it to.'
        in response.text
    )
    assert '<option value="snf_placement" selected>' in response.text  # the choice is kept


def test_a_future_discharge_is_refused_on_the_case_page_keeping_the_input(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    stay = web_case.case.stay
    token = sign_in(client, web_case.planner.username)
    response = client.post(
        f"/app/stays/{stay.id}/discharge",
        data={"csrf_token": token, "discharged_at": "2026-06-01T10:00", "disposition": "home_health"},
    )
    assert response.status_code == 422
    page = response.text
    assert f"<h1>{stay.patient.display_name}</h1>" in page  # the case page itself
    assert 'id="err-discharge-discharged_at" role="alert">is in the future' in page
    assert 'value="2026-06-01T10:00"' in page
    assert '<option value="home_health" selected>' in page
    session.refresh(stay)
    assert stay.status == "in-progress"


def test_blanking_the_unit_is_refused_next_to_it_keeping_the_other_fields(
    client: Any, session: Session, web_case: WebCase
) -> None:
    stay = web_case.case.stay
    token = sign_in(client, web_case.planner.username)
    response = client.post(
        f"/app/stays/{stay.id}/dates",
        data={"csrf_token": token, "unit": "", "bed": "12B", "expected_discharge_date": "", "medically_ready_date": ""},
    )
    assert response.status_code == 422
    assert 'id="err-stay-unit" role="alert">Keep the unit' in response.text
    assert 'name="bed" value="12B"' in response.text
    session.refresh(stay)
    assert stay.unit is not None and stay.bed != "12B"


def test_a_referral_sent_from_the_case_page_names_the_goal_it_serves(
    client: Any, session: Session, web_case: WebCase
) -> None:
    stay = web_case.case.stay
    plan = plans.create_case_plan(session, patient_id=stay.patient_id, stay_id=stay.id, title="p", actor="t")
    goal = plans.add_goal(session, plan.id, description="Has enough food at home", actor="t")
    token = sign_in(client, web_case.planner.username)
    page = client.get(f"/app/stays/{stay.id}").text
    assert '<label for="r-goal">Goal it serves</label>' in page
    assert f'<option value="{goal.id}">Has enough food at home</option>' in page
    sent = client.post(
        f"/app/stays/{stay.id}/referrals",
        data={"csrf_token": token, "service": "food_assistance", "priority": "routine", "goal_id": goal.id,
              "recipient": [web_case.case.snfs[0].id]},
    )  # fmt: skip
    assert sent.status_code == 303
    assert session.scalars(select(Referral.goal_id).where(Referral.stay_id == stay.id)).all() == [goal.id]
