from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
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
from service.usecases import access, discharge, stays

blp = Blueprint("stays", __name__, description="Inpatient stays, discharge readiness and barriers")


@blp.route("")
class Stays(MethodView):
    @blp.arguments(StaySchema)
    @blp.response(201, StaySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Admit a patient.

        Opens an inpatient stay at a hospital, with the readiness checklist every discharge needs.
        """
        ctx, session = principal(), request_session()
        access.admittable(session, ctx, data["patient_id"], data["hospital_id"])
        return stays.admit(session, actor=ctx.actor, **data)


@blp.route("/<stay_id>")
class StayById(MethodView):
    @blp.response(200, StaySchema)
    def get(self, stay_id: str) -> Any:
        """Read a stay.

        The stay with its readiness checklist and barriers to discharge.
        """
        return access.readable(request_session(), principal(), "Encounter", stay_id)

    @blp.arguments(StayUpdateSchema)
    @blp.response(200, StaySchema)
    def patch(self, changes: dict[str, Any], stay_id: str) -> Any:
        """Change a stay's unit, bed, planner or dates.

        Only the fields sent change; an empty body or `{}` is refused with 422.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Encounter", stay_id)
        return stays.update_stay(session, stay_id, changes, actor=ctx.actor)


@blp.route("/<stay_id>/readiness/<code>")
class Readiness(MethodView):
    @blp.arguments(ReadinessUpdateSchema)
    @blp.response(200, ReadinessItemSchema)
    def put(self, data: dict[str, Any], stay_id: str, code: str) -> Any:
        """Mark a readiness item met or unmet.

        `code` names the checklist item; who and when are recorded.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Encounter", stay_id)
        return stays.set_readiness(session, stay_id, code, met=data["met"], actor=ctx.actor)


@blp.route("/<stay_id>/barriers")
class Barriers(MethodView):
    @blp.arguments(BarrierSchema)
    @blp.response(201, BarrierSchema)
    def post(self, data: dict[str, Any], stay_id: str) -> Any:
        """Open a barrier to discharge.

        A reason the patient cannot leave yet (insurance, placement, family...), counted as avoidable days until
        resolved.
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Encounter", stay_id)
        return stays.open_barrier(session, stay_id, actor=ctx.actor, **data)


@blp.route("/barriers/<barrier_id>/resolve")
class ResolveBarrier(MethodView):
    @blp.arguments(ResolveBarrierSchema)
    @blp.response(200, BarrierSchema)
    def post(self, data: dict[str, Any], barrier_id: str) -> Any:
        """Resolve a barrier.

        Closes an open barrier with an optional note.
        """
        ctx, session = principal(), request_session()
        access.writable_barrier(session, ctx, barrier_id)
        return stays.resolve_barrier(session, barrier_id, actor=ctx.actor, note=data["note"])


@blp.route("/<stay_id>/discharge")
class Discharge(MethodView):
    @blp.arguments(DischargeSchema)
    @blp.response(201, HandoffSchema(many=True), description="The follow-up handoffs that were started")
    def post(self, data: dict[str, Any], stay_id: str) -> Any:
        """Record the discharge.

        Sets the discharge time and disposition and starts the follow-up handoffs the disposition calls for (48-hour
        call, PCP visit).
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Encounter", stay_id)
        return discharge.record_discharge(session, stay_id, actor=ctx.actor, **data)
