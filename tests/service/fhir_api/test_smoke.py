"""First end-to-end pass: a partner gets a token and reads its Tasks."""

from __future__ import annotations

from typing import Any

from tests.factories import Case

from service.usecases import referrals


def test_snf_reads_its_task(client: Any, case: Case, session: Any, make_partner: Any, get_token: Any) -> None:
    referral = referrals.send_referral(
        session,
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        service="snf_placement",
        recipient_org_ids=[case.snfs[0].id, case.snfs[1].id],
        requester_org_id=case.hospital.id,
        actor="test",
    )
    partner = make_partner(case.snfs[0].id, "system/Task.rs system/ServiceRequest.rs")
    token = get_token(partner, "system/Task.rs system/ServiceRequest.rs")
    response = client.get("/fhir/R4/Task", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    bundle = response.get_json()
    assert bundle["total"] == 1
    assert referral
