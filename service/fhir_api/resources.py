"""The resource types carebridge serves and their search parameters, in one table: the search
code, the CapabilityStatement and the unknown-parameter check all read it.

Search parameter names and meanings are R4's (https://hl7.org/fhir/R4/searchparameter-registry.html);
`patient`/`subject` accept `Patient/id` or a bare id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists, or_

from service.auth.policy import MODELS
from service.fhir_api.params import date_clause, reference_id, token_code
from service.models import CareTeamMember, CasePlan, Goal, Handoff, Patient, PatientIdentifier, Referral, Stay
from service.models.audit_events import AccessEvent

Clause = Callable[[str, str], ColumnElement[bool]]  # (one value, FHIR base) -> filter


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search param type: reference | token | date
    clause: Clause
    documentation: str


@dataclass(frozen=True)
class ResourceKind:
    name: str
    model: type[Any]
    patient_column: Any
    # The column `_lastUpdated` compares with.
    last_updated: Any
    params: dict[str, SearchParam]
    # The _include / _revinclude values this type accepts (keys of INCLUDES).
    includes: tuple[str, ...] = ()
    revincludes: tuple[str, ...] = ()
    updatable: bool = False


def _reference(name: str, column: Any, target: str, doc: str) -> SearchParam:
    return SearchParam(name, "reference", lambda v, base: column == reference_id(name, v, target, base), doc)


def _token(name: str, column: Any, doc: str) -> SearchParam:
    return SearchParam(name, "token", lambda v, _base: column == token_code(v), doc)


def _json_list_token(name: str, column: Any, doc: str) -> SearchParam:
    # JSON lists of codes: a textual match on the quoted code works on SQLite JSON and PostgreSQL JSONB.
    return SearchParam(name, "token", lambda v, _base: cast(column, Text).like(f'%"{token_code(v)}"%'), doc)


def _patient_params(column: Any) -> dict[str, SearchParam]:
    return {
        "patient": _reference("patient", column, "Patient", "The patient the resource is about"),
        "subject": _reference("subject", column, "Patient", "The patient the resource is about (same as patient)"),
    }


def _identifier(value: str, _base: str) -> ColumnElement[bool]:
    system, bar, code = value.rpartition("|")
    clause = exists().where(PatientIdentifier.patient_id == Patient.id, PatientIdentifier.value == code)
    if bar and system:
        clause = exists().where(
            PatientIdentifier.patient_id == Patient.id,
            PatientIdentifier.value == code,
            PatientIdentifier.system == system,
        )
    return clause


def _referral_category(value: str, _base: str) -> ColumnElement[bool]:
    # Every carebridge ServiceRequest is a patient referral (SNOMED CT 3457005), see fhir_mappings.referral.
    return Referral.id.is_not(None) if token_code(value) == "3457005" else Referral.id.is_(None)


def _performer(value: str, base: str) -> ColumnElement[bool]:
    org = reference_id("performer", value, "Organization", base)
    return exists().where(Handoff.referral_id == Referral.id, Handoff.owner_org_id == org)


def _requester_ref(value: str, base: str) -> ColumnElement[bool]:
    text = value.removeprefix(base.rstrip("/") + "/")
    return or_(Referral.requester_ref == text, Referral.requester_ref == f"Organization/{text}")


KINDS: dict[str, ResourceKind] = {
    "Patient": ResourceKind(
        "Patient",
        Patient,
        Patient.id,
        Patient.updated_at,
        {"identifier": SearchParam("identifier", "token", _identifier, "A patient identifier (system|value)")},
        revincludes=("Task:patient", "CarePlan:patient"),
    ),
    "Encounter": ResourceKind(
        "Encounter",
        Stay,
        Stay.patient_id,
        Stay.updated_at,
        {**_patient_params(Stay.patient_id), "status": _token("status", Stay.status, "Encounter status")},
        includes=("Encounter:patient",),
    ),
    "CarePlan": ResourceKind(
        "CarePlan",
        CasePlan,
        CasePlan.patient_id,
        CasePlan.updated_at,
        {
            **_patient_params(CasePlan.patient_id),
            "status": _token("status", CasePlan.status, "CarePlan status"),
            "category": _json_list_token("category", CasePlan.categories, "CarePlan category code"),
        },
        includes=("CarePlan:patient", "CarePlan:goal"),
    ),
    "Goal": ResourceKind(
        "Goal",
        Goal,
        Goal.patient_id,
        Goal.updated_at,
        {
            **_patient_params(Goal.patient_id),
            "lifecycle-status": _token("lifecycle-status", Goal.lifecycle_status, "Goal lifecycle status"),
        },
        includes=("Goal:patient",),
    ),
    "ServiceRequest": ResourceKind(
        "ServiceRequest",
        Referral,
        Referral.patient_id,
        Referral.updated_at,
        {
            **_patient_params(Referral.patient_id),
            "status": _token("status", Referral.status, "ServiceRequest status"),
            "category": SearchParam("category", "token", _referral_category, "Category (3457005 patient referral)"),
            "requester": SearchParam("requester", "reference", _requester_ref, "Who asked for the service"),
            "performer": SearchParam("performer", "reference", _performer, "A recipient organisation"),
        },
        includes=("ServiceRequest:patient",),
        revincludes=("Task:focus",),
    ),
    "Task": ResourceKind(
        "Task",
        Handoff,
        Handoff.patient_id,
        Handoff.updated_at,
        {
            **_patient_params(Handoff.patient_id),
            "status": _token("status", Handoff.status, "Task status"),
            "business-status": _token("business-status", Handoff.business_status, "Task business status (text)"),
            "owner": _reference("owner", Handoff.owner_org_id, "Organization", "The organisation that owns the task"),
            "requester": _reference(
                "requester", Handoff.requester_org_id, "Organization", "The organisation that asked for the task"
            ),
            "focus": _reference("focus", Handoff.referral_id, "ServiceRequest", "The referral the task carries out"),
        },
        includes=("Task:focus", "Task:patient"),
        updatable=True,
    ),
    "CareTeam": ResourceKind(
        "CareTeam",
        Patient,
        Patient.id,
        Patient.updated_at,
        _patient_params(Patient.id),
        includes=("CareTeam:patient",),
    ),
}

# The access audit, searchable by auditors (not a patient-compartment resource: see routes).
AUDIT_EVENT = ResourceKind(
    "AuditEvent",
    AccessEvent,
    AccessEvent.patient_id,
    AccessEvent.recorded,
    {
        "patient": _reference("patient", AccessEvent.patient_id, "Patient", "The patient whose data was accessed"),
        "agent": _token("agent", AccessEvent.client_id, "The client id that made the access"),
        "date": SearchParam(
            "date", "date", lambda v, _base: date_clause("date", v, AccessEvent.recorded), "When it happened"
        ),
        "action": _token("action", AccessEvent.action, "C, R, U, D or E"),
    },
)

# "Source:param" -> (target type, source column, target column). `_include=Source:param` on Source
# results adds the targets whose target column equals a result's source column; `_revinclude`
# on target results adds the Source rows whose source column equals a result's target column.
INCLUDES: dict[str, tuple[str, Any, Any]] = {
    "Task:focus": ("ServiceRequest", Handoff.referral_id, Referral.id),
    "Task:patient": ("Patient", Handoff.patient_id, Patient.id),
    "CarePlan:goal": ("Goal", CasePlan.id, Goal.case_plan_id),
    "CarePlan:patient": ("Patient", CasePlan.patient_id, Patient.id),
    "Goal:patient": ("Patient", Goal.patient_id, Patient.id),
    "ServiceRequest:patient": ("Patient", Referral.patient_id, Patient.id),
    "Encounter:patient": ("Patient", Stay.patient_id, Patient.id),
    "CareTeam:patient": ("Patient", Patient.id, Patient.id),
}

# Only patients with at least one care-team member have a CareTeam.
CARE_TEAM_EXISTS = exists().where(CareTeamMember.patient_id == Patient.id)

assert set(KINDS) == set(MODELS), "tenancy and the FHIR API must cover the same resource types"
