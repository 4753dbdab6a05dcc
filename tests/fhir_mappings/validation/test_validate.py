"""validate(): mutated official examples are refused with the path of what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.task import Task

from fhir_mappings import validate
from fhir_mappings.profiles import HANDOFF_TASK, US_CORE_CAREPLAN
from tests.fhir_mappings.examples import load

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path ("restriction.period.end", "identifier.0.use")."""

    def mutate(resource: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = resource
        for step in parents:
            node = node[step]
        node[last] = value

    return mutate


def _delete(key: str) -> Mutation:
    return lambda resource: resource.pop(key) and None


def _claim(profile: str) -> Mutation:
    return lambda resource: resource.setdefault("meta", {}).__setitem__("profile", [profile])


MUTATIONS = [
    # wrong codes: fhir.resources accepts any string for a `code`
    ("task-example1.json", _set("status", "bogus"), "Task.status", "code-invalid"),
    ("task-example1.json", _set("priority", "whenever"), "Task.priority", "code-invalid"),
    ("careplan-example-f201-renal.json", _set("intent", "order-ish"), "CarePlan.intent", "code-invalid"),
    (
        "careplan-example-f201-renal.json",
        _set("contained.1.lifecycleStatus", "done"),
        "CarePlan.contained[1].lifecycleStatus",
        "code-invalid",
    ),
    (
        "careplan-example-f201-renal.json",
        _set("contained.1.achievementStatus.coding.0.code", "nearly"),
        "CarePlan.contained[1].achievementStatus.coding[0].code",
        "code-invalid",
    ),
    ("servicerequest-example-di.json", _set("intent", "wish"), "ServiceRequest.intent", "code-invalid"),
    ("encounter-example-f001-heart.json", _set("status", "done"), "Encounter.status", "code-invalid"),
    ("task-example1.json", _set("identifier.0.use", "primary"), "Task.identifier[0].use", "code-invalid"),
    # missing required elements
    ("task-example3.json", _delete("intent"), "Task.intent", "required"),
    ("servicerequest-example-di.json", _delete("subject"), "ServiceRequest.subject", "required"),
    ("encounter-example-f001-heart.json", _delete("class"), "Encounter.class", "required"),
    # wrong reference types
    ("task-example1.json", _set("requester", {"reference": "Observation/1"}), "Task.requester", "value"),
    ("careplan-example-f201-renal.json", _set("goal.0", {"reference": "Condition/x"}), "CarePlan.goal[0]", "value"),
    ("task-example1.json", _set("relevantHistory.0.reference", "#missing"), "Task.relevantHistory[0]", "value"),
    (
        "servicerequest-example-di.json",
        _set("requester.reference", "practitioner/x"),
        "ServiceRequest.requester",
        "value",
    ),
    # bad dates
    ("task-example1.json", _set("authoredOn", "2016-13-31T08:25:05+10:00"), "Task.authoredOn", "value"),
    ("careplan-example-f201-renal.json", _set("period.start", "11/03/2013"), "CarePlan.period.start", "value"),
    ("task-example1.json", _set("contained.0.recorded", "yesterday"), "Task.contained[0].recorded", "value"),
    # unknown elements
    ("task-example1.json", _set("assignee", {"reference": "Practitioner/x"}), "Task.assignee", "structure"),
    (
        "encounter-example-f001-heart.json",
        _set("hospitalization.dischargeDestination", {"text": "home"}),
        "Encounter.hospitalization.dischargeDestination",
        "structure",
    ),
    # wrong type
    ("task-example1.json", _set("note", "call back"), "Task.note", "structure"),
]


@pytest.mark.parametrize(("name", "mutate", "expression", "code"), MUTATIONS)
def test_mutated_example_is_refused_at_its_path(name: str, mutate: Mutation, expression: str, code: str) -> None:
    resource = load(name)
    mutate(resource)

    issues = validate(resource)

    assert [(i.severity, i.expression, i.code) for i in issues] == [("error", expression, code)]


def test_validate_accepts_json_text_and_models_and_never_raises() -> None:
    example = load("task-example1.json")

    assert validate(orjson.dumps(example)) == []
    assert validate(Task.model_validate(example)) == []
    assert [i.expression for i in validate(b"{not json")] == ["$"]
    assert [i.expression for i in validate("[1]")] == ["$"]
    assert [i.expression for i in validate({"resourceType": "Taskk"})] == ["resourceType"]
    assert [i.expression for i in validate({"status": "draft"})] == ["resourceType"]


def test_unknown_profile_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        validate(load("task-example1.json"), profile="uk-core")


def test_us_core_applies_when_claimed_or_asked_for() -> None:
    plan = load("careplan-example-f201-renal.json")  # plain R4: no assess-plan category

    assert validate(plan) == []
    assert [i.expression for i in validate(plan, profile="us-core")] == ["CarePlan.category"]
    assert [i.expression for i in validate(plan, profile=US_CORE_CAREPLAN)] == ["CarePlan.category"]
    _claim(US_CORE_CAREPLAN + "|6.1.0")(plan)
    assert [i.expression for i in validate(plan)] == ["CarePlan.category"]


def test_us_core_mandatory_elements() -> None:
    plan = load("careplan-example-f202-malignancy.json")
    plan["category"] = [
        {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "code": "assess-plan"}]}
    ]
    del plan["subject"], plan["text"]

    issues = validate(plan, profile="us-core")

    assert [(i.severity, i.expression) for i in issues] == [
        ("error", "CarePlan.subject"),  # R4 and US Core alike: reported once
        ("warning", "CarePlan.text"),  # must support, not mandatory
    ]


def test_us_core_subject_must_be_a_patient() -> None:
    request = load("servicerequest-example-di.json")
    request["subject"] = {"reference": "Group/g1"}  # R4 allows a Group

    assert validate(request) == []
    assert [str(i) for i in validate(request, profile="us-core")] == [
        "error ServiceRequest.subject: ServiceRequest.subject must reference Patient, not Group"
    ]


def test_handoff_profile_narrows_task_references() -> None:
    task = load("task-example3.json")  # focus: a MedicationRequest, requester: a Patient
    _claim(HANDOFF_TASK)(task)

    issues = validate(task)

    assert [(i.expression, i.code) for i in issues] == [
        ("Task.code", "required"),
        ("Task.focus", "value"),
        ("Task.requester", "value"),
    ]


def test_encounter_class_outside_the_value_set_is_a_warning() -> None:
    encounter = load("encounter-example-f001-heart.json")
    encounter["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "INPT"}

    assert [(i.severity, i.expression) for i in validate(encounter)] == [("warning", "Encounter.class")]


def test_bundle_entries_are_validated_with_their_paths() -> None:
    good, bad = load("task-example1.json"), load("task-example3.json")
    bad["status"] = "bogus"
    bad["authoredOn"] = "never"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": good}, {"resource": bad}]}

    issues = validate(bundle)

    assert sorted(i.expression for i in issues) == [
        "Bundle.entry[1].resource.authoredOn",
        "Bundle.entry[1].resource.status",
    ]


def test_bundle_type_binding() -> None:
    issues = validate({"resourceType": "Bundle", "type": "pile"})

    assert [i.expression for i in issues] == ["Bundle.type"]


@pytest.mark.parametrize(
    ("element", "value", "expression"),
    [
        ("statusReason", {}, "Task.statusReason"),
        ("statusReason", {"coding": [{}]}, "Task.statusReason.coding[0]"),
        ("note", [], "Task.note"),
        ("description", None, "Task.description"),
    ],
)
def test_empty_elements_break_ele_1(element: str, value: Any, expression: str) -> None:
    task = {"resourceType": "Task", "status": "rejected", "intent": "order", element: value}
    assert [(i.expression, i.code) for i in validate(task) if i.is_error] == [(expression, "invariant")]


def test_null_keeps_its_place_in_a_primitive_list_with_extensions() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"given": [None, "Bo"], "_given": [{"extension": [{"url": "https://e.org/x", "valueString": "y"}]}]}],
    }
    assert [str(i) for i in validate(patient) if i.is_error] == []
