from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.common import acting_org, actor, expected_version
from service.api.handoffs.schemas import (
    BusinessStatusSchema,
    HandoffSchema,
    NewHandoffSchema,
    NoteSchema,
    QueueArgs,
    TransitionSchema,
)
from service.app import request_session
from service.models import Handoff
from service.usecases import handoffs
from service.usecases.unit_of_work import get_or_404

blp = Blueprint("handoffs", __name__, description="Tracked steps between parties, on the FHIR Task state machine")


@blp.route("")
class Handoffs(MethodView):
    @blp.arguments(NewHandoffSchema)
    @blp.response(201, HandoffSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a handoff.

        A tracked step owned by one organisation (FHIR Task), starting as draft, requested or ready.
        """
        return handoffs.create_handoff(request_session(), actor=actor(), **data)


@blp.route("/<handoff_id>")
class HandoffById(MethodView):
    @blp.response(200, HandoffSchema)
    def get(self, handoff_id: str) -> Any:
        """Read a handoff.

        The handoff with its notes and its timeline of status changes.
        """
        return get_or_404(request_session(), Handoff, handoff_id)


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
        return handoffs.transition_handoff(
            request_session(),
            handoff_id,
            data["status"],
            actor=actor(),
            reason=data["reason"],
            business_status=data["business_status"],
            expected_version=expected_version(),
            acting_org_id=acting_org(),
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
        return handoffs.set_business_status(
            request_session(), handoff_id, data["business_status"], actor=actor(), expected_version=expected_version()
        )


@blp.route("/<handoff_id>/notes")
class HandoffNotes(MethodView):
    @blp.arguments(NoteSchema)
    @blp.response(201, HandoffSchema)
    def post(self, data: dict[str, Any], handoff_id: str) -> Any:
        """Add a note to a handoff.

        Notes are kept in order with their author and time.
        """
        return handoffs.add_note(request_session(), handoff_id, data["text"], actor=actor())


@blp.route("/queue/<org_id>")
class OwnerQueue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, HandoffSchema(many=True))
    def get(self, args: dict[str, Any], org_id: str) -> Any:
        """List an organisation's handoffs.

        The handoffs an organisation owns, earliest due first (a facility's intake queue); closed ones only with
        `include_closed`.
        """
        return handoffs.owner_queue(request_session(), org_id, include_closed=args["include_closed"])
