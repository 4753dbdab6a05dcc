from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.common import actor
from service.api.handoffs.schemas import HandoffSchema
from service.api.referrals.schemas import ConfirmPlacementSchema, ReferralSchema, ReferralStatusSchema
from service.app import request_session
from service.models import Referral
from service.usecases import referrals
from service.usecases.unit_of_work import get_or_404

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
        return referrals.send_referral(request_session(), actor=actor(), **data)


@blp.route("/<referral_id>")
class ReferralById(MethodView):
    @blp.response(200, ReferralSchema)
    def get(self, referral_id: str) -> Any:
        """Read a referral.

        The referral with every recipient's handoff.
        """
        return get_or_404(request_session(), Referral, referral_id)


@blp.route("/<referral_id>/status")
class ReferralStatus(MethodView):
    @blp.arguments(ReferralStatusSchema)
    @blp.response(200, ReferralSchema)
    def put(self, data: dict[str, Any], referral_id: str) -> Any:
        """Change a referral's status.

        Moves the ServiceRequest (e.g. to completed or revoked).
        """
        return referrals.update_referral_status(request_session(), referral_id, data["status"], actor=actor())


@blp.route("/<referral_id>/confirm-placement")
class ConfirmPlacement(MethodView):
    @blp.arguments(ConfirmPlacementSchema)
    @blp.response(200, HandoffSchema(many=True), description="The other recipients' handoffs, now cancelled")
    def post(self, data: dict[str, Any], referral_id: str) -> Any:
        """Confirm the placement.

        Chooses the facility whose handoff accepted; the other recipients' handoffs are cancelled with the reason given.
        """
        return referrals.confirm_placement(
            request_session(), referral_id, data["handoff_id"], actor=actor(), reason=data["reason"]
        )
