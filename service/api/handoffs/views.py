from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.common import expected_version
from service.api.handoffs.schemas import (
    BusinessStatusSchema,
    HandoffSchema,
    NewHandoffSchema,
    NoteSchema,
    QueueArgs,
    TransitionSchema,
)
from service.app import request_session
from service.usecases import access, handoffs

blp = Blueprint("handoffs", __name__, description="Tracked steps between parties, on the FHIR Task state machine")


@blp.route("")
class Handoffs(MethodView):
    @blp.arguments(NewHandoffSchema)
    @blp.response(201, HandoffSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a handoff.

        A tracked step owned by one organisation (FHIR Task), starting as draft, requested or ready.
        """
        ctx, session = principal(), request_session()
        access.creatable_for(session, ctx, "Task", data["patient_id"])
        access.linkable(session, ctx, "Encounter", data["stay_id"])
        access.acting_for(ctx, data["requester_org_id"], "the requester")
        return handoffs.create_handoff(session, actor=ctx.actor, **data)


@blp.route("/<handoff_id>")
class HandoffById(MethodView):
    @blp.response(200, HandoffSchema)
    def get(self, handoff_id: str) -> Any:
        """Read a handoff.

        The handoff with its notes and its timeline of status changes.
        """
        return access.readable(request_session(), principal(), "Task", handoff_id)


@blp.route("/<handoff_id>/transition")
class HandoffTransition(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, HandoffSchema)
    @blp.alt_response(409, description="Illegal transition: the message names the allowed next states")
    def post(self, data: dict[str, Any], handoff_id: str) -> Any:
        """Move a handoff to another status.

        Follows the FHIR Task state machine and the party rules (owner vs requester); send `If-Match` with the version
        you read. An illegal move answers 409 naming the allowed next states.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Task", handoff_id)
        return handoffs.transition_handoff(
            session,
            handoff_id,
            data["status"],
            actor=ctx.actor,
            reason=data["reason"],
            business_status=data["business_status"],
            expected_version=expected_version(),
            acting_org_id=ctx.organization_id,
            outcome=data["outcome"],
        )


@blp.route("/<handoff_id>/business-status")
class HandoffBusinessStatus(MethodView):
    @blp.arguments(BusinessStatusSchema)
    @blp.response(200, HandoffSchema)
    def put(self, data: dict[str, Any], handoff_id: str) -> Any:
        """Set a handoff's business status.

        A finer step within the status, such as 'bed offered'; `null` clears it. Send `If-Match` with the version you
        read.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Task", handoff_id)
        return handoffs.set_business_status(
            session, handoff_id, data["business_status"], actor=ctx.actor, expected_version=expected_version()
        )


@blp.route("/<handoff_id>/notes")
class HandoffNotes(MethodView):
    @blp.arguments(NoteSchema)
    @blp.response(201, HandoffSchema)
    def post(self, data: dict[str, Any], handoff_id: str) -> Any:
        """Add a note to a handoff.

        Notes are kept in order with their author and time.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Task", handoff_id)
        return handoffs.add_note(session, handoff_id, data["text"], actor=ctx.actor)


@blp.route("/queue/<org_id>")
class OwnerQueue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, HandoffSchema(many=True))
    def get(self, args: dict[str, Any], org_id: str) -> Any:
        """List an organisation's handoffs.

        The handoffs an organisation owns, earliest due first (a facility's intake queue); closed ones only with
        `include_closed`. Only the caller's own organisation's queue (403 for another's).
        """
        ctx = principal()
        access.require(ctx, "Task", "s")
        access.acting_for(ctx, org_id, "a queue's organisation")
        items = handoffs.owner_queue(request_session(), org_id, include_closed=args["include_closed"], ctx=ctx)
        access.listed(ctx, "Task", [h.patient_id for h in items])
        return items
