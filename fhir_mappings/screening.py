"""Screening: QuestionnaireResponse <-> ScreeningData, and from answers to needs.

The instruments carebridge ships are FHIR Questionnaires in `fhir_mappings/instruments/` (each
cites where its wording and codes come from); `instrument(name)` reads one.

`screening_findings(screening, questionnaire)` follows the Gravity SDOH Clinical Care IG
(https://hl7.org/fhir/us/sdoh-clinicalcare/): each answered LOINC-coded question becomes an
Observation (SDOHCC Observation Screening Response / US Core Observation Screening Assessment:
categories survey, sdoh and the SDOH domain, `derivedFrom` the QuestionnaireResponse); a positive
screen becomes a suggested health concern (SDOHCC Condition / US Core Condition Problems and
Health Concerns: category health-concern, sdoh and the domain, verificationStatus unconfirmed
until a person confirms it, `evidence.detail` naming the Observations it rests on).

Concerns suggested: food insecurity (Hunger Vital Sign risk, 88124-3), housing instability and
homelessness (living situation), lack of access to transportation, intimate partner abuse (safety
total of 11 or more). Housing problems (96778-6) and utility shut-offs (96779-4) are recorded as
Observations only: the IG binds those domains' Conditions to VSAC value sets carebridge does not
hold, so it suggests no code it cannot cite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from .codec import MappingError, as_json, copy_json
from .codes import CONDITION_CATEGORY, LOINC, SNOMED
from .datatypes import parse_instant, parse_reference, render_instant
from .domain import AnswerValue, Coding, ScreeningData, ScreeningItem
from .profiles import (
    SDC_QUESTIONNAIRE_RESPONSE,
    US_CORE_CONDITION_HEALTH_CONCERN,
    US_CORE_OBSERVATION_SCREENING,
    meta_claiming,
)

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

INSTRUMENTS = ("ahc-hrsn-core", "hunger-vital-sign", "lace-index")

# SDOH domain (SDOHCC temporary codes) of each LOINC question the shipped instruments ask.
SDOH_DOMAINS: Mapping[str, tuple[str, str]] = {
    "71802-3": ("housing-instability", "Housing Instability"),
    "96778-6": ("inadequate-housing", "Inadequate Housing"),
    "88122-7": ("food-insecurity", "Food Insecurity"),
    "88123-5": ("food-insecurity", "Food Insecurity"),
    "88124-3": ("food-insecurity", "Food Insecurity"),
    "93030-5": ("transportation-insecurity", "Transportation Insecurity"),
    "96779-4": ("utility-insecurity", "Utility Insecurity"),
    "95618-5": ("intimate-partner-violence", "Intimate Partner Violence"),
    "95617-7": ("intimate-partner-violence", "Intimate Partner Violence"),
    "95616-9": ("intimate-partner-violence", "Intimate Partner Violence"),
    "95615-1": ("intimate-partner-violence", "Intimate Partner Violence"),
    "95614-4": ("intimate-partner-violence", "Intimate Partner Violence"),
}
UNSPECIFIED_DOMAIN = ("sdoh-category-unspecified", "SDOH Category Unspecified")

# Hunger Vital Sign: a household is at risk when either statement is "often" or "sometimes" true
# (Hager et al. 2010; LOINC 88124-3, as in the IG's SDOHCC-ObservationResponseHungerVitalSignQuestion3Example).
_FOOD_QUESTIONS = ("88122-7", "88123-5")
_FOOD_POSITIVE = frozenset({"LA28397-0", "LA6729-3"})
_FOOD_RISK = ("88124-3", "Food insecurity risk [HVS]")
_AT_RISK = Coding(LOINC, "LA19952-3", "At risk")
_NO_RISK = Coding(LOINC, "LA19983-8", "No risk")


# AHC HRSN interpersonal safety: Never 1 ... Frequently 5 for each of four questions; a total
# (LOINC 95614-4) of 11 or more is a positive screen (CMS, "A Guide to Using the Accountable Health
# Communities Health-Related Social Needs Screening Tool", CMS Innovation Center, 2021).
_SAFETY_QUESTIONS = ("95618-5", "95617-7", "95616-9", "95615-1")
_SAFETY_POINTS = {"LA6270-8": 1, "LA10066-1": 2, "LA10082-8": 3, "LA16644-9": 4, "LA6482-9": 5}
_SAFETY_TOTAL = ("95614-4", "Total score [HITS]")
_SAFETY_POSITIVE = 11


def _coded(*answers: str) -> Callable[[AnswerValue], bool]:
    return lambda value: isinstance(value, Coding) and value.code in answers


@dataclass(frozen=True)
class _Concern:
    """An answer to `question` for which `positive` holds suggests the SNOMED CT finding `finding`."""

    question: str
    positive: Callable[[AnswerValue], bool]
    finding: tuple[str, str]


# From answer to health concern (SNOMED CT findings of the IG's Condition value sets per domain).
_CONCERNS = (
    _Concern("88124-3", _coded("LA19952-3"), ("733423003", "Food insecurity")),
    _Concern("71802-3", _coded("LA31994-9"), ("1156191002", "Housing instability")),
    _Concern("71802-3", _coded("LA31995-6"), ("32911000", "Homeless")),
    _Concern("93030-5", _coded("LA33-6"), ("713458007", "Lack of access to transportation")),
    _Concern(
        _SAFETY_TOTAL[0],
        lambda total: not isinstance(total, bool) and isinstance(total, int) and total >= _SAFETY_POSITIVE,
        ("706893006", "Victim of intimate partner abuse"),
    ),
)


@dataclass(frozen=True)
class Findings:
    observations: tuple[dict[str, Any], ...]
    concerns: tuple[dict[str, Any], ...]  # suggested Conditions, unconfirmed


def instrument(name: str) -> dict[str, Any]:
    """A shipped instrument's Questionnaire JSON, by name (one of INSTRUMENTS)."""
    if name not in INSTRUMENTS:
        raise KeyError(name)
    text = resources.files(__package__).joinpath("instruments", f"{name}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- QuestionnaireResponse <-> ScreeningData ------------------------------------------------------


def _render_answer(value: AnswerValue) -> dict[str, Any]:
    if isinstance(value, bool):  # before int: bool is an int
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    coding = {"system": value.system, "code": value.code, "display": value.display}
    return {"valueCoding": {k: v for k, v in coding.items() if v is not None}}


def _parse_answer(raw: Mapping[str, Any]) -> AnswerValue:
    if "valueCoding" in raw:
        coding = raw["valueCoding"]
        if "code" not in coding:
            raise MappingError("QuestionnaireResponse answer valueCoding has no code")
        return Coding(coding.get("system"), coding["code"], coding.get("display"))
    for key in ("valueBoolean", "valueInteger"):
        if key in raw:
            value: AnswerValue = raw[key]
            return value
    raise MappingError(f"QuestionnaireResponse answer kinds other than coding, integer, boolean: {sorted(raw)}")


# ScreeningData field -> the QuestionnaireResponse element it is rendered to.
_ELEMENTS = {
    "id": "id",
    "questionnaire": "questionnaire",
    "status": "status",
    "patient_id": "subject",
    "authored": "authored",
    "items": "item",
}


def to_fhir_questionnaire_response_json(screening: ScreeningData) -> dict[str, Any]:
    """A partner's response (`source`) is exported as sent but for the elements whose domain value
    changed, as for every other mapping (see the package's notes)."""
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if screening.id is not None:
        response["id"] = screening.id
    response["meta"] = meta_claiming(SDC_QUESTIONNAIRE_RESPONSE)
    response["questionnaire"] = screening.questionnaire
    response["status"] = screening.status
    if screening.patient_id is not None:
        response["subject"] = {"reference": f"Patient/{screening.patient_id}"}
    if screening.authored is not None:
        response["authored"] = render_instant(screening.authored)
    items = []
    for item in screening.items:
        rendered: dict[str, Any] = {"linkId": item.link_id}
        if item.text is not None:
            rendered["text"] = item.text
        if item.answers:
            rendered["answer"] = [_render_answer(a) for a in item.answers]
        items.append(rendered)
    if items:
        response["item"] = items
    if screening.source is None:
        return response
    exported: dict[str, Any] = copy_json(screening.source)
    sent = from_fhir_questionnaire_response(screening.source)
    for field, element in _ELEMENTS.items():
        if getattr(sent, field) == getattr(screening, field):
            continue
        if element in response:
            exported[element] = response[element]
        else:
            exported.pop(element, None)
    return exported


def to_fhir_questionnaire_response(screening: ScreeningData) -> QuestionnaireResponse:
    return QuestionnaireResponse.model_validate(to_fhir_questionnaire_response_json(screening))


def from_fhir_questionnaire_response(resource: Mapping[str, Any] | QuestionnaireResponse) -> ScreeningData:
    """Top-level items only: the shipped instruments have no groups (nested items are kept in
    `source`)."""
    body = as_json(resource)
    subject = parse_reference(body.get("subject"))
    return ScreeningData(
        id=body.get("id"),
        questionnaire=body.get("questionnaire") or "",
        patient_id=subject.split("/", 1)[1] if subject and subject.startswith("Patient/") else None,
        status=body["status"],
        authored=parse_instant(body.get("authored")),
        items=tuple(
            ScreeningItem(
                link_id=item["linkId"],
                answers=tuple(_parse_answer(a) for a in item.get("answer") or ()),
                text=item.get("text"),
            )
            for item in body.get("item") or ()
        ),
        source=body,
    )


# --- From answers to needs ------------------------------------------------------------------------


def _question_codes(questionnaire: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """linkId -> the question's LOINC coding, for top-level coded questions."""
    found = {}
    for item in questionnaire.get("item") or ():
        loinc = [c for c in item.get("code") or () if c.get("system") == LOINC]
        if loinc:
            found[item["linkId"]] = {k: loinc[0][k] for k in ("system", "code", "display") if k in loinc[0]}
    return found


def _domain_coding(question_code: str) -> dict[str, str]:
    code, display = SDOH_DOMAINS.get(question_code, UNSPECIFIED_DOMAIN)
    return {"system": SDOHCC_CODES, "code": code, "display": display}


def _observation(
    screening: ScreeningData, obs_id: str, question: Mapping[str, Any], value: AnswerValue, derived_from: Sequence[str]
) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id,
        "meta": meta_claiming(US_CORE_OBSERVATION_SCREENING),
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]},
            {"coding": [{"system": US_CORE_CATEGORY, "code": "sdoh", "display": "SDOH"}]},
            {"coding": [_domain_coding(question["code"])]},
        ],
        "code": {"coding": [dict(question)]},
        "subject": {"reference": f"Patient/{screening.patient_id}"},
    }
    if screening.authored is not None:
        observation["effectiveDateTime"] = render_instant(screening.authored)
    rendered = _render_answer(value)
    if "valueCoding" in rendered:
        observation["valueCodeableConcept"] = {"coding": [rendered["valueCoding"]]}
    elif "valueInteger" in rendered:
        observation["valueInteger"] = rendered["valueInteger"]
    else:
        observation["valueBoolean"] = rendered["valueBoolean"]
    observation["derivedFrom"] = [{"reference": ref} for ref in derived_from]
    return observation


def _condition(
    screening: ScreeningData, cond_id: str, domain: Mapping[str, str], finding: tuple[str, str], evidence: Sequence[str]
) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cond_id,
        "meta": meta_claiming(US_CORE_CONDITION_HEALTH_CONCERN),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active", "display": "Active"}]},
        # A suggestion until a person confirms it (https://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-Condition.html)
        "verificationStatus": {
            "coding": [{"system": CONDITION_VERIFICATION, "code": "unconfirmed", "display": "Unconfirmed"}]
        },
        "category": [
            {"coding": [{"system": CONDITION_CATEGORY, "code": "health-concern", "display": "Health Concern"}]},
            {"coding": [{"system": US_CORE_CATEGORY, "code": "sdoh", "display": "SDOH"}]},
            {"coding": [dict(domain)]},
        ],
        "code": {"coding": [{"system": SNOMED, "code": finding[0], "display": finding[1]}], "text": finding[1]},
        "subject": {"reference": f"Patient/{screening.patient_id}"},
        "evidence": [{"detail": [{"reference": ref} for ref in evidence]}],
    }
    if screening.authored is not None:
        condition["onsetDateTime"] = render_instant(screening.authored)
        condition["recordedDate"] = render_instant(screening.authored)
    return condition


def screening_findings(screening: ScreeningData, questionnaire: Mapping[str, Any]) -> Findings:
    """The Observations a screening records and the health concerns it suggests.

    Ids are `<screening id>-o<n>` and `<screening id>-c<n>`, so findings re-derived from the same
    screening name the same resources. The screening needs an id and a patient.
    """
    if screening.id is None or screening.patient_id is None:
        raise MappingError("a screening needs an id and a patient to derive findings")
    response_ref = f"QuestionnaireResponse/{screening.id}"
    questions = _question_codes(questionnaire)
    observations: list[dict[str, Any]] = []
    answered: dict[str, list[tuple[str, AnswerValue]]] = {}  # question code -> (Observation ref, value)
    for item in screening.items:
        question = questions.get(item.link_id)
        if question is None:
            continue  # an uncoded question is kept in the QuestionnaireResponse only
        for value in item.answers:
            obs_id = f"{screening.id}-o{len(observations) + 1}"
            observations.append(_observation(screening, obs_id, question, value, (response_ref,)))
            answered.setdefault(question["code"], []).append((f"Observation/{obs_id}", value))

    def derived(code: tuple[str, str], value: AnswerValue, sources: Sequence[tuple[str, AnswerValue]]) -> None:
        """An Observation the instrument's scoring derives from answers (`derivedFrom` them)."""
        obs_id = f"{screening.id}-o{len(observations) + 1}"
        question = {"system": LOINC, "code": code[0], "display": code[1]}
        observations.append(_observation(screening, obs_id, question, value, [ref for ref, _ in sources]))
        answered[code[0]] = [(f"Observation/{obs_id}", value)]

    food = [answer for code in _FOOD_QUESTIONS for answer in answered.get(code, ())]
    if food:
        at_risk = any(isinstance(value, Coding) and value.code in _FOOD_POSITIVE for _, value in food)
        derived(_FOOD_RISK, _AT_RISK if at_risk else _NO_RISK, food)
    safety = [answer for code in _SAFETY_QUESTIONS for answer in answered.get(code, ())[:1]]
    points = [_SAFETY_POINTS.get(value.code) if isinstance(value, Coding) else None for _, value in safety]
    if len(safety) == len(_SAFETY_QUESTIONS) and None not in points:
        derived(_SAFETY_TOTAL, sum(p for p in points if p is not None), safety)
    concerns: list[dict[str, Any]] = []
    for rule in _CONCERNS:
        evidence = [ref for ref, value in answered.get(rule.question, ()) if rule.positive(value)]
        if evidence:
            cond_id = f"{screening.id}-c{len(concerns) + 1}"
            concerns.append(_condition(screening, cond_id, _domain_coding(rule.question), rule.finding, evidence))
    return Findings(tuple(observations), tuple(concerns))


# https://hl7.org/fhir/R4/codesystem-condition-ver-status.html
_VERIFICATION_DISPLAY = {"unconfirmed": "Unconfirmed", "confirmed": "Confirmed", "refuted": "Refuted"}


def concern_as_decided(condition: Mapping[str, Any], verification_status: str) -> dict[str, Any]:
    """A suggested Condition once a person has decided on it: only `verificationStatus` changes
    (confirmed, or refuted for a dismissed suggestion; SDOHCC Condition,
    https://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-Condition.html)."""
    if verification_status not in _VERIFICATION_DISPLAY:
        raise MappingError(f"verification status {verification_status!r} is not one of {sorted(_VERIFICATION_DISPLAY)}")
    decided = copy_json(condition)
    coding = {"system": CONDITION_VERIFICATION, "code": verification_status}
    decided["verificationStatus"] = {"coding": [{**coding, "display": _VERIFICATION_DISPLAY[verification_status]}]}
    return decided


def unknown_items(screening: ScreeningData, questionnaire: Mapping[str, Any]) -> tuple[str, ...]:
    """The linkIds the screening answers that the questionnaire does not ask (top level)."""
    asked = {item.get("linkId") for item in questionnaire.get("item") or ()}
    return tuple(item.link_id for item in screening.items if item.link_id not in asked)
