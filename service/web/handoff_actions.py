"""Moving a handoff (accept, decline, cancel...), its business status and notes: for planners and facilities.

Only the moves the FHIR Task state machine allows next *and* that the user's side owns are
offered (Gravity SDOH: the requester owns draft/requested, the recipient owns accepted..completed,
either side may cancel): https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html
"""

from __future__ import annotations

from typing import NamedTuple

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from service.app import request_session
from service.domain.handoff_status import allowed_next, party_for
from service.models import Handoff
from service.usecases import access, handoffs
from service.usecases.errors import Invalid
from service.web.blueprint import blueprint
from service.web.forms import expected_version, refused_in_place
from service.web.session import principal, safe_next, works_cases

LABELS = {
    "received": "Mark received",
    "accepted": "Accept",
    "rejected": "Decline",
    "in-progress": "Start",
    "on-hold": "Put on hold",
    "completed": "Mark completed",
    "failed": "Mark failed",
    "cancelled": "Cancel",
    "requested": "Send",
    "ready": "Mark ready",
    "entered-in-error": "Entered in error",
}
# Saying no, or giving up, needs a reason the other side can read (Task.statusReason).
NEEDS_REASON = frozenset({"rejected", "cancelled", "failed", "on-hold"})
# Common intake answers; the field also takes free text.
BUSINESS_STATUSES = ("reviewing clinicals", "bed offered", "awaiting auth", "awaiting family decision", "bed held")


class Action(NamedTuple):
    target: str
    label: str
    needs_reason: bool


def actions_for(handoff: Handoff, org_id: str | None) -> list[Action]:
    """The transitions ``org_id`` may make now, in the order the state machine lists them."""
    sides = {
        side
        for side, org in (("owner", handoff.owner_org_id), ("requester", handoff.requester_org_id))
        if org == org_id
    }
    if sides:
        sides.add("either")
    return [
        Action(target, LABELS.get(target, target), target in NEEDS_REASON)
        for target in sorted(allowed_next(handoff.status), key=list(LABELS).index)
        if party_for(target) in sides
    ]


def _handoff(handoff_id: str) -> Handoff:
    handoff: Handoff = access.writable(request_session(), principal(), "Task", handoff_id)
    return handoff


def _back_path(handoff: Handoff) -> str:
    default = url_for("web.queue")
    if handoff.stay_id and works_cases():
        default = url_for("web.case", stay_id=handoff.stay_id)
    return safe_next(request.form.get("back"), default)


def _back(handoff: Handoff) -> Response:
    """Back to the page the action came from, at the card acted on (the queue's cards carry its id)."""
    path = _back_path(handoff)
    anchor = f"#handoff-{handoff.id}" if path.startswith(url_for("web.queue")) else ""
    return redirect(path + anchor, code=303)


def _page_of(handoff: Handoff) -> str:
    """The page the action came from, rendered again (for a refusal shown in place)."""
    from service.web import case, queue  # the pages import this module's actions

    if handoff.stay_id and _back_path(handoff).startswith(url_for("web.case", stay_id=handoff.stay_id)):
        return case.case(handoff.stay_id)
    return queue.queue()


@blueprint.app_template_global()
def transition_form(handoff_id: str, target: str) -> str:
    """The key naming one move's form, so a refusal is shown next to that form only."""
    return f"move-{handoff_id}-{target}"


@blueprint.post("/handoffs/<handoff_id>/transition")
def transition(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    ctx = principal()
    target = request.form.get("target", "")
    try:
        handoffs.transition_handoff(
            request_session(),
            handoff.id,
            target,
            actor=ctx.actor,
            reason=request.form.get("reason") or None,
            business_status=request.form.get("business_status") or None,
            expected_version=expected_version(),
            acting_org_id=ctx.organization_id,
        )
    except Invalid as exc:
        return refused_in_place(transition_form(handoff.id, target), exc, lambda: _page_of(handoff))
    return _back(handoff)


@blueprint.post("/handoffs/<handoff_id>/business-status")
def business_status(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    handoffs.set_business_status(
        request_session(),
        handoff.id,
        request.form.get("business_status", "").strip() or None,
        actor=principal().actor,
        expected_version=expected_version(),
    )
    return _back(handoff)


@blueprint.post("/handoffs/<handoff_id>/notes")
def handoff_note(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    handoffs.add_note(request_session(), handoff.id, request.form.get("text", ""), actor=principal().actor)
    return _back(handoff)
