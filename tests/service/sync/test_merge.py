"""The pure three-way merge: element by element, lists item by item by identity."""

from __future__ import annotations

import pytest

from service.sync.merge import three_way, with_choices

BASE = {
    "resourceType": "CarePlan",
    "id": "p1",
    "meta": {"versionId": "1"},
    "status": "active",
    "title": "Home",
    "identifier": [{"system": "urn:cb", "value": "1"}],
}


def test_each_side_keeps_its_own_changes_and_server_elements_are_not_compared() -> None:
    ours = {**BASE, "title": "Home with PT", "meta": {"versionId": "9"}, "text": {"div": "ours"}}
    theirs = {**BASE, "description": "EHR text", "meta": {"versionId": "2"}}

    result = three_way(BASE, ours, theirs)

    assert result.conflicting == ()
    assert result.merged == {**BASE, "meta": {"versionId": "2"}, "title": "Home with PT", "description": "EHR text"}


def test_an_element_only_carebridge_removed_goes_and_one_only_the_partner_changed_stays() -> None:
    base = {**BASE, "description": "old"}
    ours = {k: v for k, v in base.items() if k != "description"}
    theirs = {**base, "status": "on-hold"}

    assert three_way(base, ours, theirs).merged == {**BASE, "status": "on-hold"}


def test_both_sides_changing_one_element_differently_conflicts_and_equal_changes_do_not() -> None:
    assert three_way(BASE, {**BASE, "title": "A"}, {**BASE, "title": "B"}).conflicting == ("title",)
    assert three_way(BASE, {**BASE, "title": "A"}, {**BASE, "title": "A"}).conflicting == ()


def test_a_value_carebridge_never_changed_cannot_conflict() -> None:
    base = {**BASE, "note": [{"text": "EHR 1"}]}
    theirs = {**base, "note": [{"text": "EHR 2"}]}

    assert three_way(base, base, theirs).merged["note"] == [{"text": "EHR 2"}]


def test_notes_merge_by_time_author_and_text() -> None:
    ehr = {"time": "2026-03-10T10:00:00Z", "authorString": "Dr. Lee", "text": "Family prefers home."}
    same_text_other_time = {**ehr, "time": "2026-03-11T10:00:00Z"}
    base = {**BASE, "note": [{"text": "kept"}]}
    ours = {**BASE, "note": [{"text": "kept"}, {"text": "carebridge note"}]}
    theirs = {**BASE, "note": [ehr, same_text_other_time]}  # "kept" removed by the EHR

    merged = three_way(base, ours, theirs).merged

    assert merged["note"] == [ehr, same_text_other_time, {"text": "carebridge note"}]


def test_activities_merge_by_reference_else_by_detail_code_and_description() -> None:
    ours_ref = {"reference": {"reference": "ServiceRequest/sr1"}}
    ehr_detail = {"detail": {"status": "scheduled", "description": "PT twice weekly"}}
    base = {**BASE, "activity": [{"detail": {"status": "not-started", "description": "PT twice weekly"}}]}
    ours = {**base, "activity": [*base["activity"], ours_ref]}
    theirs = {**base, "activity": [ehr_detail]}  # the same activity, its status moved on

    assert three_way(base, ours, theirs).merged["activity"] == [ehr_detail, ours_ref]


def test_an_item_both_sides_changed_differently_makes_the_element_conflict() -> None:
    base = {**BASE, "activity": [{"detail": {"status": "not-started", "description": "PT"}}]}
    ours = {**BASE, "activity": [{"detail": {"status": "cancelled", "description": "PT"}}]}
    theirs = {**BASE, "activity": [{"detail": {"status": "scheduled", "description": "PT"}}]}

    assert three_way(base, ours, theirs).conflicting == ("activity",)


def test_identifiers_merge_by_system_and_value() -> None:
    mrn = {"system": "urn:mrn", "value": "7", "use": "official"}
    ours = {**BASE, "identifier": [*BASE["identifier"], {"system": "urn:cb-extra", "value": "x"}]}
    theirs = {**BASE, "identifier": [{"system": "urn:cb", "value": "1", "use": "secondary"}, mrn]}

    merged = three_way(BASE, ours, theirs).merged

    assert merged["identifier"] == [
        {"system": "urn:cb", "value": "1", "use": "secondary"},
        mrn,
        {"system": "urn:cb-extra", "value": "x"},
    ]


def test_other_lists_merge_by_equal_content() -> None:
    base = {**BASE, "goal": [{"reference": "Goal/g1"}]}
    ours = {**BASE, "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2"}]}
    theirs = {**BASE, "goal": [{"reference": "Goal/g3"}]}  # g1 replaced by g3

    assert three_way(base, ours, theirs).merged["goal"] == [{"reference": "Goal/g3"}, {"reference": "Goal/g2"}]
    assert "goal" not in three_way(base, base, {**BASE}).merged


def test_chosen_values_settle_a_conflict_and_keep_the_rest_of_the_merge() -> None:
    ours = {**BASE, "title": "A", "status": "on-hold"}
    theirs = {**BASE, "title": "B", "description": "EHR"}
    result = three_way(BASE, ours, theirs)

    with pytest.raises(ValueError, match="title"):
        with_choices(result, {})
    assert with_choices(result, {"title": "C"}) == {**BASE, "title": "C", "status": "on-hold", "description": "EHR"}
    assert "title" not in with_choices(result, {"title": None})
