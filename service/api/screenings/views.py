from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.screenings.schemas import ScreeningSchema
from service.app import request_session
from service.usecases import access, screenings

blp = Blueprint("screenings", __name__, description="Screenings (QuestionnaireResponse) and the concerns they suggest")


@blp.route("")
class Screenings(MethodView):
    @blp.arguments(ScreeningSchema)
    @blp.response(201, ScreeningSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Record a screening.

        A QuestionnaireResponse to a loaded instrument; its Observations and suggested health
        concerns are derived at once. By the hospital running the case or the patient's payer.
        """
        ctx, session = principal(), request_session()
        access.screenable(session, ctx, data["patient_id"])
        access.linkable(session, ctx, "Encounter", data.get("stay_id"))
        return screenings.record_screening(
            session,
            data["response"],
            patient_id=data["patient_id"],
            stay_id=data.get("stay_id"),
            actor=ctx.actor,
            recorded_by_org_id=ctx.organization_id,
        )


@blp.route("/<screening_id>")
class ScreeningById(MethodView):
    @blp.response(200, ScreeningSchema)
    def get(self, screening_id: str) -> Any:
        """Read a screening.

        The screening with the concerns it suggested and what was decided on each.
        """
        return access.readable(request_session(), principal(), "QuestionnaireResponse", screening_id)
