"""The screening doors of the FHIR API: create a QuestionnaireResponse (a partner's own
screening, e.g. a payer's, flows into suggestions exactly like one recorded in carebridge), and
read and search the instruments (Questionnaire by `url`, `name`, `status`).

QuestionnaireResponse read/search, Observation and Condition are patient-compartment types served
by `routes` from the `resources` table like every other.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from fhir_mappings.datatypes import parse_reference
from service.app import request_session
from service.auth.audit import record_access_now
from service.fhir_api import bp
from service.fhir_api.capability import register_capability
from service.fhir_api.guard import authorize
from service.fhir_api.incoming import resource_body
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.routes import lenient, resource_response
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.fhir_bridge import questionnaire_json, render, searchset
from service.usecases import access, questionnaires, screenings

QUESTIONNAIRE_PARAMS = {
    "url": "The instrument's canonical URL",
    "name": "Its computable name (exact)",
    "status": "draft, active, retired or unknown",
}
_IGNORED = {"_format", "_count"}


@bp.post("/QuestionnaireResponse")
def create_questionnaire_response() -> Response:
    """https://hl7.org/fhir/R4/http.html#create: 201 with the resource as stored and its Location."""
    ctx = authorize("QuestionnaireResponse", "c")
    body = resource_body("QuestionnaireResponse")
    subject = parse_reference(body.get("subject"))
    patient_id = subject.removeprefix(fhir_base() + "/") if subject else None
    if patient_id is None or not patient_id.startswith("Patient/"):
        raise FhirError(400, "QuestionnaireResponse.subject must name the Patient screened", expression=["subject"])
    patient_id = patient_id.removeprefix("Patient/")
    session = request_session()
    with use_case_errors():
        access.screenable(session, ctx, patient_id)
        row = screenings.record_screening(
            session,
            {**body, "subject": {"reference": f"Patient/{patient_id}"}},
            patient_id=patient_id,
            actor=ctx.actor,
            recorded_by_org_id=ctx.organization_id,
        )
    [resource] = render(session, "QuestionnaireResponse", [row], ctx)
    return resource_response(resource, 201)


@bp.get("/Questionnaire/<ident>")
def read_questionnaire(ident: str) -> Response:
    ctx = authorize("Questionnaire", "r")
    session = request_session()
    with use_case_errors():
        row = questionnaires.read(session, ident)
    record_access_now(session, ctx, action="R", interaction="read", resource_type="Questionnaire", resource_id=ident)
    return fhir_response(questionnaire_json(row))


@bp.get("/Questionnaire")
def search_questionnaires() -> Response:
    ctx = authorize("Questionnaire", "s")
    session = request_session()
    wanted: dict[str, str] = {}
    for key, value in request.args.items(multi=True):
        if key in QUESTIONNAIRE_PARAMS:
            wanted[key] = value
        elif key not in _IGNORED and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for Questionnaire", code="not-supported")
    found = [questionnaire_json(row) for row in questionnaires.search(session, **wanted)]
    names = "&".join(dict.fromkeys(k for k in request.args if k not in _IGNORED))  # names only
    record_access_now(
        session, ctx, action="E", interaction="search-type", resource_type="Questionnaire", query=names or None
    )
    base = fhir_base()
    query = request.query_string.decode("latin-1")
    self_link = f"{base}/Questionnaire" + (f"?{query}" if query else "")
    return fhir_response(searchset(found, [], base_url=base, self_link=self_link, next_link=None, total=len(found)))


def _describe(rest: dict[str, Any]) -> None:
    for resource in rest["resource"]:
        if resource["type"] == "Questionnaire":
            resource["searchParam"] = [
                {"name": name, "type": "uri" if name == "url" else "string" if name == "name" else "token",
                 "documentation": doc}
                for name, doc in QUESTIONNAIRE_PARAMS.items()
            ]  # fmt: skip


register_capability(_describe)
