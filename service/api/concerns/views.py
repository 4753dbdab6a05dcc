from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.common import expected_version
from service.api.screenings.schemas import ConcernDecisionSchema, ConcernSchema
from service.app import request_session
from service.usecases import access, screenings

blp = Blueprint("concerns", __name__, description="Health concerns (Condition) suggested by screenings")


@blp.route("/<concern_id>")
class ConcernById(MethodView):
    @blp.response(200, ConcernSchema)
    def get(self, concern_id: str) -> Any:
        """Read a health concern.

        A concern a screening suggested, with its verification status and who decided it.
        """
        return access.readable(request_session(), principal(), "Condition", concern_id)


@blp.route("/<concern_id>/verification-status")
class ConcernDecision(MethodView):
    @blp.arguments(ConcernDecisionSchema)
    @blp.response(200, ConcernSchema)
    def put(self, data: dict[str, Any], concern_id: str) -> Any:
        """Confirm or dismiss a suggested concern.

        `confirmed`: the stay's open case plans address it and goals and referrals may name it;
        `refuted`: the suggestion is dismissed.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Condition", concern_id)
        return screenings.decide_concern(
            session, concern_id, data["verification_status"], actor=ctx.actor, expected_version=expected_version()
        )
