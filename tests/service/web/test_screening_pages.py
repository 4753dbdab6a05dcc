"""The screening form rendered from the instrument, the suggestions on the case, and a concern
turned into a goal and a referral (issue #15)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Goal, HealthConcern, Referral, Screening
from service.usecases import plans, questionnaires
from tests.service.web.conftest import WebCase, sign_in

# AHC HRSN core, in the instrument's order: 0 living situation, 1 housing problems, 2 and 3 the
# Hunger Vital Sign, 4 transportation, 5 utilities, 6-9 safety. Option indexes as listed there.
FOOD_OFTEN_TRUE = {"q2": "0"}  # "Often true"
TRANSPORT_YES = {"q4": "0"}  # "Yes"


def _form(client: Any, web_case: WebCase) -> str:
    page = client.get(f"/app/stays/{web_case.case.stay.id}/screenings/ahc-hrsn-core")
    assert page.status_code == 200
    return str(page.text)


def test_every_question_is_a_labelled_group(client: Any, session: Session, web_case: WebCase) -> None:
    questionnaires.load_shipped(session)
    sign_in(client, web_case.planner.username)
    html = _form(client, web_case)
    assert html.count("<fieldset") == 10 and html.count("<legend") == 10
    radios = re.findall(r'<input type="radio" id="([^"]+)"', html)
    labels = set(re.findall(r'<label for="([^"]+)"', html))
    assert radios and set(radios) <= labels
    assert "Within the past 12 months, you worried that your food would run out" in html


def test_a_screening_suggests_concerns_that_become_a_goal_and_a_referral(
    client: Any, session: Session, web_case: WebCase
) -> None:
    questionnaires.load_shipped(session)
    stay = web_case.case.stay
    plan = plans.create_case_plan(session, patient_id=stay.patient_id, stay_id=stay.id, title="Home", actor="t")
    token = sign_in(client, web_case.planner.username)
    sent = client.post(
        f"/app/stays/{stay.id}/screenings/ahc-hrsn-core",
        data={"csrf_token": token, **FOOD_OFTEN_TRUE, **TRANSPORT_YES},
    )
    assert sent.status_code == 303 and sent.location.endswith("#screening")
    page = client.get(f"/app/stays/{stay.id}").text
    assert "Food insecurity" in page and "Lack of access to transportation" in page
    assert page.count(">suggested<") == 2
    food = session.scalars(select(HealthConcern).where(HealthConcern.code == "733423003")).one()
    confirmed = client.post(
        f"/app/concerns/{food.id}", data={"csrf_token": token, "verification_status": "confirmed", "version": "1"}
    )
    assert confirmed.status_code == 303
    page = client.get(f"/app/stays/{stay.id}").text
    assert "Add goal" in page and f"concern={food.id}" in page
    added = client.post(
        f"/app/plans/{plan.id}/goals",
        data={"csrf_token": token, "description": "Enough food at home", "concern_id": food.id},
    )
    assert added.status_code == 303
    assert session.scalars(select(Goal.concern_id).where(Goal.case_plan_id == plan.id)).all() == [food.id]
    referral_form = client.get(f"/app/stays/{stay.id}?concern={food.id}").text
    assert f'<option value="{food.id}" selected>' in referral_form
    referred = client.post(
        f"/app/stays/{stay.id}/referrals",
        data={
            "csrf_token": token,
            "service": "meals",
            "priority": "routine",
            "concern_id": food.id,
            "recipient": [web_case.case.snfs[0].id],
        },
    )
    assert referred.status_code == 303
    assert session.scalars(select(Referral.concern_id).where(Referral.stay_id == stay.id)).all() == [food.id]


def test_a_refused_screening_keeps_the_answers(client: Any, session: Session, web_case: WebCase) -> None:
    questionnaires.load_shipped(session)
    token = sign_in(client, web_case.planner.username)
    refused = client.post(
        f"/app/stays/{web_case.case.stay.id}/screenings/ahc-hrsn-core",
        data={"csrf_token": token, **FOOD_OFTEN_TRUE, "q4": "7"},  # transportation has two options
    )
    assert refused.status_code == 422
    assert 'id="q2-0" name="q2" value="0" checked' in refused.text
    assert "choose one of the answers" in refused.text
    empty = client.post(f"/app/stays/{web_case.case.stay.id}/screenings/ahc-hrsn-core", data={"csrf_token": token})
    assert empty.status_code == 422 and "answer at least one question" in empty.text


def test_a_facility_cannot_open_the_screening_form(client: Any, session: Session, web_case: WebCase) -> None:
    questionnaires.load_shipped(session)
    sign_in(client, web_case.intakes[0].username)
    assert client.get(f"/app/stays/{web_case.case.stay.id}/screenings/ahc-hrsn-core").status_code == 403


def test_choose_all_that_apply_keeps_every_choice(client: Any, session: Session, web_case: WebCase) -> None:
    questionnaires.load_shipped(session)
    token = sign_in(client, web_case.planner.username)
    html = _form(client, web_case)
    assert 'type="checkbox" id="q1-0" name="q1"' in html  # housing problems: "choose all that apply"
    sent = client.post(
        f"/app/stays/{web_case.case.stay.id}/screenings/ahc-hrsn-core",
        data={"csrf_token": token, "q1": ["0", "1"]},  # pests, mold
    )
    assert sent.status_code == 303
    (item,) = session.scalars(select(Screening)).one().resource["item"]
    assert [a["valueCoding"]["code"] for a in item["answer"]] == ["LA31996-4", "LA28580-1"]
