"""Case plan <-> CarePlan, US Core CarePlan profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-careplan.html).

Category `assess-plan` and the profile claim are fixed; the narrative is a summary generated from
title, status, description and period. `goal`, `careTeam` and `activity.reference` point at the
plan's Goals, CareTeams, ServiceRequests and Tasks.

`addresses` is Reference(Condition) in R4. A condition carebridge knows only as a code (no
Condition resource) is sent as a contained Condition holding that code, referenced as "#id";
its id is derived from the code so repeated exports produce the same resource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from html import escape
from typing import Any

import orjson
from fhir.resources.R4B.careplan import CarePlan

from . import fields as f
from .codec import Items, Json, ResourceMap, get_in
from .codes import US_CORE_CAREPLAN_CATEGORY
from .datatypes import parse_concept, parse_reference, render_concept, render_reference
from .domain import AddressedCondition, CarePlanData, CodeableConceptData
from .profiles import US_CORE_CAREPLAN, meta_claiming


def _condition_id(concept: CodeableConceptData) -> str:
    digest = hashlib.sha256(orjson.dumps(render_concept(concept), option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "condition-" + digest[:16]


class _Addresses:
    """CarePlan.addresses: "Condition/x" references, and coded conditions held as contained
    Conditions."""

    name = "addresses"
    path = ("addresses",)

    def read(self, resource: Mapping[str, Any]) -> tuple[AddressedCondition, ...]:
        return self._items(resource, []).read(resource)

    def write(self, resource: Json, data: Any) -> None:
        added: list[Json] = []
        self._items(resource, added, data.patient_id).write(resource, data)
        contained = resource.get("contained") or []
        present = {c.get("id") for c in contained}
        new = [c for c in added if c["id"] not in present]
        if new:
            resource["contained"] = contained + list({c["id"]: c for c in new}.values())

    def _items(self, resource: Mapping[str, Any], added: list[Json], patient_id: str | None = None) -> Items:
        conditions = {
            c.get("id"): c
            for c in resource.get("contained") or ()
            if isinstance(c, Mapping) and c.get("resourceType") == "Condition"
        }

        def parse(item: Any) -> AddressedCondition | None:
            target = item.get("reference") if isinstance(item, Mapping) else None
            if isinstance(target, str) and target.startswith("#"):
                return parse_concept(get_in(conditions, (target[1:], "code")))
            ref = parse_reference(item)
            return ref if ref is not None and ref.startswith("Condition/") else None

        def render(value: AddressedCondition) -> Json:
            if isinstance(value, str):
                return {"reference": value}
            condition: Json = {"resourceType": "Condition", "id": _condition_id(value), "code": render_concept(value)}
            if patient_id is not None:
                condition["subject"] = {"reference": f"Patient/{patient_id}"}
            added.append(condition)
            return {"reference": "#" + condition["id"]}

        return Items(self.name, self.path, parse, render)


def _activity_reference(item: Any) -> str | None:
    return parse_reference(item.get("reference")) if isinstance(item, Mapping) else None


def _activity(ref: str) -> Json:
    return {"reference": render_reference(ref)}


def summary(plan: CarePlanData) -> Json:
    """The human-readable narrative US Core asks for: what the plan is, its status, its dates."""
    parts = [f"<p><b>{escape(plan.title)}</b></p>"] if plan.title else []
    parts.append(f"<p>Status: {escape(plan.status)}, intent: {escape(plan.intent)}</p>")
    if plan.description:
        parts.append(f"<p>{escape(plan.description)}</p>")
    if plan.period_start or plan.period_end:
        start, end = (d.isoformat() if d else "…" for d in (plan.period_start, plan.period_end))
        parts.append(f"<p>Period: {start} – {end}</p>")
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{"".join(parts)}</div>'}


CARE_PLAN: ResourceMap[CarePlanData, CarePlan] = ResourceMap(
    CarePlan,
    CarePlanData,
    (
        f.resource_id(),
        f.code("status", ("status",)),
        f.code("intent", ("intent",)),
        f.text("title", ("title",)),
        f.text("description", ("description",)),
        f.reference_to("patient_id", ("subject",), "Patient"),
        f.reference_to("stay_id", ("encounter",), "Encounter"),
        f.date("period_start", ("period", "start")),
        f.date("period_end", ("period", "end")),
        f.instant("created", ("created",)),
        f.any_reference("author_ref", ("author",)),
        f.references_to("care_team_ids", ("careTeam",), "CareTeam"),
        _Addresses(),
        f.references_to("goal_ids", ("goal",), "Goal"),
        Items("activity_refs", ("activity",), _activity_reference, _activity),
        f.notes(),
    ),
    {
        "resourceType": "CarePlan",
        "meta": meta_claiming(US_CORE_CAREPLAN),
        "category": [{"coding": [US_CORE_CAREPLAN_CATEGORY.coding("assess-plan")]}],
    },
    narrative=summary,
)

to_fhir_care_plan_json = CARE_PLAN.to_json
to_fhir_care_plan = CARE_PLAN.to_model
from_fhir_care_plan = CARE_PLAN.from_fhir
