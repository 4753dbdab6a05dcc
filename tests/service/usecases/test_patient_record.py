"""A patient's case as one collection Bundle (service/usecases/patient_record.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.usecases import plans
from service.usecases.errors import NotFound
from service.usecases.patient_record import patient_case_bundle
from tests.factories import Case, build_case, send_snf_referral

BASE = "https://carebridge.example/fhir/R4"


def _plan_with_referral(session: Session, case: Case) -> None:
    plan = plans.create_case_plan(session, patient_id=case.patient.id, stay_id=case.stay.id, title="Rehab", actor="t")
    due = date(2026, 3, 13)
    plans.add_goal(session, plan.id, description="walk 50 ft with a walker", actor="t", target_due_date=due)
    send_snf_referral(session, case, case_plan_id=plan.id, reason="hip fracture")


def test_the_bundle_holds_the_patients_case_and_every_reference_resolves(session: Session, case: Case) -> None:
    _plan_with_referral(session, case)
    other = build_case(session, case.stay.admitted_at, mrn="MRN-OTHER")
    _plan_with_referral(session, other)

    bundle = patient_case_bundle(session, case.patient.id, fhir_base=BASE)

    resources = [entry["resource"] for entry in bundle["entry"]]
    assert bundle["type"] == "collection" and not has_errors(validate(bundle))
    assert Counter(r["resourceType"] for r in resources) == {
        "Patient": 1, "CarePlan": 1, "Goal": 1, "ServiceRequest": 1, "Task": 3,
    }  # fmt: skip
    assert {r["id"] for r in resources if r["resourceType"] == "Patient"} == {case.patient.id}
    subjects = {(r.get("subject") or r.get("for"))["reference"] for r in resources if r["resourceType"] != "Patient"}
    assert subjects == {f"Patient/{case.patient.id}"}
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    task_focus = {f"{BASE}/{r['focus']['reference']}" for r in resources if r["resourceType"] == "Task"}
    assert task_focus <= full_urls


def test_an_unknown_patient_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        patient_case_bundle(session, "no-such-patient", fhir_base=BASE)
