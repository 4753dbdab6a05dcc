"""domain -> FHIR -> domain is the identity, through plain JSON and through fhir.resources models;
and what carebridge produces passes its own validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings import CareTeamMember, Identifier, validate
from fhir_mappings.care_plan import CARE_PLAN
from fhir_mappings.care_team import CARE_TEAM
from fhir_mappings.codec import ResourceMap
from fhir_mappings.goal import GOAL
from fhir_mappings.handoff import TASK
from fhir_mappings.organization import ORGANIZATION
from fhir_mappings.patient import PATIENT
from fhir_mappings.provenance import PROVENANCE
from fhir_mappings.referral import SERVICE_REQUEST
from fhir_mappings.stay import ENCOUNTER
from tests.fhir_mappings import strategies as s

CASES = [
    pytest.param(CARE_PLAN, s.care_plans, id="CarePlan"),
    pytest.param(GOAL, s.goals, id="Goal"),
    pytest.param(SERVICE_REQUEST, s.referrals, id="ServiceRequest"),
    pytest.param(TASK, s.handoffs, id="Task"),
    pytest.param(CARE_TEAM, s.care_teams, id="CareTeam"),
    pytest.param(ENCOUNTER, s.stays, id="Encounter"),
    pytest.param(PATIENT, s.patients, id="Patient"),
    pytest.param(ORGANIZATION, s.organizations, id="Organization"),
    pytest.param(PROVENANCE, s.provenances, id="Provenance"),
]


@pytest.mark.parametrize(("mapping", "records"), CASES)
@given(data=st.data())
def test_json_round_trip_is_identity(mapping: ResourceMap[Any, Any], records: Any, data: st.DataObject) -> None:
    record = data.draw(records)

    assert mapping.from_fhir(mapping.to_json(record)) == record


@pytest.mark.parametrize(("mapping", "records"), CASES)
@settings(max_examples=40, deadline=None)  # building models is slow (about 1 ms each)
@given(data=st.data())
def test_model_round_trip_is_identity(mapping: ResourceMap[Any, Any], records: Any, data: st.DataObject) -> None:
    record = data.draw(records)

    assert mapping.from_fhir(mapping.to_model(record)) == record


# What every record carebridge itself creates has (the service guarantees these fields).
COMPLETE: dict[str, Callable[[Any], dict[str, Any]]] = {
    "Task": lambda r: {
        "owner_ref": r.owner_ref or "Organization/o1",
        "requester_ref": r.requester_ref or "Organization/o2",
    },
    "Patient": lambda r: {
        "identifiers": r.identifiers or (Identifier("urn:oid:1.2.3", "1"),),
        "family": r.family or "Doe",
        "gender": r.gender or "unknown",
    },
    "CareTeam": lambda r: {
        "members": tuple(dataclasses.replace(m, role_code=m.role_code or "discharge_planner") for m in r.members)
        or (CareTeamMember("Practitioner/a", "nurse_case_manager"),)
    },
    "Organization": lambda r: {"name": r.name or "General Hospital"},
    "Provenance": lambda r: {"on_behalf_of_ref": r.on_behalf_of_ref or "Organization/o1"},
}


@pytest.mark.parametrize(("mapping", "records"), CASES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_produced_resources_are_valid(mapping: ResourceMap[Any, Any], records: Any, data: st.DataObject) -> None:
    record = data.draw(records)
    record = dataclasses.replace(record, **COMPLETE.get(mapping.resource_type, lambda r: {})(record))

    issues = validate(mapping.to_json(record), profile="carebridge")

    assert [str(i) for i in issues if i.is_error] == []
