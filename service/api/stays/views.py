from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.common import actor
from service.api.handoffs.schemas import HandoffSchema
from service.api.stays.schemas import (
    BarrierSchema,
    DischargeSchema,
    ReadinessItemSchema,
    ReadinessUpdateSchema,
    ResolveBarrierSchema,
    StaySchema,
    StayUpdateSchema,
)
from service.app import request_session
from service.models import Stay
from service.usecases import discharge, stays
from service.usecases.unit_of_work import get_or_404

blp = Blueprint("stays", __name__, description="Inpatient stays, discharge readiness and barriers")


@blp.route("")
class Stays(MethodView):
    @blp.arguments(StaySchema)
    @blp.response(201, StaySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Admit a patient.

        Opens an inpatient stay at a hospital, with the readiness checklist every discharge needs.
        """
        return stays.admit(request_session(), actor=actor(), **data)


@blp.route("/<stay_id>")
class StayById(MethodView):
    @blp.response(200, StaySchema)
    def get(self, stay_id: str) -> Any:
        """Read a stay.

        The stay with its readiness checklist and barriers to discharge.
        """
        return get_or_404(request_session(), Stay, stay_id)

    @blp.arguments(StayUpdateSchema)
    @blp.response(200, StaySchema)
    def patch(self, changes: dict[str, Any], stay_id: str) -> Any:
        """Change a stay's unit, bed, planner or dates.

        Only the fields sent change; an empty body or `{}` is refused with 422.
        """
        return stays.update_stay(request_session(), stay_id, changes, actor=actor())


@blp.route("/<stay_id>/readiness/<code>")
class Readiness(MethodView):
    @blp.arguments(ReadinessUpdateSchema)
    @blp.response(200, ReadinessItemSchema)
    def put(self, data: dict[str, Any], stay_id: str, code: str) -> Any:
        """Mark a readiness item met or unmet.

        `code` names the checklist item; who and when are recorded.
        """
        return stays.set_readiness(request_session(), stay_id, code, met=data["met"], actor=actor())


@blp.route("/<stay_id>/barriers")
class Barriers(MethodView):
    @blp.arguments(BarrierSchema)
    @blp.response(201, BarrierSchema)
    def post(self, data: dict[str, Any], stay_id: str) -> Any:
        """Open a barrier to discharge.

        A reason the patient cannot leave yet (insurance, placement, family...), counted as avoidable days until
        resolved.
        """
        return stays.open_barrier(request_session(), stay_id, actor=actor(), **data)


@blp.route("/barriers/<barrier_id>/resolve")
class ResolveBarrier(MethodView):
    @blp.arguments(ResolveBarrierSchema)
    @blp.response(200, BarrierSchema)
    def post(self, data: dict[str, Any], barrier_id: str) -> Any:
        """Resolve a barrier.

        Closes an open barrier with an optional note.
        """
        return stays.resolve_barrier(request_session(), barrier_id, actor=actor(), note=data["note"])


@blp.route("/<stay_id>/discharge")
class Discharge(MethodView):
    @blp.arguments(DischargeSchema)
    @blp.response(201, HandoffSchema(many=True), description="The follow-up handoffs that were started")
    def post(self, data: dict[str, Any], stay_id: str) -> Any:
        """Record the discharge.

        Sets the discharge time and disposition and starts the follow-up handoffs the disposition calls for (48-hour
        call, PCP visit).
        """
        return discharge.record_discharge(request_session(), stay_id, actor=actor(), **data)
