from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.common import PageArgs, actor
from service.api.patients.schemas import PatientSchema, PatientUpdateSchema
from service.app import request_session
from service.models import Patient
from service.usecases import patients
from service.usecases.unit_of_work import get_or_404

blp = Blueprint("patients", __name__, description="Patients and their business identifiers")


@blp.route("")
class Patients(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PatientSchema(many=True))
    def get(self, page: dict[str, int]) -> Any:
        """List patients.

        Patients by family name, paged with `limit` and `offset`.
        """
        return patients.list_patients(request_session(), **page)

    @blp.arguments(PatientSchema)
    @blp.response(201, PatientSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a patient.

        Adds a patient with business identifiers (MRN, member id, partners' ids). An identifier already held by another
        patient is refused with 409.
        """
        return patients.register_patient(request_session(), actor=actor(), **data)


@blp.route("/<patient_id>")
class PatientById(MethodView):
    @blp.response(200, PatientSchema)
    def get(self, patient_id: str) -> Any:
        """Read a patient.

        The patient with its identifiers; 404 when the id names no patient.
        """
        return get_or_404(request_session(), Patient, patient_id)

    @blp.arguments(PatientUpdateSchema)
    @blp.response(200, PatientSchema)
    def patch(self, changes: dict[str, Any], patient_id: str) -> Any:
        """Change a patient's demographics or payer.

        Only the fields sent change; an empty body or `{}` is refused with 422, and an unknown `payer_id` or
        `primary_care_id` is refused with 422 naming it.
        """
        return patients.update_patient(request_session(), patient_id, changes, actor=actor())
