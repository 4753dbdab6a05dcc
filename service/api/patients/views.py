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
        return patients.list_patients(request_session(), **page)

    @blp.arguments(PatientSchema)
    @blp.response(201, PatientSchema)
    def post(self, data: dict[str, Any]) -> Any:
        return patients.register_patient(request_session(), actor=actor(), **data)


@blp.route("/<patient_id>")
class PatientById(MethodView):
    @blp.response(200, PatientSchema)
    def get(self, patient_id: str) -> Any:
        return get_or_404(request_session(), Patient, patient_id)

    @blp.arguments(PatientUpdateSchema)
    @blp.response(200, PatientSchema)
    def patch(self, changes: dict[str, Any], patient_id: str) -> Any:
        return patients.update_patient(request_session(), patient_id, changes, actor=actor())
