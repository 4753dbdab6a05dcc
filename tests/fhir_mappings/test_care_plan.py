"""Case plan <-> CarePlan: coded conditions, the generated summary, partners' contained resources."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fhir_mappings import CarePlanData, CodeableConceptData, from_fhir_care_plan, to_fhir_care_plan_json, validate
from tests.fhir_mappings.examples import load

HIP_FRACTURE = CodeableConceptData("http://snomed.info/sct", "5913000", "Fracture of neck of femur")

PLAN = CarePlanData(
    id="plan-1",
    patient_id="mrs-a",
    status="active",
    intent="plan",
    title="Discharge to SNF",
    description="Walk 50 ft & transfer <safely>",
    period_start=dt.date(2024, 3, 4),
    period_end=dt.date(2024, 3, 8),
    addresses=("Condition/c1", HIP_FRACTURE),
    goal_ids=("walk-50ft",),
    care_team_ids=("team-1",),
    activity_refs=("ServiceRequest/snf-referral", "Task/h3"),
)


def test_us_core_care_plan_with_summary_and_coded_condition() -> None:
    plan = to_fhir_care_plan_json(PLAN)

    assert plan["category"][0]["coding"][0]["code"] == "assess-plan"
    assert plan["text"]["status"] == "generated"
    assert "Walk 50 ft &amp; transfer &lt;safely&gt;" in plan["text"]["div"]
    assert "2024-03-04 – 2024-03-08" in plan["text"]["div"]
    (condition,) = plan["contained"]
    assert plan["addresses"] == [{"reference": "Condition/c1"}, {"reference": "#" + condition["id"]}]
    assert condition["code"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "5913000", "display": "Fracture of neck of femur"}
    ]
    assert condition["subject"] == {"reference": "Patient/mrs-a"}
    assert plan["activity"] == [
        {"reference": {"reference": "ServiceRequest/snf-referral"}},
        {"reference": {"reference": "Task/h3"}},
    ]
    assert validate(plan, profile="us-core") == []


def test_the_contained_condition_id_is_stable_and_dropped_with_its_address() -> None:
    first, again = to_fhir_care_plan_json(PLAN), to_fhir_care_plan_json(PLAN)
    assert first == again

    imported = from_fhir_care_plan(first)
    exported = to_fhir_care_plan_json(dataclasses.replace(imported, addresses=("Condition/c1",)))

    assert "contained" not in exported
    assert exported["addresses"] == [{"reference": "Condition/c1"}]


def test_partner_summary_is_regenerated_only_when_generated_and_changed() -> None:
    source = load("careplan-example-f201-renal.json")
    imported = from_fhir_care_plan(source)

    assert to_fhir_care_plan_json(imported)["text"] == source["text"]
    completed = to_fhir_care_plan_json(dataclasses.replace(imported, status="completed"))
    assert "Status: completed" in completed["text"]["div"]

    source["text"]["status"] = "additional"  # written by a person: carebridge leaves it alone
    edited = dataclasses.replace(from_fhir_care_plan(source), status="completed")
    assert to_fhir_care_plan_json(edited)["text"] == source["text"]


def test_partner_contained_goal_and_team_survive_new_links() -> None:
    source = load("careplan-example-f201-renal.json")  # goal and careTeam are contained ("#goal")
    imported = from_fhir_care_plan(source)
    assert (imported.goal_ids, imported.care_team_ids) == ((), ())

    exported = to_fhir_care_plan_json(dataclasses.replace(imported, goal_ids=("walk-50ft",)))

    assert exported["goal"] == [{"reference": "#goal"}, {"reference": "Goal/walk-50ft"}]
    assert exported["contained"] == source["contained"]
    assert exported["activity"] == source["activity"]  # detail-only activities are not carebridge's
