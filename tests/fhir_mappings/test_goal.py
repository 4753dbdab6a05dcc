"""Goal <-> Goal."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fhir_mappings import GoalData, from_fhir_goal, to_fhir_goal_json, validate

GOAL = GoalData(
    id="walk-50ft",
    patient_id="mrs-a",
    description="Walk 50 ft with a walker before discharge",
    lifecycle_status="active",
    achievement_status="in-progress",
    target_measure="Distance walked",
    target_due_date=dt.date(2024, 3, 8),
)


def test_us_core_goal() -> None:
    goal = to_fhir_goal_json(GOAL)

    assert goal["description"] == {"text": "Walk 50 ft with a walker before discharge"}
    assert goal["target"] == [{"measure": {"text": "Distance walked"}, "dueDate": "2024-03-08"}]
    assert goal["achievementStatus"]["coding"][0]["code"] == "in-progress"
    assert validate(goal, profile="us-core") == []


def test_a_due_date_replaces_a_partners_due_duration() -> None:
    source = to_fhir_goal_json(dataclasses.replace(GOAL, target_due_date=None))
    source["target"][0]["dueDuration"] = {"value": 5, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}

    exported = to_fhir_goal_json(dataclasses.replace(from_fhir_goal(source), target_due_date=dt.date(2024, 3, 9)))

    assert exported["target"] == [{"measure": {"text": "Distance walked"}, "dueDate": "2024-03-09"}]
