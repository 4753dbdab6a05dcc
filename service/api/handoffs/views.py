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
        return handoffs.create_handoff(request_session(), actor=actor(), **data)


@blp.route("/<handoff_id>")
class HandoffById(MethodView):
    @blp.response(200, HandoffSchema)
    def get(self, handoff_id: str) -> Any:
        return get_or_404(request_session(), Handoff, handoff_id)


@blp.route("/<handoff_id>/transition")
class HandoffTransition(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, HandoffSchema)
    @blp.alt_response(409, description="Illegal transition: the message names the allowed next states")
    def post(self, data: dict[str, Any], handoff_id: str) -> Any:
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
        return handoffs.set_business_status(
            request_session(), handoff_id, data["business_status"], actor=actor(), expected_version=expected_version()
        )


@blp.route("/<handoff_id>/notes")
class HandoffNotes(MethodView):
    @blp.arguments(NoteSchema)
    @blp.response(201, HandoffSchema)
    def post(self, data: dict[str, Any], handoff_id: str) -> Any:
        return handoffs.add_note(request_session(), handoff_id, data["text"], actor=actor())


@blp.route("/queue/<org_id>")
class OwnerQueue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, HandoffSchema(many=True))
    def get(self, args: dict[str, Any], org_id: str) -> Any:
        """The handoffs an organisation owns, earliest due first (a facility's intake queue)."""
        return handoffs.owner_queue(request_session(), org_id, include_closed=args["include_closed"])
