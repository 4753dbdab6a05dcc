"""The records carebridge keeps, as plain frozen dataclasses: the input of `to_fhir_*`, the output
of `from_fhir_*`.

Conventions (the service converts its ORM rows into these):
- ids are strings (UUID text for carebridge's own records); a reference to another carebridge
  record is its id, and the mapping builds `Type/id`. Fields named `*_ref` hold a full relative
  reference ("Organization/x", "Practitioner/y") because their target type varies.
- dates are `datetime.date`, instants are timezone-aware `datetime.datetime`.
- `None` means absent. Ids and references are `None` when a partner's resource refers to
  something carebridge cannot name (an absolute URL, a contained resource, an identifier only):
  the reference itself is kept in `source`.
- `source` is the partner's resource JSON the record was imported from (None for records
  carebridge created). Exporting starts from it, so nothing carebridge does not model is lost;
  it is excluded from equality, so a record equals its re-import. Treat it as read-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _source() -> Any:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Identifier:
    system: str
    value: str


@dataclass(frozen=True)
class AddressData:
    """A postal address (FHIR Address: the US Core must-support parts line, city, state, postalCode)."""

    line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class CodeableConceptData:
    """One coding (any of system/code/display may be missing) plus free text."""

    system: str | None = None
    code: str | None = None
    display: str | None = None
    text: str | None = None


# A condition a case plan addresses: a reference "Condition/x", or a coded problem with no
# Condition resource behind it (sent as a contained Condition).
AddressedCondition = str | CodeableConceptData


@dataclass(frozen=True, kw_only=True)
class PatientData:
    id: str | None
    identifiers: tuple[Identifier, ...] = ()
    family: str | None = None
    given: tuple[str, ...] = ()
    birth_date: dt.date | None = None
    gender: str | None = None  # male | female | other | unknown
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class PractitionerData:
    id: str | None
    identifiers: tuple[Identifier, ...] = ()
    family: str | None = None
    given: tuple[str, ...] = ()
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class OrganizationData:
    id: str | None
    name: str | None
    # hospital | snf | home_health | inpatient_rehab | hospice | primary_care | community | payer;
    # None for a partner organisation whose type carebridge cannot tell.
    kind: str | None = None
    identifiers: tuple[Identifier, ...] = ()
    address: AddressData | None = None
    phone: str | None = None
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class PractitionerRoleData:
    """A person's role at their organisation (a carebridge user)."""

    id: str | None
    practitioner_id: str | None = None
    organization_id: str | None = None
    role_code: str | None = None  # carebridge's user-role code
    specialty: str | None = None  # a NUCC provider taxonomy code
    phone: str | None = None
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class LocationData:
    """A ward (physical type "wa") or a bed in it ("bd") at a hospital."""

    id: str | None
    name: str | None
    physical_type: str | None = None
    managing_org_id: str | None = None
    part_of_id: str | None = None
    address: AddressData | None = None
    phone: str | None = None
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class StayData:
    """An inpatient stay (Encounter)."""

    id: str | None
    patient_id: str | None
    status: str  # Encounter.status
    hospital_org_id: str | None = None
    admitted_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    # home | home_health | snf | inpatient_rehab | hospice | other
    discharge_disposition: str | None = None
    unit: str | None = None
    bed: str | None = None
    identifiers: tuple[Identifier, ...] = ()
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class CarePlanData:
    id: str | None
    patient_id: str | None
    status: str  # request-status
    intent: str  # care-plan-intent
    title: str | None = None
    description: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    author_ref: str | None = None
    addresses: tuple[AddressedCondition, ...] = ()
    goal_ids: tuple[str, ...] = ()
    care_team_ids: tuple[str, ...] = ()
    activity_refs: tuple[str, ...] = ()  # "ServiceRequest/x" | "Task/x"
    notes: tuple[str, ...] = ()
    stay_id: str | None = None
    created: dt.datetime | None = None
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class GoalData:
    id: str | None
    patient_id: str | None
    description: str
    lifecycle_status: str  # goal-status
    achievement_status: str | None = None  # goal-achievement code
    start_date: dt.date | None = None
    target_measure: str | None = None
    target_due_date: dt.date | None = None
    expressed_by_ref: str | None = None
    concern_ids: tuple[str, ...] = ()  # the health concerns (Condition) the goal addresses
    notes: tuple[str, ...] = ()
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class ReferralData:
    """What is needed (ServiceRequest); each recipient's answer is a HandoffData."""

    id: str | None
    patient_id: str | None
    service_code: str  # referral-service code
    status: str  # request-status
    intent: str  # request-intent
    priority: str = "routine"  # request-priority
    stay_id: str | None = None
    goal_id: str | None = None  # the goal the referral serves
    reason: str | None = None
    diagnoses: tuple[CodeableConceptData, ...] = ()  # the diagnoses behind it (coded, or text alone)
    concern_ids: tuple[str, ...] = ()  # the health concerns (Condition) the referral serves
    requester_ref: str | None = None
    performer_refs: tuple[str, ...] = ()  # the recipient organisations
    wanted_by: dt.date | None = None
    authored_on: dt.datetime | None = None
    notes: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    # The clinical documents sent with the referral (DocumentReference ids), its supportingInfo.
    document_ids: tuple[str, ...] = ()
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class DocumentData:
    """A clinical document attached to a referral (DocumentReference); its bytes are a Binary."""

    id: str | None
    patient_id: str | None
    status: str  # document-reference-status
    type_code: str  # a LOINC document code (codes.DOCUMENT_TYPE)
    content_type: str  # MIME type of the content
    content_url: str | None  # where the content is: the Binary's URL
    title: str | None = None
    size: int | None = None
    sha1: str | None = None  # base64 SHA-1 of the content (Attachment.hash)
    created: dt.datetime | None = None  # when it was attached (DocumentReference.date, Attachment.creation)
    author_ref: str | None = None
    referral_ids: tuple[str, ...] = ()  # context.related: the referrals it was sent with
    stay_id: str | None = None  # context.encounter
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class HandoffData:
    """One piece of work handed to someone (Task): a referral recipient's decision, a payer's
    authorisation, a follow-up call..."""

    id: str | None
    patient_id: str | None
    kind: str  # handoff-kind code
    status: str  # task-status
    owner_ref: str | None = None
    requester_ref: str | None = None
    referral_id: str | None = None
    stay_id: str | None = None
    business_status: CodeableConceptData | None = None
    status_reason: CodeableConceptData | None = None
    description: str | None = None
    due_at: dt.datetime | None = None
    execution_start: dt.datetime | None = None
    execution_end: dt.datetime | None = None
    authored_on: dt.datetime | None = None
    last_modified: dt.datetime | None = None
    notes: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    outcome: str | None = None  # what the recipient did, said when it completed (Task.output)
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True)
class CareTeamMember:
    member_ref: str  # "Practitioner/x", "Organization/y", ...
    role_code: str | None  # care-team-role code; None when a partner's role has no carebridge code


@dataclass(frozen=True, kw_only=True)
class CareTeamData:
    id: str | None
    patient_id: str | None
    name: str | None = None
    members: tuple[CareTeamMember, ...] = ()
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True, kw_only=True)
class ProvenanceData:
    """Who wrote what, sent with every resource carebridge writes to a partner."""

    id: str | None
    target_refs: tuple[str, ...]  # "Task/x/_history/3"
    recorded: dt.datetime
    author_ref: str  # the person (or device) who made the change
    on_behalf_of_ref: str | None = None  # their organisation
    activity: str = "UPDATE"  # v3-DataOperation: CREATE | UPDATE | DELETE
    source: Mapping[str, Any] | None = _source()


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str
    display: str | None = None


# A QuestionnaireResponse answer carebridge reads: a coded choice, an integer or a boolean.
AnswerValue = Coding | int | bool


@dataclass(frozen=True)
class ScreeningItem:
    link_id: str
    answers: tuple[AnswerValue, ...]
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScreeningData:
    """A completed screening (QuestionnaireResponse) against one instrument (Questionnaire)."""

    id: str | None
    questionnaire: str  # the instrument's canonical URL
    patient_id: str | None
    status: str  # questionnaire-answers-status
    authored: dt.datetime | None = None
    items: tuple[ScreeningItem, ...] = ()
    source: Mapping[str, Any] | None = _source()
