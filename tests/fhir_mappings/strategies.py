"""Hypothesis strategies for carebridge records: every status, optional fields present or
absent, unicode text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from fhir_mappings import codes
from fhir_mappings.domain import (
    CarePlanData,
    CareTeamData,
    CareTeamMember,
    CodeableConceptData,
    Coding,
    GoalData,
    HandoffData,
    Identifier,
    OrganizationData,
    PatientData,
    ProvenanceData,
    ReferralData,
    ScreeningData,
    ScreeningItem,
    StayData,
)

# https://hl7.org/fhir/R4/datatypes.html#id
ids = st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True)
# FHIR strings: any unicode but not empty or blank (https://hl7.org/fhir/R4/datatypes.html#string)
texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: not s.isspace()
)
# FHIR codes: no leading/trailing or double whitespace (https://hl7.org/fhir/R4/datatypes.html#code)
code_values = st.from_regex(r"[A-Za-z0-9\-_.]{1,20}", fullmatch=True)
uris = st.sampled_from(["http://snomed.info/sct", "urn:oid:1.2.3", "https://carebridge.dev/fhir/identifier/mrn"])
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
# FHIR offsets are whole minutes from -14:00 to +14:00
zones = st.integers(-14 * 60, 14 * 60).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
instants = st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 12, 30), timezones=zones)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def some(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(strategy, max_size=3).map(tuple)


def codes_of(table: codes.ValueSet | codes.CodeSystem) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(table.codes if isinstance(table, codes.ValueSet) else table.concepts))


def references(*types: str) -> st.SearchStrategy[str]:
    return st.builds(lambda t, i: f"{t}/{i}", st.sampled_from(types), ids)


identifiers = some(st.builds(Identifier, uris, texts))
notes = some(texts)
concepts = st.builds(
    CodeableConceptData, optional(uris), optional(code_values), optional(texts), optional(texts)
).filter(lambda c: c != CodeableConceptData())
people = references("Practitioner", "PractitionerRole", "Organization")

handoffs = st.builds(
    HandoffData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    kind=codes_of(codes.HANDOFF_KIND),
    status=codes_of(codes.TASK_STATUS),
    owner_ref=optional(people),
    requester_ref=optional(people),
    referral_id=optional(ids),
    stay_id=optional(ids),
    business_status=optional(concepts),
    status_reason=optional(concepts),
    description=optional(texts),
    due_at=optional(instants),
    execution_start=optional(instants),
    execution_end=optional(instants),
    authored_on=optional(instants),
    last_modified=optional(instants),
    notes=notes,
    identifiers=identifiers,
)
referrals = st.builds(
    ReferralData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    service_code=codes_of(codes.REFERRAL_SERVICE),
    status=codes_of(codes.REQUEST_STATUS),
    intent=codes_of(codes.REQUEST_INTENT),
    goal_id=optional(ids),
    priority=codes_of(codes.REQUEST_PRIORITY),
    stay_id=optional(ids),
    reason=optional(texts),
    requester_ref=optional(people),
    performer_refs=some(references("Organization")),
    wanted_by=optional(dates),
    authored_on=optional(instants),
    notes=notes,
    identifiers=identifiers,
)
goals = st.builds(
    GoalData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    description=texts,
    lifecycle_status=codes_of(codes.GOAL_STATUS),
    achievement_status=optional(codes_of(codes.GOAL_ACHIEVEMENT)),
    start_date=optional(dates),
    target_measure=optional(texts),
    target_due_date=optional(dates),
    expressed_by_ref=optional(references("Patient", "Practitioner")),
    notes=notes,
)
care_plans = st.builds(
    CarePlanData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    status=codes_of(codes.REQUEST_STATUS),
    intent=codes_of(codes.CARE_PLAN_INTENT),
    title=optional(texts),
    description=optional(texts),
    period_start=optional(dates),
    period_end=optional(dates),
    author_ref=optional(people),
    addresses=some(references("Condition") | concepts),
    goal_ids=some(ids),
    care_team_ids=some(ids),
    activity_refs=some(references("ServiceRequest", "Task")),
    notes=notes,
    stay_id=optional(ids),
    created=optional(instants),
)
care_teams = st.builds(
    CareTeamData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    name=optional(texts),
    members=some(st.builds(CareTeamMember, people, optional(codes_of(codes.CARE_TEAM_ROLE)))),
)
stays = st.builds(
    StayData,
    id=optional(ids),
    patient_id=ids,  # carebridge records always name their patient (R4 requires it for most)
    status=codes_of(codes.ENCOUNTER_STATUS),
    hospital_org_id=optional(ids),
    admitted_at=optional(instants),
    discharged_at=optional(instants),
    discharge_disposition=optional(codes_of(codes.CAREBRIDGE_DISCHARGE_DISPOSITION)),
    unit=optional(texts),
    bed=optional(texts),
    identifiers=identifiers,
)
patients = st.builds(
    PatientData,
    id=optional(ids),
    identifiers=identifiers,
    family=optional(texts),
    given=some(texts),
    birth_date=optional(dates),
    gender=optional(codes_of(codes.ADMINISTRATIVE_GENDER)),
)
organizations = st.builds(
    OrganizationData,
    id=optional(ids),
    name=optional(texts),
    kind=optional(codes_of(codes.ORGANIZATION_KIND)),
    identifiers=identifiers,
)
provenances = st.builds(
    ProvenanceData,
    id=optional(ids),
    target_refs=st.lists(
        st.builds(lambda ref, v: ref + (f"/_history/{v}" if v else ""), references("Task", "CarePlan"), optional(ids)),
        min_size=1,
        max_size=3,
    ).map(tuple),
    recorded=instants,
    author_ref=references("Practitioner", "Device"),
    on_behalf_of_ref=optional(references("Organization")),
    activity=codes_of(codes.DATA_OPERATION),
)

# https://hl7.org/fhir/R4/datatypes.html#integer
integers = st.integers(-(2**31), 2**31 - 1)
answers = st.builds(Coding, optional(uris), code_values, optional(texts)) | integers | st.booleans()
screenings = st.builds(
    ScreeningData,
    id=optional(ids),
    questionnaire=st.sampled_from(
        ["https://carebridge.dev/fhir/Questionnaire/ahc-hrsn-core", "https://carebridge.dev/fhir/Questionnaire/hunger-vital-sign"]
    ),
    patient_id=optional(ids),
    status=st.sampled_from(["in-progress", "completed", "amended", "entered-in-error", "stopped"]),
    authored=optional(instants),
    items=some(st.builds(ScreeningItem, code_values, some(answers), optional(texts))),
)
