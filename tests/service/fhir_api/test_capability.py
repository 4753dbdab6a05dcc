"""The CapabilityStatement says what is served, and everything it says works: every search
parameter it lists finds what the hand-written example expects, one it does not list is refused
(or ignored under `Prefer: handling=lenient`), and its operations and interactions answer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.models import CasePlan, Goal, Referral, Stay
from tests.service.fhir_api.support import World, bearer

# (type, parameter) -> (value, the World key whose A resource it finds). The world: patient A
# "Agnes Anders", female, born 1944-02-01, MRN-A; stay admitted 2026-03-09 09:00Z with the EHR id
# urn:example:encounter|E-1; plan started 2026-03-09; goal "Home with support" due 2026-03-20;
# referral for snf_placement authored 2026-03-10 09:00Z; Task A business status "bed offered".
EXAMPLES: dict[tuple[str, str], tuple[str, str]] = {
    ("Patient", "_id"): ("{Patient}", "Patient"),
    ("Patient", "_lastUpdated"): ("ge2026-01-01", "Patient"),
    ("Patient", "identifier"): ("urn:example:mrn|MRN-A", "Patient"),
    ("Patient", "name"): ("agn", "Patient"),
    ("Patient", "family"): ("Anders", "Patient"),
    ("Patient", "given"): ("Agnes", "Patient"),
    ("Patient", "birthdate"): ("1944-02-01", "Patient"),
    ("Patient", "gender"): ("http://hl7.org/fhir/administrative-gender|female", "Patient"),
    ("Encounter", "_id"): ("{Encounter}", "Encounter"),
    ("Encounter", "_lastUpdated"): ("ge2026-01-01", "Encounter"),
    ("Encounter", "patient"): ("Patient/{Patient}", "Encounter"),
    ("Encounter", "subject"): ("{Patient}", "Encounter"),
    ("Encounter", "status"): ("in-progress", "Encounter"),
    ("Encounter", "date"): ("ge2026-03-09", "Encounter"),
    ("Encounter", "identifier"): ("urn:example:encounter|E-1", "Encounter"),
    ("Encounter", "class"): ("http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP", "Encounter"),
    ("Encounter", "type"): ("http://snomed.info/sct|32485007", "Encounter"),
    ("CarePlan", "_id"): ("{CarePlan}", "CarePlan"),
    ("CarePlan", "_lastUpdated"): ("ge2026-01-01", "CarePlan"),
    ("CarePlan", "patient"): ("{Patient}", "CarePlan"),
    ("CarePlan", "subject"): ("Patient/{Patient}", "CarePlan"),
    ("CarePlan", "status"): ("active", "CarePlan"),
    ("CarePlan", "category"): ("http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan", "CarePlan"),
    ("CarePlan", "date"): ("ge2026-03-09", "CarePlan"),
    ("Goal", "_id"): ("{Goal}", "Goal"),
    ("Goal", "_lastUpdated"): ("ge2026-01-01", "Goal"),
    ("Goal", "patient"): ("{Patient}", "Goal"),
    ("Goal", "subject"): ("{Patient}", "Goal"),
    ("Goal", "lifecycle-status"): ("active", "Goal"),
    ("Goal", "target-date"): ("le2026-03-31", "Goal"),
    ("Goal", "description:text"): ("home with", "Goal"),
    ("ServiceRequest", "_id"): ("{ServiceRequest}", "ServiceRequest"),
    ("ServiceRequest", "_lastUpdated"): ("ge2026-01-01", "ServiceRequest"),
    ("ServiceRequest", "patient"): ("{Patient}", "ServiceRequest"),
    ("ServiceRequest", "subject"): ("{Patient}", "ServiceRequest"),
    ("ServiceRequest", "status"): ("active", "ServiceRequest"),
    ("ServiceRequest", "category"): ("http://snomed.info/sct|3457005", "ServiceRequest"),
    ("ServiceRequest", "code"): ("snf_placement", "ServiceRequest"),
    ("ServiceRequest", "authored"): ("2026-03-10", "ServiceRequest"),
    ("ServiceRequest", "requester"): ("Organization/{hospital}", "ServiceRequest"),
    ("ServiceRequest", "performer"): ("Organization/{snf}", "ServiceRequest"),
    ("Task", "_id"): ("{Task}", "Task"),
    ("Task", "_lastUpdated"): ("ge2026-01-01", "Task"),
    ("Task", "patient"): ("{Patient}", "Task"),
    ("Task", "subject"): ("{Patient}", "Task"),
    ("Task", "status"): ("requested", "Task"),
    ("Task", "business-status"): ("bed offered", "Task"),
    ("Task", "owner"): ("Organization/{snf}", "Task"),
    ("Task", "requester"): ("Organization/{hospital}", "Task"),
    ("Task", "focus"): ("ServiceRequest/{ServiceRequest}", "Task"),
    ("CareTeam", "_id"): ("{CareTeam}", "CareTeam"),
    ("CareTeam", "_lastUpdated"): ("ge2026-01-01", "CareTeam"),
    ("CareTeam", "patient"): ("{Patient}", "CareTeam"),
    ("CareTeam", "subject"): ("{Patient}", "CareTeam"),
    ("CareTeam", "status"): ("active", "CareTeam"),
    ("DocumentReference", "_id"): ("{DocumentReference}", "DocumentReference"),
    ("DocumentReference", "_lastUpdated"): ("ge2026-01-01", "DocumentReference"),
    ("DocumentReference", "patient"): ("{Patient}", "DocumentReference"),
    ("DocumentReference", "subject"): ("{Patient}", "DocumentReference"),
    ("DocumentReference", "status"): ("current", "DocumentReference"),
    ("DocumentReference", "category"): (
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category|clinical-note",
        "DocumentReference",
    ),
    ("DocumentReference", "type"): ("http://loinc.org|34117-2", "DocumentReference"),
    ("DocumentReference", "date"): ("ge2026-01-01", "DocumentReference"),
    ("DocumentReference", "related"): ("ServiceRequest/{ServiceRequest}", "DocumentReference"),
    # The world's screening (tests/service/fhir_api/support.SCREENING): food insecurity and
    # transportation, answered 2026-03-10 08:30Z; its first Observation is 88122-7 and the
    # concern (Condition) is the confirmed food insecurity, 733423003.
    ("QuestionnaireResponse", "_id"): ("{QuestionnaireResponse}", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "_lastUpdated"): ("ge2026-01-01", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "patient"): ("{Patient}", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "subject"): ("Patient/{Patient}", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "status"): ("completed", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "authored"): ("2026-03-10", "QuestionnaireResponse"),
    ("QuestionnaireResponse", "questionnaire"): (
        "https://carebridge.dev/fhir/Questionnaire/ahc-hrsn-core",
        "QuestionnaireResponse",
    ),
    ("Observation", "_id"): ("{Observation}", "Observation"),
    ("Observation", "_lastUpdated"): ("ge2026-01-01", "Observation"),
    ("Observation", "patient"): ("{Patient}", "Observation"),
    ("Observation", "subject"): ("{Patient}", "Observation"),
    ("Observation", "category"): ("http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh", "Observation"),
    ("Observation", "code"): ("http://loinc.org|88122-7", "Observation"),
    ("Observation", "date"): ("ge2026-03-10T08:00:00Z", "Observation"),
    ("Observation", "status"): ("final", "Observation"),
    ("Condition", "_id"): ("{Condition}", "Condition"),
    ("Condition", "_lastUpdated"): ("ge2026-01-01", "Condition"),
    ("Condition", "patient"): ("{Patient}", "Condition"),
    ("Condition", "subject"): ("{Patient}", "Condition"),
    ("Condition", "category"): (
        "http://terminology.hl7.org/CodeSystem/condition-category|health-concern",
        "Condition",
    ),
    ("Condition", "clinical-status"): ("active", "Condition"),
    ("Condition", "verification-status"): ("confirmed", "Condition"),
    ("Condition", "code"): ("http://snomed.info/sct|733423003", "Condition"),
    ("Condition", "recorded-date"): ("2026-03-10", "Condition"),
}
# AuditEvent is searched by auditors; tests/service/fhir_api/test_audit.py covers its parameters.
# Organization, Practitioner, PractitionerRole, Location and StructureDefinition:
# tests/service/fhir_api/test_directory.py does; Basic (the topics): test_subscriptions_api.py;
# Questionnaire (the same instruments for every tenant): test_screenings.py.
NOT_HERE = {
    "AuditEvent",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "StructureDefinition",
    "Basic",
    "Questionnaire",
}


@pytest.fixture
def statement(client: Any) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/fhir/R4/metadata").get_json()
    return body


@pytest.fixture
def dressed(world: World, session: Any) -> World:
    """The world's patient A with the details the examples above search for."""
    ids = world.ids_a
    session.get(Stay, ids["Encounter"]).source_system = "urn:example:encounter"
    session.get(Stay, ids["Encounter"]).source_id = "E-1"
    session.get(CasePlan, ids["CarePlan"]).period_start = date(2026, 3, 9)
    session.get(Goal, ids["Goal"]).target_due_date = date(2026, 3, 20)
    session.get(Referral, ids["ServiceRequest"]).authored_on = datetime(2026, 3, 10, 9, tzinfo=UTC)
    for task in session.get(Referral, ids["ServiceRequest"]).handoffs:
        task.business_status = "bed offered" if task.id == ids["Task"] else None
    session.commit()
    return world


def _listed(statement: dict[str, Any]) -> list[tuple[str, str]]:
    listed = []
    for resource in statement["rest"][0]["resource"]:
        if resource["type"] in NOT_HERE:
            continue
        for param in resource.get("searchParam", []):
            # Goal.description is free text: the parameter matches it with :text (its documentation says so).
            name = "description:text" if (resource["type"], param["name"]) == ("Goal", "description") else param["name"]
            listed.append((resource["type"], name))
    return listed


def test_every_listed_search_parameter_has_an_example(statement: dict[str, Any]) -> None:
    assert sorted(_listed(statement)) == sorted(EXAMPLES)


@pytest.mark.parametrize(("resource_type", "param"), sorted(EXAMPLES))
def test_every_listed_search_parameter_works(
    client: Any, dressed: World, mint: Any, statement: dict[str, Any], resource_type: str, param: str
) -> None:
    assert (resource_type, param) in _listed(statement)
    token = mint(dressed.a.hospital.id, "system/*.rs")
    value, expected = EXAMPLES[(resource_type, param)]
    names = {**dressed.ids_a, "hospital": dressed.a.hospital.id, "snf": dressed.a.snfs[0].id}
    response = client.get(
        f"/fhir/R4/{resource_type}", query_string={param: value.format(**names)}, headers=bearer(token)
    )
    assert response.status_code == 200, response.get_json()
    found = [e["resource"]["id"] for e in response.get_json().get("entry", []) if e["search"]["mode"] == "match"]
    assert dressed.ids_a[expected] in found
    assert dressed.ids_b[expected] not in found  # another tenant's, never visible


def test_an_unlisted_parameter_is_refused_or_ignored_when_lenient(
    client: Any, world: World, mint: Any, statement: dict[str, Any]
) -> None:
    token = mint(world.a.hospital.id, "system/*.rs")
    assert ("Task", "code") not in _listed(statement)
    refused = client.get("/fhir/R4/Task", query_string={"code": "x"}, headers=bearer(token))
    assert refused.status_code == 400
    assert refused.get_json()["issue"][0]["code"] == "not-supported"
    lenient = client.get(
        "/fhir/R4/Task", query_string={"code": "x"}, headers={**bearer(token), "Prefer": "handling=lenient"}
    )
    assert lenient.status_code == 200 and lenient.get_json()["total"] == 2


def _by_type(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in statement["rest"][0]["resource"]}


def test_operations_at_each_level(statement: dict[str, Any]) -> None:
    system = {op["name"]: op["definition"] for op in statement["rest"][0]["operation"]}
    assert system == {
        "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
        "process-message": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
    }
    served = _by_type(statement)
    assert served["Patient"]["operation"] == [
        {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}
    ]
    assert served["Group"]["operation"] == [
        {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}
    ]
    backport = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition"
    assert served["Subscription"]["operation"] == [
        {"name": "events", "definition": f"{backport}/backport-subscription-events"},
        {"name": "status", "definition": f"{backport}/backport-subscription-status"},
    ]
    # US Core Fetch DocumentReference (https://hl7.org/fhir/us/core/STU6.1/OperationDefinition-docref.html).
    assert served["DocumentReference"]["operation"] == [
        {"name": "docref", "definition": "http://hl7.org/fhir/us/core/OperationDefinition/docref"}
    ]
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in statement["instantiates"]


def test_interactions_and_version_flags(statement: dict[str, Any]) -> None:
    served = _by_type(statement)
    task = served["Task"]
    assert [i["code"] for i in task["interaction"]] == [
        "read", "vread", "update", "history-instance", "history-type", "search-type"
    ]  # fmt: skip
    assert task["versioning"] == "versioned-update" and task["conditionalRead"] == "full-support"
    assert task["updateCreate"] is False and task["readHistory"] is True
    assert served["CarePlan"]["versioning"] == "versioned"
    assert [i["code"] for i in served["Subscription"]["interaction"]] == ["read", "delete", "create"]
    assert [i["code"] for i in served["Group"]["interaction"]] == ["read"]


def test_topics_are_discoverable(statement: dict[str, Any]) -> None:
    subscription = _by_type(statement)["Subscription"]
    assert subscription["extension"] == [
        {
            "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "capabilitystatement-subscriptiontopic-canonical",
            "valueCanonical": f"https://carebridge.dev/fhir/SubscriptionTopic/{name}",
        }
        for name in ("careplan-changed", "task-changed")
    ]


def test_us_core_is_claimed_only_when_its_shall_searches_are_served(statement: dict[str, Any]) -> None:
    served = _by_type(statement)
    for resource_type in ("Patient", "Encounter", "CarePlan", "CareTeam", "Goal", "ServiceRequest"):
        assert "Provenance:target" in served[resource_type]["searchRevInclude"]
    # US Core 6.1's SHALL searches of the directory types
    # (https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html).
    shall = {
        "Organization": {"name", "address"},
        "Practitioner": {"name", "identifier"},
        "PractitionerRole": {"specialty", "practitioner"},
        "Location": {"name", "address"},
    }
    for resource_type, names in shall.items():
        assert names <= {p["name"] for p in served[resource_type]["searchParam"]}, resource_type
    assert "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server" in statement["instantiates"]


def test_us_core_is_not_claimed_when_a_shall_search_goes(monkeypatch: Any, client: Any) -> None:
    from service.fhir_api import directory_params

    without = {k: v for k, v in directory_params.PARAMS["Organization"].items() if k != "address"}
    monkeypatch.setitem(directory_params.PARAMS, "Organization", without)
    statement = client.get("/fhir/R4/metadata").get_json()
    assert "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server" not in statement["instantiates"]
