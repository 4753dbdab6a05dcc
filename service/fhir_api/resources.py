"""The resource types carebridge serves and their search parameters, in one table: the search
code, the CapabilityStatement and the unknown-parameter check all read it.

Search parameter names and meanings are R4's (https://hl7.org/fhir/R4/searchparameter-registry.html);
`patient`/`subject` accept `Patient/id` or a bare id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, exists, false, or_, true

from fhir_mappings import business_identifier
from fhir_mappings.codes import (
    CONDITION_CATEGORY,
    LOINC,
    REFERRAL_SERVICES,
    SNOMED,
    US_CORE_CAREPLAN_CATEGORY,
    US_CORE_DOCUMENTREFERENCE_CATEGORY,
    V3_ACT_CODE,
    CodeMap,
)
from fhir_mappings.screening import (
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    OBSERVATION_CATEGORY,
    SDOH_DOMAINS,
    SDOHCC_CODES,
    UNSPECIFIED_DOMAIN,
    US_CORE_CATEGORY,
)
from service.auth.policy import MODELS
from service.fhir_api.params import Codes, date_clause, reference_id, string_clause, token_clause
from service.models import (
    CasePlan,
    Goal,
    Handoff,
    HealthConcern,
    Patient,
    PatientIdentifier,
    Referral,
    Screening,
    ScreeningObservation,
    Stay,
)
from service.models.audit_events import AccessEvent
from service.models.documents import Document

OWN_ENCOUNTER_IDENTIFIER = business_identifier("encounter", "").system
Clause = Callable[[str, str, str], ColumnElement[bool]]  # (one value, FHIR base, modifier) -> filter
# https://hl7.org/fhir/R4/search.html#modifiers: those carebridge implements, by parameter type.
STRING_MODIFIERS = ("exact", "contains")


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search param type: reference | token | date | string
    clause: Clause
    documentation: str
    # The column `_sort` orders by, when sorting by this parameter is supported.
    sort: Any = None
    modifiers: tuple[str, ...] = ()


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
    return SearchParam(name, "reference", lambda v, base, _m: column == reference_id(name, v, target, base), doc)


def _token(name: str, column: Any, doc: str, codes: Codes) -> SearchParam:
    return SearchParam(name, "token", lambda v, _base, _m: token_clause(name, v, column, codes), doc)


def _constant_token(name: str, doc: str, system: str, code: str) -> SearchParam:
    """A token every resource of the type carries with the same code (carebridge's Encounters are
    all inpatient hospital admissions): the clause is true or false for the whole type."""

    def clause(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
        return true() if code in Codes(system).stored(name, value) else false()

    return SearchParam(name, "token", clause, doc)


def _string(name: str, columns: tuple[Any, ...], doc: str) -> SearchParam:
    return SearchParam(
        name, "string", lambda v, _base, m: string_clause(name, m, v, columns), doc, modifiers=STRING_MODIFIERS
    )


def _date(name: str, low: Any, doc: str, *, high: Any = None, dates: bool = False) -> SearchParam:
    def clause(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
        return date_clause(name, value, low, high, open_end=high is not None, dates=dates)

    return SearchParam(name, "date", clause, doc, sort=low)


def _status(name: str, column: Any, doc: str, value_set: str) -> SearchParam:
    # Elements of type `code` take the bound value set's code system as their implicit system.
    return _token(name, column, doc, Codes(f"http://hl7.org/fhir/{value_set}"))


def _json_list_token(name: str, column: Any, doc: str, codes: Codes) -> SearchParam:
    # JSON lists of codes: a textual match on the quoted code works on SQLite JSON and PostgreSQL JSONB.
    def clause(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
        stored = codes.stored(name, value)
        return or_(*(cast(column, Text).like(f'%"{code}"%') for code in stored)) if stored else false()

    return SearchParam(name, "token", clause, doc)


def _patient_params(column: Any) -> dict[str, SearchParam]:
    return {
        "patient": _reference("patient", column, "Patient", "The patient the resource is about"),
        "subject": _reference("subject", column, "Patient", "The patient the resource is about (same as patient)"),
    }


def _identifier(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
    system, bar, code = value.rpartition("|")
    if bar and not system:
        return false()  # `|value`: an identifier without a system, and every patient identifier has one
    clause = exists().where(PatientIdentifier.patient_id == Patient.id, PatientIdentifier.value == code)
    if bar and system:
        clause = exists().where(
            PatientIdentifier.patient_id == Patient.id,
            PatientIdentifier.value == code,
            PatientIdentifier.system == system,
        )
    return clause


def _stay_identifier(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
    # The partner EHR's Encounter identifier, or carebridge's own (fhir_bridge.stay_data).
    system, bar, code = value.rpartition("|")
    if bar and system == OWN_ENCOUNTER_IDENTIFIER:
        return Stay.id == code
    if bar and system:
        return and_(Stay.source_system == system, Stay.source_id == code)
    return or_(Stay.source_id == code, Stay.id == code)


def _goal_description(value: str, _base: str, modifier: str) -> ColumnElement[bool]:
    # Goal.description is free text (CodeableConcept.text): only `:text` can match it
    # (https://hl7.org/fhir/R4/search.html#modifiers, token :text).
    return string_clause("description", "", value, (Goal.description,)) if modifier == "text" else false()


def _referral_category(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
    # Every carebridge ServiceRequest is a patient referral (SNOMED CT 3457005), see fhir_mappings.referral.
    return Referral.id.is_not(None) if "3457005" in Codes(SNOMED).stored("category", value) else Referral.id.is_(None)


def _performer(value: str, base: str, _modifier: str) -> ColumnElement[bool]:
    org = reference_id("performer", value, "Organization", base)
    return exists().where(Handoff.referral_id == Referral.id, Handoff.owner_org_id == org)


def _requester_ref(value: str, base: str, _modifier: str) -> ColumnElement[bool]:
    text = value.removeprefix(base.rstrip("/") + "/")
    return or_(Referral.requester_ref == text, Referral.requester_ref == f"Organization/{text}")


def _code_map(codes: CodeMap) -> Codes:
    aliases: dict[tuple[str, str], tuple[str, ...]] = {}
    for ours, triples in codes.equivalents.items():
        for system, theirs, _ in triples:
            aliases[(system, theirs)] = (*aliases.get((system, theirs), ()), ours)
    return Codes(codes.system.url, aliases)


def _categories(system: str) -> Codes:
    """The categories a screening's Observations and Conditions carry (one of `system`'s, US Core's
    sdoh and the SDOH domain, fhir_mappings.screening), stored as bare codes."""
    domains = {(SDOHCC_CODES, domain): (domain,) for domain, _ in (*SDOH_DOMAINS.values(), UNSPECIFIED_DOMAIN)}
    return Codes(system, {(US_CORE_CATEGORY, "sdoh"): ("sdoh",), **domains})


def _questionnaire(value: str, _base: str, _modifier: str) -> ColumnElement[bool]:
    # The instrument's canonical (https://hl7.org/fhir/R4/search.html#reference, canonical
    # targets): `url` matches every version answered, `url|version` that version.
    url = value.removeprefix(_base.rstrip("/") + "/")
    return (
        Screening.questionnaire == url
        if "|" in url
        else or_(Screening.questionnaire == url, Screening.questionnaire.startswith(url + "|", autoescape=True))
    )


KINDS: dict[str, ResourceKind] = {
    "Patient": ResourceKind(
        "Patient",
        Patient,
        Patient.id,
        Patient.updated_at,
        {
            "identifier": SearchParam("identifier", "token", _identifier, "A patient identifier (system|value)"),
            "name": _string("name", (Patient.family_name, Patient.given_name), "Any part of the name"),
            "family": _string("family", (Patient.family_name,), "The family name"),
            "given": _string("given", (Patient.given_name,), "A given name"),
            "birthdate": _date("birthdate", Patient.birth_date, "Date of birth", dates=True),
            "gender": _token(
                "gender", Patient.gender, "Administrative gender", Codes("http://hl7.org/fhir/administrative-gender")
            ),
        },
        revincludes=("Task:patient", "CarePlan:patient"),
    ),
    "Encounter": ResourceKind(
        "Encounter",
        Stay,
        Stay.patient_id,
        Stay.updated_at,
        {
            **_patient_params(Stay.patient_id),
            "status": _status("status", Stay.status, "Encounter status", "encounter-status"),
            "date": _date("date", Stay.admitted_at, "A date within the stay (period)", high=Stay.discharged_at),
            "identifier": SearchParam("identifier", "token", _stay_identifier, "The EHR's encounter identifier"),
            "class": _constant_token("class", "Encounter class (IMP: inpatient)", V3_ACT_CODE, "IMP"),
            "type": _constant_token("type", "Encounter type (SNOMED CT 32485007 admission)", SNOMED, "32485007"),
        },
        includes=("Encounter:patient",),
    ),
    "CarePlan": ResourceKind(
        "CarePlan",
        CasePlan,
        CasePlan.patient_id,
        CasePlan.updated_at,
        {
            **_patient_params(CasePlan.patient_id),
            "status": _status("status", CasePlan.status, "CarePlan status", "request-status"),
            "category": _json_list_token(
                "category", CasePlan.categories, "CarePlan category code", Codes(US_CORE_CAREPLAN_CATEGORY.url)
            ),
            "date": _date(
                "date", CasePlan.period_start, "A date within the plan's period", high=CasePlan.period_end, dates=True
            ),
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
            "lifecycle-status": _status(
                "lifecycle-status", Goal.lifecycle_status, "Goal lifecycle status", "goal-status"
            ),
            "target-date": _date("target-date", Goal.target_due_date, "When the goal is due", dates=True),
            "description": SearchParam(
                "description", "token", _goal_description, "The goal's text, with :text", modifiers=("text",)
            ),
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
            "status": _status("status", Referral.status, "ServiceRequest status", "request-status"),
            "category": SearchParam("category", "token", _referral_category, "Category (3457005 patient referral)"),
            "code": _token("code", Referral.service, "The service referred to", _code_map(REFERRAL_SERVICES)),
            "authored": _date("authored", Referral.authored_on, "When the referral was sent"),
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
            "status": _status("status", Handoff.status, "Task status", "task-status"),
            "business-status": _token(
                "business-status", Handoff.business_status, "Task business status (text)", Codes(None)
            ),
            "owner": _reference("owner", Handoff.owner_org_id, "Organization", "The organisation that owns the task"),
            "requester": _reference(
                "requester", Handoff.requester_org_id, "Organization", "The organisation that asked for the task"
            ),
            "focus": _reference("focus", Handoff.referral_id, "ServiceRequest", "The referral the task carries out"),
        },
        includes=("Task:focus", "Task:patient"),
        updatable=True,
    ),
    # US Core 6.1 DocumentReference searches: _id, patient, patient+category, patient+type,
    # patient+category+date (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-documentreference.html).
    "DocumentReference": ResourceKind(
        "DocumentReference",
        Document,
        Document.patient_id,
        Document.updated_at,
        {
            **_patient_params(Document.patient_id),
            "status": _status("status", Document.status, "DocumentReference status", "document-reference-status"),
            # Every document carebridge keeps is a clinical note (fhir_mappings.document).
            "category": _constant_token(
                "category", "Category (clinical-note)", US_CORE_DOCUMENTREFERENCE_CATEGORY.url, "clinical-note"
            ),
            "type": _token("type", Document.type_code, "The kind of document (LOINC)", Codes(LOINC)),
            "date": _date("date", Document.created_at, "When the document was attached"),
            "related": _reference(
                "related", Document.referral_id, "ServiceRequest", "The referral the document was sent with"
            ),
        },
        includes=("DocumentReference:patient",),
    ),
    "CareTeam": ResourceKind(
        "CareTeam",
        Patient,
        Patient.id,
        Patient.updated_at,
        {
            **_patient_params(Patient.id),
            # Teams carebridge serves are in use (fhir_mappings.care_team).
            "status": _constant_token(
                "status", "CareTeam status (active)", "http://hl7.org/fhir/care-team-status", "active"
            ),
        },
        includes=("CareTeam:patient", "CareTeam:participant:PractitionerRole"),
    ),
    # Screening (Gravity SDOH): SDC QuestionnaireResponse, US Core Observation Screening
    # Assessment and US Core Condition Problems and Health Concerns, with the searches US Core
    # 6.1 asks of them (https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html).
    "QuestionnaireResponse": ResourceKind(
        "QuestionnaireResponse",
        Screening,
        Screening.patient_id,
        Screening.updated_at,
        {
            **_patient_params(Screening.patient_id),
            "status": _status(
                "status", Screening.status, "QuestionnaireResponse status", "questionnaire-answers-status"
            ),
            "authored": _date("authored", Screening.authored, "When the answers were gathered"),
            "questionnaire": SearchParam(
                "questionnaire", "reference", _questionnaire, "The instrument answered (its canonical url)"
            ),
        },
    ),
    "Observation": ResourceKind(
        "Observation",
        ScreeningObservation,
        ScreeningObservation.patient_id,
        ScreeningObservation.updated_at,
        {
            **_patient_params(ScreeningObservation.patient_id),
            "category": _json_list_token(
                "category",
                ScreeningObservation.categories,
                "survey, sdoh or the SDOH domain",
                _categories(OBSERVATION_CATEGORY),
            ),
            "code": _token("code", ScreeningObservation.code, "The LOINC question or score", Codes(LOINC)),
            "date": _date("date", ScreeningObservation.effective, "When the answer was given"),
            # Observations carebridge derives are final (fhir_mappings.screening).
            "status": _constant_token(
                "status", "Observation status (final)", "http://hl7.org/fhir/observation-status", "final"
            ),
        },
    ),
    "Condition": ResourceKind(
        "Condition",
        HealthConcern,
        HealthConcern.patient_id,
        HealthConcern.updated_at,
        {
            **_patient_params(HealthConcern.patient_id),
            "category": _json_list_token(
                "category",
                HealthConcern.categories,
                "health-concern, sdoh or the SDOH domain",
                _categories(CONDITION_CATEGORY),
            ),
            "clinical-status": _token(
                "clinical-status", HealthConcern.clinical_status, "Clinical status", Codes(CONDITION_CLINICAL)
            ),
            "verification-status": _token(
                "verification-status",
                HealthConcern.verification_status,
                "unconfirmed (a suggestion), confirmed or refuted",
                Codes(CONDITION_VERIFICATION),
            ),
            "code": _token("code", HealthConcern.code, "The SNOMED CT finding", Codes(SNOMED)),
            "recorded-date": _date("recorded-date", HealthConcern.recorded, "When the concern was suggested"),
        },
    ),
}

# The members of a care team are people's roles (PractitionerRole, from the users on the team:
# service.usecases.directory.care_team_roles), as US Core's CareTeam _include expects.
CARE_TEAM_MEMBERS = "CareTeam:participant:PractitionerRole"

# US Core 6.1: every type SHALL support `_revinclude=Provenance:target`, answered from the audit
# trail (service.usecases.directory.changes_of); a CareTeam, derived from its members, has none.
PROVENANCE_TARGET = "Provenance:target"
KINDS = {name: replace(kind, revincludes=(*kind.revincludes, PROVENANCE_TARGET)) for name, kind in KINDS.items()}

# The access audit, searchable by auditors (not a patient-compartment resource: see routes).
AUDIT_EVENT = ResourceKind(
    "AuditEvent",
    AccessEvent,
    AccessEvent.patient_id,
    AccessEvent.recorded,
    {
        "patient": _reference("patient", AccessEvent.patient_id, "Patient", "The patient whose data was accessed"),
        # A backend client is its client id; a person is their username (the event's subject), whichever door.
        "agent": SearchParam(
            "agent",
            "token",
            lambda v, _base, _m: or_(
                token_clause("agent", v, AccessEvent.client_id, Codes(None)),
                token_clause("agent", v, AccessEvent.subject, Codes(None)),
            ),
            "Who made the access: a client id, or a person's username",
        ),
        "date": _date("date", AccessEvent.recorded, "When it happened"),
        "action": _status("action", AccessEvent.action, "C, R, U, D or E", "audit-event-action"),
        # 0 success, 4 refused (401, 403, 404...), 8 failed: https://hl7.org/fhir/R4/valueset-audit-event-outcome.html
        "outcome": _status(
            "outcome", AccessEvent.outcome, "0 success, 4 refused or invalid, 8 failure", "audit-event-outcome"
        ),
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
    "DocumentReference:patient": ("Patient", Document.patient_id, Patient.id),
}

assert set(KINDS) == set(MODELS), "tenancy and the FHIR API must cover the same resource types"
