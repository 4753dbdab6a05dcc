"""Code tables: the value sets FHIR R4 binds, and carebridge's own code systems.

Each table carries the canonical URL it was copied from, so a reviewer can check it against the
spec, and validation can name it in its diagnostics. Only value sets that are small enumerations
are held here; grammar-defined systems (MIME types, BCP 47 languages) are not checked.

`CodeMap` ties a carebridge code to the codings other systems use for the same idea (SNOMED CT,
HL7 terminology), so partners that do not know carebridge's code systems can still read ours,
and so carebridge can read theirs back when the mapping is one-to-one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

CAREBRIDGE_CODE_SYSTEM = "https://carebridge.dev/fhir/CodeSystem/"
CAREBRIDGE_IDENTIFIER = "https://carebridge.dev/fhir/identifier/"
CAREBRIDGE_PROFILE = "https://carebridge.dev/fhir/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


@dataclass(frozen=True)
class ValueSet:
    """An enumerated value set: `codes` all come from `system` (None for `code`-typed elements,
    whose system is implied by the element)."""

    url: str
    codes: frozenset[str]
    system: str | None = None

    def __contains__(self, code: object) -> bool:
        return code in self.codes


def _value_set(url: str, codes: str, system: str | None = None) -> ValueSet:
    return ValueSet(url, frozenset(codes.split()), system)


@dataclass(frozen=True)
class CodeSystem:
    """A code system held completely: its codes with their displays."""

    url: str
    concepts: Mapping[str, str]

    def coding(self, code: str) -> dict[str, str]:
        return {"system": self.url, "code": code, "display": self.concepts[code]}


def _carebridge(name: str, concepts: Mapping[str, str]) -> CodeSystem:
    return CodeSystem(CAREBRIDGE_CODE_SYSTEM + name, concepts)


# --- Required bindings of FHIR R4 (https://hl7.org/fhir/R4/terminologies.html#required) -------------
REQUEST_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/request-status",
    "draft active on-hold revoked completed entered-in-error unknown",
)
REQUEST_INTENT = _value_set(
    "http://hl7.org/fhir/ValueSet/request-intent",
    "proposal plan directive order original-order reflex-order filler-order instance-order option",
)
REQUEST_PRIORITY = _value_set("http://hl7.org/fhir/ValueSet/request-priority", "routine urgent asap stat")
CARE_PLAN_INTENT = _value_set("http://hl7.org/fhir/ValueSet/care-plan-intent", "proposal plan order option")
CARE_PLAN_ACTIVITY_KIND = _value_set(
    "http://hl7.org/fhir/ValueSet/care-plan-activity-kind",
    "Appointment CommunicationRequest DeviceRequest MedicationRequest NutritionOrder Task ServiceRequest "
    "VisionPrescription",
)
CARE_PLAN_ACTIVITY_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/care-plan-activity-status",
    "not-started scheduled in-progress on-hold completed cancelled stopped unknown entered-in-error",
)
GOAL_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/goal-status",
    "proposed planned accepted active on-hold completed cancelled entered-in-error rejected",
)
TASK_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/task-status",
    "draft requested received accepted rejected ready cancelled in-progress on-hold failed completed entered-in-error",
)
TASK_INTENT = _value_set(
    "http://hl7.org/fhir/ValueSet/task-intent",
    "unknown proposal plan order original-order reflex-order filler-order instance-order option",
)
CARE_TEAM_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/care-team-status", "proposed active suspended inactive entered-in-error"
)
ENCOUNTER_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/encounter-status",
    "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown",
)
ENCOUNTER_LOCATION_STATUS = _value_set(
    "http://hl7.org/fhir/ValueSet/encounter-location-status", "planned active reserved completed"
)
# Encounter.class is bound *extensibly* in R4 (https://hl7.org/fhir/R4/encounter.html), so a code
# outside this set is a warning, not an error.
ACT_ENCOUNTER_CODE = _value_set(
    "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
    "AMB EMER FLD HH IMP ACUTE NONAC OBSENC PRENC SS VR",
    V3_ACT_CODE,
)
ADMINISTRATIVE_GENDER = _value_set("http://hl7.org/fhir/ValueSet/administrative-gender", "male female other unknown")
LINK_TYPE = _value_set("http://hl7.org/fhir/ValueSet/link-type", "replaced-by replaces refer seealso")
PROVENANCE_ENTITY_ROLE = _value_set(
    "http://hl7.org/fhir/ValueSet/provenance-entity-role", "derivation revision quotation source removal"
)
BUNDLE_TYPE = _value_set(
    "http://hl7.org/fhir/ValueSet/bundle-type",
    "document message transaction transaction-response batch batch-response history searchset collection",
)
SEARCH_ENTRY_MODE = _value_set("http://hl7.org/fhir/ValueSet/search-entry-mode", "match include outcome")
HTTP_VERB = _value_set("http://hl7.org/fhir/ValueSet/http-verb", "GET HEAD POST PUT DELETE PATCH")
NARRATIVE_STATUS = _value_set("http://hl7.org/fhir/ValueSet/narrative-status", "generated extensions additional empty")
IDENTIFIER_USE = _value_set("http://hl7.org/fhir/ValueSet/identifier-use", "usual official temp secondary old")
NAME_USE = _value_set("http://hl7.org/fhir/ValueSet/name-use", "usual official temp nickname anonymous old maiden")
CONTACT_POINT_SYSTEM = _value_set(
    "http://hl7.org/fhir/ValueSet/contact-point-system", "phone fax email pager url sms other"
)
CONTACT_POINT_USE = _value_set("http://hl7.org/fhir/ValueSet/contact-point-use", "home work temp old mobile")
ADDRESS_USE = _value_set("http://hl7.org/fhir/ValueSet/address-use", "home work temp old billing")
ADDRESS_TYPE = _value_set("http://hl7.org/fhir/ValueSet/address-type", "postal physical both")
QUANTITY_COMPARATOR = _value_set("http://hl7.org/fhir/ValueSet/quantity-comparator", "< <= >= >")
UNITS_OF_TIME = _value_set("http://hl7.org/fhir/ValueSet/units-of-time", "s min h d wk mo a")
DAYS_OF_WEEK = _value_set("http://hl7.org/fhir/ValueSet/days-of-week", "mon tue wed thu fri sat sun")

# --- HL7 code systems held in full: a coding claiming one of these must use one of its codes --------
GOAL_ACHIEVEMENT = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/goal-achievement",
    {
        "in-progress": "In Progress",
        "improving": "Improving",
        "worsening": "Worsening",
        "no-change": "No Change",
        "achieved": "Achieved",
        "sustaining": "Sustaining",
        "not-achieved": "Not Achieved",
        "no-progress": "No Progress",
        "not-attainable": "Not Attainable",
    },
)
DISCHARGE_DISPOSITION = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/discharge-disposition",
    {
        "home": "Home",
        "alt-home": "Alternative home",
        "other-hcf": "Other healthcare facility",
        "hosp": "Hospice",
        "long": "Long-term care",
        "aadvice": "Left against advice",
        "exp": "Expired",
        "psy": "Psychiatric hospital",
        "rehab": "Rehabilitation",
        "snf": "Skilled nursing facility",
        "oth": "Other",
    },
)
LOCATION_PHYSICAL_TYPE = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/location-physical-type",
    {
        "si": "Site",
        "bu": "Building",
        "wi": "Wing",
        "wa": "Ward",
        "lvl": "Level",
        "co": "Corridor",
        "ro": "Room",
        "bd": "Bed",
        "ve": "Vehicle",
        "ho": "House",
        "ca": "Cabinet",
        "rd": "Road",
        "area": "Area",
        "jdn": "Jurisdiction",
    },
)
ORGANIZATION_TYPE = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/organization-type",
    {
        "prov": "Healthcare Provider",
        "dept": "Hospital Department",
        "team": "Organizational team",
        "govt": "Government",
        "ins": "Insurance Company",
        "pay": "Payer",
        "edu": "Educational Institute",
        "reli": "Religious Institution",
        "crs": "Clinical Research Sponsor",
        "cg": "Community Group",
        "bus": "Non-Healthcare Business or Corporation",
        "other": "Other",
    },
)
# https://hl7.org/fhir/us/core/STU6.1/CodeSystem-careplan-category.html
US_CORE_CAREPLAN_CATEGORY = CodeSystem(
    "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", {"assess-plan": "Assessment and Plan of Treatment"}
)
# https://hl7.org/fhir/us/core/STU6.1/CodeSystem-us-core-documentreference-category.html
US_CORE_DOCUMENTREFERENCE_CATEGORY = CodeSystem(
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", {"clinical-note": "Clinical Note"}
)
# The documents a facility needs to decide on a referral, as LOINC document codes (US Core binds
# DocumentReference.type extensibly to the LOINC Document Ontology; these are in it: H&P and progress
# notes as in US Core's Clinical Notes guidance, the therapy progress notes of C-CDA's
# ProgressNoteDocumentTypeCode value set, the medication history of C-CDA's section codes).
DOCUMENT_TYPE = CodeSystem(
    LOINC,
    {
        "34117-2": "History and physical note",
        "11506-3": "Progress note",
        "11508-9": "Physical therapy Progress note",
        "11507-1": "Occupational therapy Progress note",
        "10160-0": "History of Medication use Narrative",
        "18842-5": "Discharge summary",
        "11488-4": "Consult note",
    },
)
PROVENANCE_PARTICIPANT_TYPE = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
    {
        "enterer": "Enterer",
        "performer": "Performer",
        "author": "Author",
        "verifier": "Verifier",
        "legal": "Legal Authenticator",
        "attester": "Attester",
        "informant": "Informant",
        "custodian": "Custodian",
        "assembler": "Assembler",
        "composer": "Composer",
    },
)
DATA_OPERATION = CodeSystem(
    "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
    {"CREATE": "create", "UPDATE": "revise", "DELETE": "remove"},
)

# --- carebridge code systems (canonical https://carebridge.dev/fhir/CodeSystem/<name>) ---------------
HANDOFF_KIND = _carebridge(
    "handoff-kind",
    {
        "referral_decision": "Decide on a referral",
        "payer_authorization": "Payer authorization",
        "transport": "Transport",
        "dme_delivery": "Durable medical equipment delivery",
        "home_health_start": "Home health start of care",
        "followup_call_48h": "Follow-up call within 48 hours",
        "pcp_visit_7d": "Primary care visit within 7 days",
        "medication_reconciliation": "Medication reconciliation",
        "facility_admission": "Facility admission after discharge",
        "post_discharge_check": "Post-discharge check with the facility",
        "other": "Other handoff",
    },
)
# "other" exists so that a partner's ServiceRequest for a service carebridge has no code for can be
# imported (ServiceRequest.code is mandatory in US Core) without inventing a wrong service.
REFERRAL_SERVICE = _carebridge(
    "referral-service",
    {
        "snf_placement": "Skilled nursing facility placement",
        "home_health": "Home health",
        "dme": "Durable medical equipment",
        "outpatient_followup": "Outpatient follow-up",
        "meals": "Meals",
        "transport": "Transport",
        "inpatient_rehab": "Inpatient rehabilitation",
        "hospice": "Hospice",
        "community_services": "Community services",
        "food_assistance": "Food assistance",
        "other": "Other service",
    },
)
CARE_TEAM_ROLE = _carebridge(
    "care-team-role",
    {
        "discharge_planner": "Discharge planner",
        "nurse_case_manager": "Nurse case manager",
        "social_worker": "Social worker",
        "attending_physician": "Attending physician",
        "payer_care_manager": "Payer care manager",
    },
)
# What a person does at their organisation in carebridge (service.models.parties.USER_ROLES):
# PractitionerRole.code.
USER_ROLE = _carebridge(
    "user-role",
    {
        "discharge_planner": "Discharge planner",
        "case_manager": "Case manager",
        "intake_coordinator": "Intake coordinator",
        "payer_care_manager": "Payer care manager",
        "auditor": "Privacy auditor",
        "administrator": "Administrator",
    },
)
# NUCC Health Care Provider Taxonomy, the code system of US Core's PractitionerRole.specialty
# (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-practitionerrole.html).
NUCC = CodeSystem("http://nucc.org/provider-taxonomy", {"171M00000X": "Case Manager/Care Coordinator"})
# The specialty of each role that coordinates care; auditors and administrators have none.
ROLE_SPECIALTIES = {
    role: "171M00000X" for role in ("discharge_planner", "case_manager", "intake_coordinator", "payer_care_manager")
}
ORGANIZATION_KIND = _carebridge(
    "organization-kind",
    {
        "hospital": "Hospital",
        "snf": "Skilled nursing facility",
        "home_health": "Home health agency",
        "inpatient_rehab": "Inpatient rehabilitation facility",
        "hospice": "Hospice",
        "primary_care": "Primary care",
        "community": "Community organization",
        "payer": "Payer",
    },
)
# carebridge's own disposition codes: HL7's discharge-disposition has no "home with home health",
# which is the distinction discharge planners need; the HL7 code is sent next to it.
CAREBRIDGE_DISCHARGE_DISPOSITION = _carebridge(
    "discharge-disposition",
    {
        "home": "Home",
        "home_health": "Home with home health services",
        "snf": "Skilled nursing facility",
        "inpatient_rehab": "Inpatient rehabilitation facility",
        "hospice": "Hospice",
        "other": "Other",
    },
)

# Systems whose codes validation knows completely: a coding with one of these systems and an
# unknown code is an error whatever the binding strength (https://hl7.org/fhir/R4/datatypes.html#Coding:
# "the code ... SHALL be a code defined in the system"). HL7 systems that later terminology
# releases extended (location-physical-type, organization-type...) are left out: a partner on a
# newer release would be refused for a valid code.
KNOWN_CODE_SYSTEMS: Mapping[str, CodeSystem] = {
    cs.url: cs
    for cs in (
        GOAL_ACHIEVEMENT,
        DISCHARGE_DISPOSITION,
        US_CORE_CAREPLAN_CATEGORY,
        HANDOFF_KIND,
        REFERRAL_SERVICE,
        CARE_TEAM_ROLE,
        ORGANIZATION_KIND,
        CAREBRIDGE_DISCHARGE_DISPOSITION,
    )
}


@dataclass(frozen=True)
class CodeMap:
    """A carebridge code system plus equivalent codings in other systems.

    `equivalents[code]` lists (system, code, display) triples sent next to carebridge's coding.
    Reading back, carebridge's own coding wins; otherwise a foreign coding is read through
    `readings`, or through `equivalents` when it stands for exactly one carebridge code.
    """

    system: CodeSystem
    equivalents: Mapping[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)
    readings: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def concept(self, code: str) -> dict[str, Any]:
        extra = [{"system": s, "code": c, "display": d} for s, c, d in self.equivalents.get(code, ())]
        return {"coding": [self.system.coding(code), *extra]}

    def code_of(self, concept: Mapping[str, Any]) -> str | None:
        codings = [c for c in concept.get("coding") or () if isinstance(c, Mapping)]
        for coding in codings:
            if coding.get("system") == self.system.url and coding.get("code") in self.system.concepts:
                return str(coding["code"])
        return next(
            (self._reverse[key] for c in codings if (key := (c.get("system"), c.get("code"))) in self._reverse),
            None,
        )

    @cached_property
    def _reverse(self) -> Mapping[tuple[Any, Any], str]:
        candidates: dict[tuple[Any, Any], set[str]] = {}
        for code, triples in self.equivalents.items():
            for system, other, _ in triples:
                candidates.setdefault((system, other), set()).add(code)
        unique = {key: codes.pop() for key, codes in candidates.items() if len(codes) == 1}
        return {**unique, **self.readings}


def _equivalents(
    system: str, table: Mapping[str, str], displays: Mapping[str, str] | None = None
) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """{carebridge code: other code} -> CodeMap.equivalents, displays taken from `displays`."""
    return {ours: ((system, theirs, (displays or {}).get(theirs, "")),) for ours, theirs in table.items()}


# SNOMED CT equivalents only where a concept with the same meaning exists; the rest is left to the
# carebridge coding rather than guessed. US Core binds ServiceRequest.code extensibly to US Core
# Procedure Codes (SNOMED CT procedures among them) and marks it must-support
# (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-servicerequest.html). Sources:
# 449411000124106 is in the US edition (as used by VSAC encounter value sets and Synthea's encounter
# codes); 425399007 is the concept Da Vinci's DME Orders examples code ServiceRequests with;
# 390906007 is the core follow-up encounter procedure.
REFERRAL_SERVICES = CodeMap(
    REFERRAL_SERVICE,
    {
        "snf_placement": ((SNOMED, "449411000124106", "Admission to skilled nursing facility (procedure)"),),
        "home_health": ((SNOMED, "417511005", "Referral to home health care service (procedure)"),),
        "dme": ((SNOMED, "425399007", "Durable medical equipment (physical object)"),),
        "outpatient_followup": ((SNOMED, "390906007", "Follow-up encounter (procedure)"),),
        "inpatient_rehab": ((SNOMED, "306206005", "Referral to rehabilitation service (procedure)"),),
        # The code of US Core's and Gravity SDOH's food-pantry referral examples
        # (https://hl7.org/fhir/us/core/STU6.1/ServiceRequest-foodpantry-referral.html).
        "food_assistance": (
            (SNOMED, "467771000124109", "Assistance with application for food pantry program (procedure)"),
        ),
    },
)
# US Core CareTeam.participant.role is must-support, bound extensibly to SNOMED CT occupations (Care
# Team Member Function, VSAC 2.16.840.1.113762.1.4.1099.30). Discharge planners, nurse case managers
# and payer care managers are all case managers: Da Vinci's NUCC -> SNOMED CT map pairs NUCC
# 171M00000X "Case Manager/Care Coordinator" with 768832004 "Case manager (occupation)"
# (HL7/davinci-ehrx ConceptMap-NUCC-CareTeamMemberFunction). Reading back, the carebridge coding
# decides; 768832004 alone stands for three carebridge roles and so reads as none.
_CASE_MANAGER = ((SNOMED, "768832004", "Case manager (occupation)"),)
CARE_TEAM_ROLES = CodeMap(
    CARE_TEAM_ROLE,
    {
        "discharge_planner": _CASE_MANAGER,
        "nurse_case_manager": _CASE_MANAGER,
        "payer_care_manager": _CASE_MANAGER,
        "social_worker": ((SNOMED, "106328005", "Social worker (occupation)"),),
        "attending_physician": ((SNOMED, "405279007", "Attending physician (occupation)"),),
    },
)
HANDOFF_KINDS = CodeMap(HANDOFF_KIND)
DOCUMENT_TYPES = CodeMap(DOCUMENT_TYPE)
GOAL_ACHIEVEMENTS = CodeMap(GOAL_ACHIEVEMENT)
ORGANIZATION_KINDS = CodeMap(
    ORGANIZATION_KIND,
    _equivalents(
        ORGANIZATION_TYPE.url,
        {
            "hospital": "prov",
            "snf": "prov",
            "home_health": "prov",
            "inpatient_rehab": "prov",
            "hospice": "prov",
            "primary_care": "prov",
            "community": "cg",
            "payer": "pay",
        },
        ORGANIZATION_TYPE.concepts,
    ),
)
# carebridge disposition -> HL7 discharge-disposition (https://hl7.org/fhir/R4/codesystem-discharge-disposition.html):
# home_health is "home" to HL7; inpatient_rehab is "rehab"; hospice is "hosp"; other is "oth".
DISCHARGE_DISPOSITIONS = CodeMap(
    CAREBRIDGE_DISCHARGE_DISPOSITION,
    _equivalents(
        DISCHARGE_DISPOSITION.url,
        {
            "home": "home",
            "home_health": "home",
            "snf": "snf",
            "inpatient_rehab": "rehab",
            "hospice": "hosp",
            "other": "oth",
        },
        DISCHARGE_DISPOSITION.concepts,
    ),
    # HL7 "home" stands for both home and home_health; without more, a partner means plain home.
    {
        (DISCHARGE_DISPOSITION.url, "home"): "home",
        (SNOMED, "306689006"): "home",  # Discharge to home (procedure)
    },
)
