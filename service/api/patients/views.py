from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.auth import principal
from service.api.common import PageArgs
from service.api.patients.schemas import PatientSchema, PatientUpdateSchema
from service.app import request_session
from service.usecases import access, patients

blp = Blueprint("patients", __name__, description="Patients and their business identifiers")


@blp.route("")
class Patients(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PatientSchema(many=True))
    def get(self, page: dict[str, int]) -> Any:
        """List patients.

        Patients by family name, paged with `limit` and `offset`.

        The patients the caller may see (its hospital's, its members, those referred to it).
        """
        ctx = principal()
        access.require(ctx, "Patient", "s")
        found = patients.list_patients(request_session(), ctx=ctx, **page)
        access.listed(ctx, "Patient", [p.id for p in found])
        return found

    @blp.arguments(PatientSchema)
    @blp.response(201, PatientSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a patient.

        Adds a patient with business identifiers (MRN, member id, partners' ids). An identifier already held by another
        patient is refused with 409.

        The hospital then admits them (`POST /api/stays`) to run their case.
        """
        ctx = principal()
        access.require(ctx, "Patient", "c")
        return patients.register_patient(request_session(), actor=ctx.actor, **data)


@blp.route("/<patient_id>")
class PatientById(MethodView):
    @blp.response(200, PatientSchema)
    def get(self, patient_id: str) -> Any:
        """Read a patient.

        The patient with its identifiers; 404 when the id names no patient.
        """
        return access.readable(request_session(), principal(), "Patient", patient_id)

    @blp.arguments(PatientUpdateSchema)
    @blp.response(200, PatientSchema)
    def patch(self, changes: dict[str, Any], patient_id: str) -> Any:
        """Change a patient's demographics or payer.

        Only the fields sent change; an empty body or `{}` is refused with 422, and an unknown `payer_id` or
        `primary_care_id` is refused with 422 naming it.

        Only the hospital running the patient's case changes it (so nobody else can, say, set a payer).
        """
        ctx, session = principal(), request_session()
        access.writable(session, ctx, "Patient", patient_id)
        return patients.update_patient(session, patient_id, changes, actor=ctx.actor)
