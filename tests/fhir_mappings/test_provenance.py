"""Provenance of what carebridge writes."""

from __future__ import annotations

import datetime as dt

from fhir_mappings import HandoffData, provenance_for, to_fhir_provenance_json, to_fhir_task_json, validate


def test_provenance_targets_the_written_version() -> None:
    task = to_fhir_task_json(HandoffData(id="h3", patient_id="mrs-a", kind="transport", status="requested"))
    task["meta"]["versionId"] = "4"

    provenance = to_fhir_provenance_json(
        provenance_for(
            task,
            recorded=dt.datetime(2024, 3, 5, 9, 0, tzinfo=dt.UTC),
            author_ref="Practitioner/planner",
            on_behalf_of_ref="Organization/hospital",
        )
    )

    assert provenance["target"] == [{"reference": "Task/h3/_history/4"}]
    assert provenance["agent"][0]["who"] == {"reference": "Practitioner/planner"}
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    assert validate(provenance, profile="us-core") == []


def test_us_core_wants_the_organisation_of_a_practitioner_author() -> None:
    provenance = to_fhir_provenance_json(
        provenance_for(
            {"resourceType": "Task", "id": "h3"},
            recorded=dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
            author_ref="Practitioner/planner",
            activity="CREATE",
        )
    )

    assert [i.expression for i in validate(provenance)] == ["Provenance.agent[0].onBehalfOf"]
