"""Moving a handoff (accept, decline, cancel...), its business status and notes: for planners and facilities.

Only the moves the FHIR Task state machine allows next *and* that the user's side owns are
offered (Gravity SDOH: the requester owns draft/requested, the recipient owns accepted..completed,
either side may cancel): https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html

A facility deciding on a referral sees them in an intake coordinator's words: accept with a bed
offered, decline, ask for information, and later withdraw the offer; the patient's arrival, not
the facility, completes the referral (the discharge does, see ``usecases.discharge``). A community
organisation does the work itself (food, rides, help with a bill): once it accepted, it completes
the referral saying what was done (Task.output), which closes the loop (``usecases.closing``).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from service.app import request_session
from service.domain.handoff_status import allowed_next, party_for
from service.models import Handoff
from service.models.referrals import PLACEMENT_SERVICES
from service.usecases import access, handoffs
from service.web.blueprint import blueprint
from service.web.forms import expected_version, refused_on
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


# A referral's recipient deciding on it: each move in intake words, with the businessStatus it sets.
INTAKE_MOVES: dict[str, tuple[str, str | None]] = {
    "accepted": ("Accept — bed offered", "bed offered"),
    "rejected": ("Decline", None),
    "cancelled": ("Withdraw the bed offer", None),
}
# A community organisation's answer to a referral for a service it provides itself.
SERVICE_MOVES: dict[str, tuple[str, str | None]] = {
    "accepted": ("Accept", None),
    "rejected": ("Decline", None),
    "completed": ("Done", None),
    "cancelled": ("Withdraw", None),
}
# The hospital's side of the same referral.
REQUESTER_MOVES = {"cancelled": ("Withdraw the referral", None)}


class Action(NamedTuple):
    target: str
    label: str
    needs_reason: bool
    business_status: str | None = None
    # Completing a referral says what was done (Task.output), which closes the loop for the requester.
    needs_outcome: bool = False


def actions_for(handoff: Handoff, org_id: str | None) -> list[Action]:
    """The transitions ``org_id`` may make now, in the order the state machine lists them."""
    sides = {
        side
        for side, org in (("owner", handoff.owner_org_id), ("requester", handoff.requester_org_id))
        if org == org_id
    }
    if sides:
        sides.add("either")
    targets = sorted(allowed_next(handoff.status), key=list(LABELS).index)
    allowed = [target for target in targets if party_for(target) in sides]
    if handoff.kind == "referral_decision":
        words = _recipient_moves(handoff) if "owner" in sides else REQUESTER_MOVES
        # Before deciding, the facility declines rather than cancels; once it offered a bed it may withdraw.
        deciding = handoff.status in ("requested", "received")
        return [
            Action(target, label, target in NEEDS_REASON, business_status, target == "completed")
            for target in allowed
            if target in words and not (deciding and target == "cancelled" and "owner" in sides)
            for label, business_status in [words[target]]
        ]
    if handoff.owner_org_id == handoff.requester_org_id:
        # The organisation's own work: nobody else receives, accepts or declines it; it is taken on.
        own = {"received": None, "rejected": None, "accepted": "Take it on"}
        return [
            Action(target, own.get(target) or LABELS.get(target, target), target in NEEDS_REASON)
            for target in allowed
            if target not in own or own[target]
        ]
    return [Action(target, LABELS.get(target, target), target in NEEDS_REASON) for target in allowed]


def _recipient_moves(handoff: Handoff) -> dict[str, tuple[str, str | None]]:
    placement = handoff.referral is None or handoff.referral.service in PLACEMENT_SERVICES
    return INTAKE_MOVES if placement else SERVICE_MOVES


def may_ask_for_information(handoff: Handoff, org_id: str | None) -> bool:
    """A referral's recipient may ask the hospital something until it decides."""
    deciding = handoff.status in ("requested", "received")
    return handoff.kind == "referral_decision" and deciding and handoff.owner_org_id == org_id


def _handoff(handoff_id: str) -> Handoff:
    handoff: Handoff = access.writable(request_session(), principal(), "Task", handoff_id)
    return handoff


def _back_path(handoff: Handoff) -> str:
    default = url_for("web.queue")
    if handoff.stay_id and works_cases():
        default = url_for("web.case", stay_id=handoff.stay_id)
    return safe_next(request.form.get("back"), default)


def _back(handoff: Handoff, saved: str) -> Response:
    """Back to the page the action came from, at the card or row acted on (both carry the handoff's
    id), saying there that the form ``saved`` was saved."""
    path = _back_path(handoff)
    joiner = "&" if "?" in path else "?"
    return redirect(f"{path}{joiner}{urlencode({'saved': saved})}#handoff-{handoff.id}", code=303)


def _page_of(handoff_id: str) -> str:
    """The page the action came from, rendered again (for a refusal shown in place)."""
    from service.web import case, queue  # the pages import this module's actions

    handoff = _handoff(handoff_id)
    if handoff.stay_id and _back_path(handoff).startswith(url_for("web.case", stay_id=handoff.stay_id)):
        return case.case(handoff.stay_id)
    return queue.queue()


@blueprint.app_template_global()
def transition_form(handoff_id: str, target: str) -> str:
    """The key naming one move's form, so a refusal is shown next to that form only."""
    return f"move-{handoff_id}-{target}"


@blueprint.app_template_filter()
def add_prefix(text: str, prefix: str) -> str:
    return prefix + text


@blueprint.post("/handoffs/<handoff_id>/transition")
@refused_on(lambda handoff_id: transition_form(handoff_id, request.form.get("target", "")), _page_of)
def transition(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    ctx = principal()
    target = request.form.get("target", "")
    handoffs.transition_handoff(
        request_session(),
        handoff.id,
        target,
        actor=ctx.actor,
        reason=request.form.get("reason") or None,
        business_status=request.form.get("business_status") or None,
        expected_version=expected_version(),
        acting_org_id=ctx.organization_id,
        outcome=request.form.get("outcome") if target == "completed" else None,
    )
    return _back(handoff, transition_form(handoff.id, target))


@blueprint.post("/handoffs/<handoff_id>/business-status")
@refused_on("status-{handoff_id}", _page_of)
def business_status(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    handoffs.set_business_status(
        request_session(),
        handoff.id,
        request.form.get("business_status", "").strip() or None,
        actor=principal().actor,
        expected_version=expected_version(),
    )
    return _back(handoff, f"status-{handoff.id}")


@blueprint.post("/handoffs/<handoff_id>/ask")
@refused_on("ask-{handoff_id}", _page_of)
def ask_for_information(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    ctx = principal()
    handoffs.ask_for_information(
        request_session(),
        handoff.id,
        request.form.get("question", ""),
        actor=ctx.actor,
        acting_org_id=ctx.organization_id,
        expected_version=expected_version(),
    )
    return _back(handoff, f"ask-{handoff.id}")


@blueprint.post("/handoffs/<handoff_id>/notes")
@refused_on("note-{handoff_id}", _page_of)
def handoff_note(handoff_id: str) -> Response:
    handoff = _handoff(handoff_id)
    handoffs.add_note(request_session(), handoff.id, request.form.get("text", ""), actor=principal().actor)
    return _back(handoff, f"note-{handoff.id}")
