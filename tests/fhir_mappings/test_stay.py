"""Inpatient stay <-> Encounter: disposition codes, ward and bed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from fhir_mappings import StayData, from_fhir_encounter, to_fhir_encounter_json, validate
from tests.fhir_mappings.examples import load

HL7 = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
STAY = StayData(
    id="stay-1",
    patient_id="mrs-a",
    status="finished",
    hospital_org_id="hospital",
    admitted_at=dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC),
    discharged_at=dt.datetime(2024, 3, 9, 11, 30, tzinfo=dt.UTC),
    discharge_disposition="snf",
    unit="4 West",
    bed="12B",
)


def test_inpatient_encounter() -> None:
    encounter = to_fhir_encounter_json(STAY)

    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2024-03-04T08:00:00+00:00", "end": "2024-03-09T11:30:00+00:00"}
    assert encounter["serviceProvider"] == {"reference": "Organization/hospital"}
    assert [
        (loc["location"]["display"], loc["physicalType"]["coding"][0]["code"]) for loc in encounter["location"]
    ] == [
        ("4 West", "wa"),
        ("12B", "bd"),
    ]
    assert validate(encounter, profile="us-core") == []


def test_ward_and_bed_refer_to_locations_of_their_hospital() -> None:
    ward, bed = (loc["location"]["reference"] for loc in to_fhir_encounter_json(STAY)["location"])
    assert ward.startswith("Location/") and bed.startswith("Location/") and ward != bed
    # The same place is the same Location for every stay; the same names at another hospital are not.
    again = to_fhir_encounter_json(dataclasses.replace(STAY, id="stay-2", patient_id="mr-b"))
    assert [loc["location"]["reference"] for loc in again["location"]] == [ward, bed]
    elsewhere = to_fhir_encounter_json(dataclasses.replace(STAY, hospital_org_id="other-hospital"))
    assert {loc["location"]["reference"] for loc in elsewhere["location"]} & {ward, bed} == set()
    # A bed is named within its unit: bed 12B of 5 East is another bed.
    other_unit = to_fhir_encounter_json(dataclasses.replace(STAY, unit="5 East"))
    assert other_unit["location"][1]["location"]["reference"] != bed


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("home", "home"),
        ("home_health", "home"),
        ("snf", "snf"),
        ("inpatient_rehab", "rehab"),
        ("hospice", "hosp"),
        ("other", "oth"),
    ],
)
def test_disposition_is_sent_with_hl7_code(ours: str, theirs: str) -> None:
    encounter = to_fhir_encounter_json(dataclasses.replace(STAY, discharge_disposition=ours))

    codings = encounter["hospitalization"]["dischargeDisposition"]["coding"]
    assert [(c["system"].rsplit("/", 2)[-2:], c["code"]) for c in codings] == [
        (["CodeSystem", "discharge-disposition"], ours),
        (["CodeSystem", "discharge-disposition"], theirs),
    ]
    assert codings[1]["system"] == HL7


@pytest.mark.parametrize(
    ("coding", "read_as"),
    [
        ({"system": HL7, "code": "home"}, "home"),  # home_health shares it; a partner means plain home
        ({"system": HL7, "code": "rehab"}, "inpatient_rehab"),
        ({"system": HL7, "code": "exp"}, "other"),
        ({"system": "http://snomed.info/sct", "code": "306689006"}, "home"),
        ({"system": "urn:local", "code": "x"}, "other"),
    ],
)
def test_partner_dispositions_read_through_the_table(coding: dict[str, str], read_as: str) -> None:
    source = load("encounter-example-f201-20130404.json")
    source["hospitalization"] = {"dischargeDisposition": {"coding": [coding]}}

    imported = from_fhir_encounter(source)

    assert imported.discharge_disposition == read_as
    assert to_fhir_encounter_json(imported) == source


def test_partner_ambulatory_encounter_keeps_its_class() -> None:
    source = load("encounter-example-f001-heart.json")

    exported = to_fhir_encounter_json(dataclasses.replace(from_fhir_encounter(source), unit="Cardiology"))

    assert exported["class"]["code"] == "AMB"
    (ward,) = exported["location"]
    assert ward["location"]["reference"].startswith("Location/")  # the ward carebridge serves
    ward["location"].pop("reference")
    assert exported["location"] == [
        {
            "location": {"display": "Cardiology"},
            "physicalType": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                        "code": "wa",
                        "display": "Ward",
                    }
                ]
            },
        }
    ]
