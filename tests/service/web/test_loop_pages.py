"""Closing the loop on the pages (issue #15): the recipient says what it did when it completes, the
planner sees "Loop closed" with that outcome on the case and the worklist, and closes an
unanswered referral with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service import clock
from service.usecases import handoffs
from tests.factories import case_goal, community_referral
from tests.service.web.conftest import WebCase, sign_in


def test_completing_with_what_was_done_closes_the_loop_for_the_planner(
    client: Any, session: Session, web_case: WebCase
) -> None:
    case, pantry = web_case.case, web_case.case.snfs[0]
    referral = community_referral(session, case, "food_assistance", [pantry], case_goal(session, case, "Food at home"))
    (task,) = referral.handoffs
    handoffs.transition_handoff(session, task.id, "accepted", actor="intake", acting_org_id=pantry.id)

    token = sign_in(client, web_case.intakes[0].username)
    queue = client.get("/app/queue").text
    assert f'<label for="outcome-{task.id[:8]}">What was done</label>' in queue
    form = {"csrf_token": token, "target": "completed", "version": str(task.version)}
    blank = client.post(f"/app/handoffs/{task.id}/transition", data=form | {"outcome": " "})
    assert blank.status_code == 422 and "Say what was done for the patient." in blank.text
    done = client.post(f"/app/handoffs/{task.id}/transition", data=form | {"outcome": "Weekly grocery delivery"})
    assert done.status_code == 303

    sign_in(client, web_case.planner.username)
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert "<strong>Loop closed</strong>: Weekly grocery delivery (Oak SNF 1)" in page
    worklist = client.get("/app/worklist").text
    assert "Loop closed: Food assistance — Weekly grocery delivery (Oak SNF 1)" in worklist


def test_an_unanswered_referral_shows_no_response_and_is_closed_with_a_reason(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    case = web_case.case
    referral = community_referral(
        session,
        case,
        "transport",
        [case.snfs[1]],
        case_goal(session, case, "Rides"),
        answer_due_at=now + timedelta(hours=1),
    )
    token = sign_in(client, web_case.planner.username)
    clock.set_clock(lambda: now + timedelta(hours=2))  # the answer is an hour late (the `now` fixture resets it)
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert "No response</strong> past the time an answer was due." in page
    assert "No response</strong>: Transport" in client.get("/app/worklist").text
    url = f"/app/referrals/{referral.id}/close"
    blank = client.post(url, data={"csrf_token": token, "reason": ""})
    assert blank.status_code == 422 and "must not be blank" in blank.text
    closed = client.post(url, data={"csrf_token": token, "reason": "No answer by the due time"})
    assert closed.status_code == 303 and closed.location.endswith("#referrals")
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert "<strong>Not met</strong>: the referral was revoked" in page
    assert "No answer by the due time" in page  # the cancelled recipient's reason
