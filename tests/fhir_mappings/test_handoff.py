"""Handoff <-> Task: the referral-recipient pattern, and partners' Tasks changed in place."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fhir_mappings import CodeableConceptData, HandoffData, from_fhir_task, to_fhir_task, to_fhir_task_json, validate
from fhir_mappings.profiles import HANDOFF_TASK
from tests.fhir_mappings.examples import load

UTC = dt.UTC


def test_snf_referral_decision_for_one_facility() -> None:
    handoff = HandoffData(
        id="h3",
        patient_id="mrs-a",
        kind="referral_decision",
        status="accepted",
        owner_ref="Organization/facility-3",
        requester_ref="Organization/hospital",
        referral_id="snf-referral",
        stay_id="stay-1",
        business_status=CodeableConceptData(text="bed offered"),
        due_at=dt.datetime(2024, 3, 6, 9, 0, tzinfo=UTC),
        authored_on=dt.datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
    )

    task = to_fhir_task_json(handoff)

    assert task["meta"] == {"profile": [HANDOFF_TASK]}
    assert task["intent"] == "order"
    assert task["focus"] == {"reference": "ServiceRequest/snf-referral"}
    assert task["for"] == {"reference": "Patient/mrs-a"}
    assert task["owner"] == {"reference": "Organization/facility-3"}
    assert task["encounter"] == {"reference": "Encounter/stay-1"}
    assert task["restriction"] == {"period": {"end": "2024-03-06T09:00:00+00:00"}}
    assert task["businessStatus"] == {"text": "bed offered"}
    assert task["code"]["coding"][0] == {
        "system": "https://carebridge.dev/fhir/CodeSystem/handoff-kind",
        "code": "referral_decision",
        "display": "Decide on a referral",
    }
    assert validate(task) == []
    assert to_fhir_task(handoff).status == "accepted"


def test_changing_a_partner_task_touches_only_the_changed_elements() -> None:
    source = load("task-example1.json")
    imported = from_fhir_task(source)

    declined = dataclasses.replace(
        imported, status="rejected", status_reason=CodeableConceptData(text="no bed"), business_status=None
    )
    exported = to_fhir_task_json(declined)

    changed = {k for k in source.keys() | exported.keys() if source.get(k) != exported.get(k)}
    assert changed == {"status", "statusReason", "businessStatus"}
    assert exported["statusReason"] == {"text": "no bed"}
    assert "businessStatus" not in exported
    assert exported["owner"]["display"] == "Clinical Laboratory @ Acme Hospital"  # untouched reference


def test_a_changed_reference_replaces_the_partners_reference() -> None:
    imported = from_fhir_task(load("task-example1.json"))

    exported = to_fhir_task_json(dataclasses.replace(imported, owner_ref="Organization/facility-2"))

    assert exported["owner"] == {"reference": "Organization/facility-2"}


def test_a_task_carebridge_cannot_code_reads_as_other_and_keeps_its_code() -> None:
    source = load("task-example3.json")  # code: {"text": "Refill Request"}, focus: a MedicationRequest

    imported = from_fhir_task(source)

    assert (imported.kind, imported.referral_id) == ("other", None)
    assert to_fhir_task_json(imported)["code"] == {"text": "Refill Request"}
    recoded = to_fhir_task_json(dataclasses.replace(imported, kind="medication_reconciliation"))
    assert recoded["code"]["coding"][0]["code"] == "medication_reconciliation"
    assert recoded["focus"] == {"reference": "MedicationRequest/medrx002"}  # kept: not a referral
