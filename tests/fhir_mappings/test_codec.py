"""The merge rules: what an export of an imported record keeps, changes and drops."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import validate
from fhir_mappings.codec import FirstItem, Items, delete_in, get_in, set_in
from fhir_mappings.datatypes import parse_note, render_note
from fhir_mappings.roundtrip import map_for
from tests.fhir_mappings import strategies as s
from tests.fhir_mappings.examples import example_params, load


def test_set_in_creates_objects_and_lists_on_the_way() -> None:
    resource: dict[str, Any] = {}

    set_in(resource, ("target", 0, "measure"), {"text": "distance"})
    set_in(resource, ("target", 0, "dueDate"), "2024-01-05")

    assert resource == {"target": [{"measure": {"text": "distance"}, "dueDate": "2024-01-05"}]}
    assert get_in(resource, ("target", 0, "dueDate")) == "2024-01-05"
    assert get_in(resource, ("target", 1, "dueDate")) is None


def test_delete_in_prunes_what_it_leaves_empty() -> None:
    resource: dict[str, Any] = {"resourceType": "Task", "restriction": {"repetitions": 1, "period": {"end": "x"}}}

    delete_in(resource, ("restriction", "period", "end"))
    assert resource == {"resourceType": "Task", "restriction": {"repetitions": 1}}

    delete_in(resource, ("restriction", "repetitions"))
    assert resource == {"resourceType": "Task"}


NOTES = Items("notes", ("note",), parse_note, render_note)


def test_items_reuse_partner_items_keep_foreign_ones_in_place_and_render_new_ones() -> None:
    signed = {"text": "call daughter", "authorString": "RN Lee", "time": "2024-01-01T10:00:00Z"}
    foreign = {"authorString": "no text: not one of carebridge's notes"}
    dropped = {"text": "old"}

    merged = NOTES.merge([dropped, foreign, signed], ["call daughter", "bed offered"])

    # Values keep their order in the places carebridge's items held; foreign items keep theirs.
    assert merged == [signed, foreign, {"text": "bed offered"}]


def test_items_merge_of_unchanged_values_is_the_existing_list() -> None:
    existing = [{"text": "a", "time": "2024-01-01"}, {"id": "x"}, {"text": "a"}, {"text": "b"}]

    assert NOTES.merge(existing, NOTES.read({"note": existing})) == existing


def test_first_item_replaces_adds_and_removes_only_its_item() -> None:
    first_named = FirstItem("reason", ("reasonCode",), lambda c: c.get("text"), lambda t: {"text": t})
    coded_only = {"coding": [{"code": "x"}]}
    resource: dict[str, Any] = {"reasonCode": [coded_only, {"text": "old", "coding": [{"code": "y"}]}]}

    first_named.write(resource, _record(reason="new"))
    assert resource["reasonCode"] == [coded_only, {"text": "new"}]

    first_named.write(resource, _record(reason=None))
    assert resource["reasonCode"] == [coded_only]


def _record(**values: Any) -> Any:
    return type("Record", (), values)()


# --- exports of imported official examples ------------------------------------------------------------
STRATEGIES = {
    "CarePlan": s.care_plans,
    "Goal": s.goals,
    "ServiceRequest": s.referrals,
    "Task": s.handoffs,
    "CareTeam": s.care_teams,
    "Encounter": s.stays,
}


@pytest.mark.parametrize("path", example_params())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_changes_stick_and_everything_else_is_kept(path: Path | None, data: st.DataObject) -> None:
    source = load(path)
    mapping = map_for(source["resourceType"])
    imported = mapping.from_fhir(source)
    fresh = data.draw(STRATEGIES[mapping.resource_type])
    changed = data.draw(st.sets(st.sampled_from([f.name for f in mapping.fields if f.name != "id"]), min_size=1))
    edited = dataclasses.replace(imported, **{name: getattr(fresh, name) for name in changed})

    exported = mapping.to_json(edited)

    assert mapping.from_fhir(exported) == edited
    owned = [(f.path[0], *getattr(f, "other_choices", ())) for f in mapping.fields if f.name in changed]
    touched = {key for keys in owned for key in keys} | {"text", "contained"}
    assert {k: v for k, v in exported.items() if k not in touched} == {
        k: v for k, v in source.items() if k not in touched
    }
    assert [str(i) for i in validate(exported) if i.is_error] == []
