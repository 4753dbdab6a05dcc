"""Care team <-> CareTeam."""

from __future__ import annotations

from fhir_mappings import CareTeamData, CareTeamMember, from_fhir_care_team, to_fhir_care_team_json, validate


def test_roles_carry_snomed_where_it_exists_and_read_back_from_it() -> None:
    team = CareTeamData(
        id="team-1",
        patient_id="mrs-a",
        members=(
            CareTeamMember("Practitioner/sw", "social_worker"),
            CareTeamMember("Practitioner/dp", "discharge_planner"),
        ),
    )
    resource = to_fhir_care_team_json(team)
    # Every carebridge role has a SNOMED CT occupation beside it (US Core must-support role).
    assert [[c["code"] for c in p["role"][0]["coding"]] for p in resource["participant"]] == [
        ["social_worker", "106328005"],
        ["discharge_planner", "768832004"],
    ]
    assert validate(resource, profile="us-core") == []

    partner = {
        "resourceType": "CareTeam",
        "subject": {"reference": "Patient/mrs-a"},
        "participant": [
            {
                "role": [{"coding": [{"system": "http://snomed.info/sct", "code": "106328005"}]}],
                "member": {"reference": "Practitioner/x"},
            },
            {"role": [{"text": "Chaplain"}], "member": {"reference": "Practitioner/y"}},
            {"role": [{"text": "Family"}], "member": {"display": "Daughter"}},  # no reference: stays as sent
        ],
    }
    assert from_fhir_care_team(partner).members == (
        CareTeamMember("Practitioner/x", "social_worker"),
        CareTeamMember("Practitioner/y", None),
    )


def test_a_case_manager_coding_alone_names_no_carebridge_role() -> None:
    # 768832004 stands for three carebridge roles: read alone, it picks none of them.
    partner = {
        "resourceType": "CareTeam",
        "subject": {"reference": "Patient/mrs-a"},
        "participant": [
            {
                "role": [{"coding": [{"system": "http://snomed.info/sct", "code": "768832004"}]}],
                "member": {"reference": "Practitioner/cm"},
            }
        ],
    }
    assert from_fhir_care_team(partner).members == (CareTeamMember("Practitioner/cm", None),)
