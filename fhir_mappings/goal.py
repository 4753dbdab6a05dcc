"""Goal <-> Goal, US Core Goal profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-goal.html).

`description` and `target_measure` are free text (CodeableConcept.text); the first `target`
holds the measure and the due date; `achievementStatus` uses HL7's goal-achievement codes;
`addresses` names the health concerns (Condition) the goal serves.
"""

from __future__ import annotations

from fhir.resources.R4B.goal import Goal

from . import fields as f
from .codec import Element, ResourceMap
from .codes import GOAL_ACHIEVEMENTS
from .datatypes import parse_concept_text, render_text_concept
from .domain import GoalData
from .profiles import US_CORE_GOAL, meta_claiming

GOAL: ResourceMap[GoalData, Goal] = ResourceMap(
    Goal,
    GoalData,
    (
        f.resource_id(),
        f.code("lifecycle_status", ("lifecycleStatus",)),
        f.coded("achievement_status", ("achievementStatus",), GOAL_ACHIEVEMENTS),
        Element("description", ("description",), parse_concept_text, render_text_concept, required=True),
        f.reference_to("patient_id", ("subject",), "Patient"),
        f.date("start_date", ("startDate",), other_choices=("startCodeableConcept",)),
        Element("target_measure", ("target", 0, "measure"), parse_concept_text, render_text_concept),
        f.date("target_due_date", ("target", 0, "dueDate"), other_choices=("dueDuration",)),
        f.any_reference("expressed_by_ref", ("expressedBy",)),
        # The health concern the goal serves (US Core Goal; Gravity SDOH: Goal.addresses a Condition).
        f.references_to("concern_ids", ("addresses",), "Condition"),
        f.notes(),
    ),
    {"resourceType": "Goal", "meta": meta_claiming(US_CORE_GOAL)},
)

to_fhir_goal_json = GOAL.to_json
to_fhir_goal = GOAL.to_model
from_fhir_goal = GOAL.from_fhir
