"""Screening on the case page: the form rendered from the instrument (FHIR Questionnaire), and
Confirm / Dismiss of each concern it suggests (service.usecases.screenings).

The form is plain HTML: each question a fieldset whose legend is the question's text (choices as
radio buttons, numbers as number inputs, yes/no as two radio buttons), so it is answered with the
keyboard alone and every control is labelled; a refused screening comes back with the answers
given kept (422).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from service import clock
from service.app import request_session
from service.usecases import access, questionnaires, screenings
from service.usecases.errors import Invalid
from service.web.blueprint import blueprint
from service.web.forms import expected_version, refused_in_place
from service.web.session import principal, requires


def _to_screening(stay_id: str) -> Response:
    return redirect(url_for("web.case", stay_id=stay_id, _anchor="screening"), code=303)


# A control's name per question (linkIds may hold any character; the index is the form's own).
_FIELD = "q{}"


def answers_from_form(questionnaire: dict[str, Any], form: MultiDict[str, str]) -> list[dict[str, Any]]:
    """QuestionnaireResponse items for the questions answered: a choice is its option's index
    (several for a question that `repeats`, "choose all that apply"), a number digits, yes/no
    `true`/`false`; a value that is none of these is refused naming the field."""
    items: list[dict[str, Any]] = []
    wrong: dict[str, list[str]] = {}
    for index, question in enumerate(questionnaire.get("item") or ()):
        name = _FIELD.format(index)
        given = [raw.strip() for raw in form.getlist(name) if raw.strip()]
        if not given:
            continue
        answers = [_answer(question, raw) for raw in (given if question.get("repeats") else given[:1])]
        if None in answers:
            wrong[name] = ["choose one of the answers" if question.get("type") != "integer" else "a whole number"]
            continue
        items.append({"linkId": question["linkId"], "text": question.get("text"), "answer": answers})
    if wrong:
        raise Invalid("some answers cannot be read", fields=wrong)
    if not items:
        raise Invalid("answer at least one question", fields={"": ["answer at least one question"]})
    return items


def _answer(question: dict[str, Any], raw: str) -> dict[str, Any] | None:
    kind, options = question.get("type"), question.get("answerOption") or ()
    if kind == "choice" and raw.isdigit() and int(raw) < len(options):
        return {"valueCoding": options[int(raw)]["valueCoding"]}
    if kind == "integer" and raw.isdigit() and len(raw) <= 6:
        return {"valueInteger": int(raw)}
    if kind == "boolean" and raw in ("true", "false"):
        return {"valueBoolean": raw == "true"}
    return None


def _form_page(stay_id: str, questionnaire_id: str) -> str:
    db = request_session()
    stay = access.case_workspace(db, principal(), stay_id)
    questionnaire = questionnaires.read(db, questionnaire_id)
    return render_template(
        "screening.html", stay=stay, patient=stay.patient, questionnaire=questionnaire.resource,
        questionnaire_id=questionnaire.id, field=_FIELD.format, given=request.form.getlist,
    )  # fmt: skip


@blueprint.get("/stays/<stay_id>/screenings/<questionnaire_id>")
@requires("QuestionnaireResponse", "c")
def screening_form(stay_id: str, questionnaire_id: str) -> str:
    return _form_page(stay_id, questionnaire_id)


@blueprint.post("/stays/<stay_id>/screenings/<questionnaire_id>")
@requires("QuestionnaireResponse", "c")
def record_screening(stay_id: str, questionnaire_id: str) -> Response:
    db, ctx = request_session(), principal()
    stay = access.case_workspace(db, ctx, stay_id)
    access.screenable(db, ctx, stay.patient_id)
    questionnaire = questionnaires.read(db, questionnaire_id)
    try:
        response = {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": questionnaire.url,
            "status": "completed",
            "authored": clock.now().isoformat(),
            "item": answers_from_form(questionnaire.resource, request.form),
        }
        screenings.record_screening(
            db, response, patient_id=stay.patient_id, stay_id=stay.id, actor=ctx.actor,
            recorded_by_org_id=ctx.organization_id,
        )  # fmt: skip
    except Invalid as exc:
        return refused_in_place("screening", exc, lambda: _form_page(stay_id, questionnaire_id))
    return _to_screening(stay.id)


@blueprint.post("/concerns/<concern_id>")
@requires("Condition", "u")
def decide_concern(concern_id: str) -> Response:
    db, ctx = request_session(), principal()
    concern = access.writable(db, ctx, "Condition", concern_id)
    screenings.decide_concern(
        db, concern.id, request.form.get("verification_status", ""), actor=ctx.actor,
        expected_version=expected_version(),
    )  # fmt: skip
    return _to_screening(str(concern.stay_id))
