from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service import clock
from service.api.auth import principal
from service.api.handoffs.schemas import HandoffSchema
from service.api.referrals.schemas import (
    CloseReferralSchema,
    ConfirmPlacementSchema,
    ReferralSchema,
    ReferralStatusSchema,
)
from service.app import request_session
from service.usecases import access, closing, referrals

blp = Blueprint("referrals", __name__, description="Referrals to one or more facilities, one handoff each")


@blp.route("")
class Referrals(MethodView):
    @blp.arguments(ReferralSchema)
    @blp.response(201, ReferralSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Send a referral.

        One ServiceRequest to one or more facilities; each recipient gets its own handoff (FHIR Task) to accept or
        decline.
        """
        ctx, session = principal(), request_session()
        access.creatable_for(session, ctx, "ServiceRequest", data["patient_id"])
        access.linkable(session, ctx, "Encounter", data["stay_id"])
        access.linkable(session, ctx, "CarePlan", data["case_plan_id"])
        access.linkable(session, ctx, "Goal", data["goal_id"])
        access.acting_for(ctx, data["requester_org_id"], "the requester")
        return referrals.send_referral(session, actor=ctx.actor, **data)


@blp.route("/<referral_id>")
class ReferralById(MethodView):
    @blp.response(200, ReferralSchema)
    def get(self, referral_id: str) -> Any:
        """Read a referral.

        The referral with every recipient's handoff.
        """
        return access.readable(request_session(), principal(), "ServiceRequest", referral_id)


@blp.route("/<referral_id>/status")
class ReferralStatus(MethodView):
    @blp.arguments(ReferralStatusSchema)
    @blp.response(200, ReferralSchema)
    def put(self, data: dict[str, Any], referral_id: str) -> Any:
        """Change a referral's status.

        Moves the ServiceRequest (e.g. to completed or revoked).
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "ServiceRequest", referral_id)
        return referrals.update_referral_status(session, referral_id, data["status"], actor=ctx.actor)


@blp.route("/<referral_id>/confirm-placement")
class ConfirmPlacement(MethodView):
    @blp.arguments(ConfirmPlacementSchema)
    @blp.response(200, HandoffSchema(many=True), description="The other recipients' handoffs, now cancelled")
    def post(self, data: dict[str, Any], referral_id: str) -> Any:
        """Confirm the placement.

        Chooses the facility whose handoff accepted; the other recipients' handoffs are cancelled with the reason given.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "ServiceRequest", referral_id)
        return referrals.confirm_placement(
            session, referral_id, data["handoff_id"], actor=ctx.actor, reason=data["reason"]
        )


@blp.route("/<referral_id>/close")
class CloseUnanswered(MethodView):
    @blp.arguments(CloseReferralSchema)
    @blp.response(200, ReferralSchema)
    @blp.alt_response(409, description="The referral is not waiting past its due time for an answer")
    def post(self, data: dict[str, Any], referral_id: str) -> Any:
        """Close a referral nobody answered.

        Only when every recipient still to answer is past its due time and none has taken it up ('no response'): the
        open handoffs are cancelled with the reason given and the ServiceRequest is revoked.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "ServiceRequest", referral_id)
        return closing.close_unanswered(session, referral_id, reason=data["reason"], actor=ctx.actor, now=clock.now())
