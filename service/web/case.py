"""The patient case page: plan and goals, referrals, handoffs, timeline, readiness, barriers, discharge, notes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from service import clock
from service.app import request_session
from service.models import CasePlan, Goal, Referral, Stay
from service.models.plans import GOAL_ACHIEVEMENT, GOAL_LIFECYCLE, PLAN_STATUSES
from service.models.referrals import PLACEMENT_SERVICES, PRIORITIES, REFERRAL_SERVICES
from service.models.stays import BARRIER_CATEGORIES, DISCHARGE_DISPOSITIONS
from service.usecases import (
    access,
    closing,
    discharge,
    documents,
    plans,
    questionnaires,
    referrals,
    screenings,
    stays,
)
from service.usecases.case_view import load_case
from service.usecases.errors import Invalid
from service.web.blueprint import blueprint
from service.web.formatting import local_input, parse_local
from service.web.forms import expected_version, optional_date, refused_on, required_text
from service.web.handoff_actions import BUSINESS_STATUSES, actions_for
from service.web.session import current_user, principal, requires
from service.web.uploads import attach_uploaded, has_upload


def _visible_stay(stay_id: str) -> Stay:
    """The stay whose case is changed: the principal's organisation must run it (service.auth.policy)."""
    stay: Stay = access.writable(request_session(), principal(), "Encounter", stay_id)
    return stay


def writable_stay_referral(referral_id: str) -> Referral:
    """A referral the principal may change, of a stay: the pages act on referrals of a stay only."""
    referral: Referral = access.writable(request_session(), principal(), "ServiceRequest", referral_id)
    if referral.stay_id is None:
        abort(404)
    return referral


def _to_case(stay_id: str, anchor: str, saved: str) -> Response:
    """Back to the section the form was in, saying there that ``saved`` (a form's key) was saved."""
    return redirect(url_for("web.case", stay_id=stay_id, saved=saved, _anchor=anchor), code=303)


def _case_of_barrier(barrier_id: str) -> str:
    return case(access.writable_barrier(request_session(), principal(), barrier_id).stay_id)


def _case_of_plan(plan_id: str) -> str:
    return case(str(_plan(plan_id).stay_id))


def _case_of_goal(goal_id: str) -> str:
    goal: Goal = access.writable(request_session(), principal(), "Goal", goal_id)
    return _case_of_plan(str(goal.case_plan_id))


def _case_of_referral(referral_id: str) -> str:
    referral: Referral = access.writable(request_session(), principal(), "ServiceRequest", referral_id)
    return case(str(referral.stay_id))


def _actor() -> str:
    return principal().actor


@blueprint.get("/stays/<stay_id>")
@requires("Encounter", "u")
def case(stay_id: str) -> str:
    db = request_session()
    stay = access.case_workspace(db, principal(), stay_id)
    view = load_case(db, stay.id)
    screened, concerns = screenings.of_stay(db, view.stay)
    instruments = questionnaires.search(db, status="active")
    return render_template(
        "case.html",
        view=view,
        screenings=screened,
        concerns=concerns,
        instruments=instruments,
        instrument_titles={i.url: i.title or i.name for i in instruments},
        chosen_concern=request.args.get("concern"),
        stay=view.stay,
        patient=view.stay.patient,
        recipients=view.referable,
        actions_for=lambda handoff: actions_for(handoff, principal().organization_id),
        services=REFERRAL_SERVICES,
        placement_services=PLACEMENT_SERVICES,
        priorities=PRIORITIES,
        barrier_categories=BARRIER_CATEGORIES,
        dispositions=DISCHARGE_DISPOSITIONS,
        plan_statuses=PLAN_STATUSES,
        goal_lifecycle=GOAL_LIFECYCLE,
        goal_achievement=GOAL_ACHIEVEMENT,
        business_statuses=BUSINESS_STATUSES,
        placement_confirmed=referrals.PLACEMENT_CONFIRMED,
        documents=documents.of_referrals(db, principal(), [r.id for r in view.referrals]),
        document_types=documents.document_types(),
        now_utc=clock.now(),
        now_local=local_input(clock.now(), _zone()),
        respond_by_default=local_input(clock.now() + referrals.DEFAULT_ANSWER_WITHIN, _zone()),
    )


def _zone() -> ZoneInfo:
    zone: ZoneInfo = g.zone
    return zone


@blueprint.post("/stays/<stay_id>/dates")
@requires("Encounter", "u")
@refused_on("stay", case)
def stay_dates(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    changes: dict[str, Any] = {
        "expected_discharge_date": optional_date(request.form, "expected_discharge_date"),
        "medically_ready_date": optional_date(request.form, "medically_ready_date"),
        "unit": request.form.get("unit", "").strip() or None,
        "bed": request.form.get("bed", "").strip() or None,
    }
    stays.update_stay(request_session(), stay.id, changes, actor=_actor())
    return _to_case(stay.id, "summary", "stay")


@blueprint.post("/stays/<stay_id>/readiness")
@requires("Encounter", "u")
@refused_on(lambda stay_id: f"readiness-{request.form.get('code', '')}", case)
def readiness(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    met = request.form.get("met") == "1"
    code = request.form.get("code", "")
    stays.set_readiness(request_session(), stay.id, code, met=met, actor=_actor())
    return _to_case(stay.id, "readiness", f"readiness-{code}")


@blueprint.post("/stays/<stay_id>/barriers")
@requires("Encounter", "u")
@refused_on("barrier", case)
def add_barrier(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    stays.open_barrier(
        request_session(),
        stay.id,
        category=request.form.get("category", ""),
        note=request.form.get("note", "").strip(),
        actor=_actor(),
    )
    return _to_case(stay.id, "barriers", "barrier")


@blueprint.post("/barriers/<barrier_id>/resolve")
@requires("Encounter", "u")
@refused_on("resolve-{barrier_id}", _case_of_barrier)
def resolve_barrier(barrier_id: str) -> Response:
    barrier = access.writable_barrier(request_session(), principal(), barrier_id)
    stays.resolve_barrier(request_session(), barrier.id, note=request.form.get("note") or None, actor=_actor())
    return _to_case(barrier.stay_id, "barriers", f"resolve-{barrier.id}")


@blueprint.post("/stays/<stay_id>/discharge")
@requires("Encounter", "u")
@refused_on("discharge", case)
def record_discharge(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    try:
        discharged_at = parse_local(request.form.get("discharged_at", ""), _zone())
    except ValueError as exc:
        raise Invalid("the discharge time is not valid", fields={"discharged_at": ["Pick a date and time."]}) from exc
    discharge.record_discharge(
        request_session(),
        stay.id,
        discharged_at=discharged_at,
        disposition=request.form.get("disposition", ""),
        actor=_actor(),
    )
    return _to_case(stay.id, "handoffs", "discharge")


@blueprint.post("/stays/<stay_id>/plans")
@requires("Encounter", "u")
@refused_on("plan", case)
def create_plan(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    access.creatable_for(request_session(), principal(), "CarePlan", stay.patient_id)
    plans.create_case_plan(
        request_session(),
        patient_id=stay.patient_id,
        stay_id=stay.id,
        title=request.form.get("title", "").strip() or "Discharge and transition plan",
        author_ref=f"Organization/{stay.hospital_id}",
        actor=_actor(),
    )
    return _to_case(stay.id, "plan", "plan")


def _plan(plan_id: str) -> CasePlan:
    plan: CasePlan = access.writable(request_session(), principal(), "CarePlan", plan_id)
    if plan.stay_id is None:
        abort(404)  # the pages show plans of a stay only
    return plan


@blueprint.post("/plans/<plan_id>")
@requires("Encounter", "u")
@refused_on("plan-{plan_id}", _case_of_plan)
def update_plan(plan_id: str) -> Response:
    plan = _plan(plan_id)
    changes = {
        "title": request.form.get("title", "").strip() or plan.title,
        "description": request.form.get("description", "").strip() or None,
        "status": request.form.get("status", plan.status),
    }
    plans.update_case_plan(request_session(), plan.id, changes, actor=_actor(), expected_version=expected_version())
    return _to_case(str(plan.stay_id), "plan", f"plan-{plan.id}")


@blueprint.post("/plans/<plan_id>/notes")
@requires("Encounter", "u")
@refused_on("note-{plan_id}", _case_of_plan)
def plan_note(plan_id: str) -> Response:
    plan = _plan(plan_id)
    text = required_text("text", "a note")
    stamp = clock.now().astimezone(_zone()).strftime("%Y-%m-%d %H:%M %Z")
    note = f"{text} — {current_user().display_name}, {stamp}"
    plans.update_case_plan(request_session(), plan.id, {"notes": [*plan.notes, note]}, actor=_actor())
    return _to_case(str(plan.stay_id), "notes", f"note-{plan.id}")


@blueprint.post("/plans/<plan_id>/goals")
@requires("Encounter", "u")
@refused_on("goal-new-{plan_id}", _case_of_plan)
def add_goal(plan_id: str) -> Response:
    plan = _plan(plan_id)
    access.require(principal(), "Goal", "c")
    description = required_text("description", "a goal")
    plans.add_goal(
        request_session(),
        plan.id,
        description=description,
        lifecycle_status="active",
        achievement_status="in-progress",
        start_date=clock.now().date(),
        target_due_date=optional_date(request.form, "target_due_date"),
        concern_id=request.form.get("concern_id") or None,
        actor=_actor(),
    )
    return _to_case(str(plan.stay_id), "plan", f"goal-new-{plan.id}")


@blueprint.post("/goals/<goal_id>")
@requires("Encounter", "u")
@refused_on("goal-{goal_id}", _case_of_goal)
def update_goal(goal_id: str) -> Response:
    goal: Goal = access.writable(request_session(), principal(), "Goal", goal_id)
    plan = _plan(str(goal.case_plan_id))
    changes = {
        "lifecycle_status": request.form.get("lifecycle_status", goal.lifecycle_status),
        "achievement_status": request.form.get("achievement_status") or None,
    }
    plans.update_goal(request_session(), goal.id, changes, actor=_actor(), expected_version=expected_version())
    return _to_case(str(plan.stay_id), "plan", f"goal-{goal.id}")


@blueprint.post("/stays/<stay_id>/referrals")
@requires("Encounter", "u")
@refused_on("referral", case)
def send_referral(stay_id: str) -> Response:
    stay = _visible_stay(stay_id)
    access.creatable_for(request_session(), principal(), "ServiceRequest", stay.patient_id)
    plan_id = plans.plan_of_stay(request_session(), stay.id)
    goal_id = request.form.get("goal_id") or None
    access.linkable(request_session(), principal(), "Goal", goal_id)
    raw_due = request.form.get("answer_due_at", "").strip()
    try:
        # Left out, the answer is due DEFAULT_ANSWER_WITHIN after sending (the form proposes that time).
        answer_due_at = parse_local(raw_due, _zone()) if raw_due else None
    except ValueError as exc:
        message = {"answer_due_at": ["Pick the date and time the answer is due."]}
        raise Invalid("the respond-by time is not valid", fields=message) from exc
    referral = referrals.send_referral(
        request_session(),
        patient_id=stay.patient_id,
        stay_id=stay.id,
        case_plan_id=plan_id,
        goal_id=goal_id,
        service=request.form.get("service", ""),
        recipient_org_ids=request.form.getlist("recipient"),
        requester_org_id=str(principal().organization_id),
        reason=request.form.get("reason", "").strip() or None,
        # Typed diagnoses are free text (text-only CodeableConcepts), one per line.
        diagnoses=[
            {"display": text} for line in request.form.get("diagnosis", "").splitlines() if (text := line.strip())
        ],
        concern_id=request.form.get("concern_id") or None,
        priority=request.form.get("priority", "routine"),
        answer_due_at=answer_due_at,
        actor=_actor(),
    )
    if has_upload("document"):
        # Sent with a document: the referral stands; a refused file is shown at the new referral's attach form.
        refused = attach_uploaded(referral.id, lambda: case(stay.id), file_field="document", type_field="document_type")
        if refused is not None:
            return refused
    return _to_case(stay.id, "referrals", "referral")


@blueprint.post("/referrals/<referral_id>/confirm")
@requires("Encounter", "u")
@refused_on("confirm-{referral_id}", _case_of_referral)
def confirm_placement(referral_id: str) -> Response:
    referral = writable_stay_referral(referral_id)
    stay = _visible_stay(str(referral.stay_id))
    referrals.confirm_placement(
        request_session(),
        referral.id,
        request.form.get("handoff_id", ""),
        reason=request.form.get("reason", "").strip() or "Placement confirmed with another facility",
        actor=_actor(),
    )
    return _to_case(stay.id, "referrals", f"confirm-{referral.id}")



@blueprint.post("/referrals/<referral_id>/close")
@requires("Encounter", "u")
@refused_on("close-{referral_id}", _case_of_referral)
def close_unanswered(referral_id: str) -> Response:
    referral = writable_stay_referral(referral_id)
    stay = _visible_stay(str(referral.stay_id))
    closing.close_unanswered(
        request_session(), referral.id, reason=request.form.get("reason", ""), actor=_actor(), now=clock.now()
    )
    return _to_case(stay.id, "referrals", f"close-{referral.id}")
