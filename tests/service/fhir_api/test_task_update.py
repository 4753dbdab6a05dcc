"""Partners update a Task's status / businessStatus with If-Match, through the handoff use cases."""

from __future__ import annotations

from typing import Any

import pytest

from service.models import Handoff, HandoffEvent
from tests.service.fhir_api.support import World, bearer


@pytest.fixture
def snf_token(world: World, mint: Any) -> str:
    token: str = mint(world.a.snfs[0].id, "system/Task.rus")
    return token


def _read(client: Any, token: str, task_id: str) -> tuple[dict[str, Any], str]:
    response = client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token))
    return response.get_json(), response.headers["ETag"]


def _put(client: Any, token: str, task: dict[str, Any], etag: str | None) -> Any:
    headers = {**bearer(token), "Content-Type": "application/fhir+json"}
    if etag is not None:
        headers["If-Match"] = etag
    return client.put(f"/fhir/R4/Task/{task['id']}", json=task, headers=headers)


def test_snf_accepts_with_business_status(client: Any, world: World, snf_token: str, session: Any) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["status"] = "accepted"
    task["businessStatus"] = {"text": "bed offered"}
    response = _put(client, snf_token, task, etag)
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == 'W/"2"'
    assert response.get_json()["status"] == "accepted"
    assert response.get_json()["businessStatus"]["text"] == "bed offered"
    row = session.get(Handoff, world.ids_a["Task"])
    session.refresh(row)
    assert row.status == "accepted" and row.business_status == "bed offered"
    # The same timeline as a REST API change: who did it is the FHIR client.
    event = session.query(HandoffEvent).filter_by(handoff_id=row.id, to_status="accepted").one()
    assert event.actor.startswith("client:")


def test_business_status_alone(client: Any, world: World, snf_token: str) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["businessStatus"] = {"coding": [{"code": "reviewing", "display": "Reviewing the referral"}]}
    response = _put(client, snf_token, task, etag)
    assert response.status_code == 200
    assert response.get_json()["status"] == "requested"
    assert response.get_json()["businessStatus"]["text"] == "Reviewing the referral"


def test_stale_or_missing_if_match_is_412(client: Any, world: World, snf_token: str) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["status"] = "received"
    assert _put(client, snf_token, task, etag).status_code == 200
    task["status"] = "accepted"
    stale = _put(client, snf_token, task, etag)
    assert stale.status_code == 412 and stale.get_json()["resourceType"] == "OperationOutcome"
    assert _put(client, snf_token, task, None).status_code == 412


@pytest.mark.parametrize(
    ("element", "value"),
    [("description", "something else"), ("owner", {"reference": "Organization/x"}), ("priority", "stat")],
)
def test_other_elements_are_422_naming_them(
    client: Any, world: World, snf_token: str, element: str, value: Any
) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task[element] = value
    task["status"] = "accepted"
    response = _put(client, snf_token, task, etag)
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["expression"] == [f"Task.{element}"]


def test_state_machine_and_party_rules_apply(client: Any, world: World, snf_token: str, mint: Any) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["status"] = "completed"  # requested -> completed is not a Task transition
    illegal = _put(client, snf_token, task, etag)
    assert illegal.status_code == 409
    assert illegal.get_json()["issue"][0]["code"] == "business-rule"
    # Only the owner (the SNF) may accept: the requesting hospital may not accept for it.
    hospital = mint(world.a.hospital.id, "system/Task.rus")
    task["status"] = "accepted"
    assert _put(client, hospital, task, etag).status_code == 409


def test_bad_bodies_are_400(client: Any, world: World, snf_token: str) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    headers = {**bearer(snf_token), "If-Match": etag, "Content-Type": "application/fhir+json"}
    url = f"/fhir/R4/Task/{task['id']}"
    assert client.put(url, data="{not json", headers=headers).status_code == 400
    assert client.put(url, json={**task, "resourceType": "CarePlan"}, headers=headers).status_code == 400
    assert client.put(url, json={**task, "id": "other"}, headers=headers).status_code == 400


def test_write_needs_scope_and_tenant(client: Any, world: World, mint: Any) -> None:
    read_only = mint(world.a.snfs[0].id, "system/Task.rs")
    task, etag = _read(client, read_only, world.ids_a["Task"])
    task["status"] = "accepted"
    assert _put(client, read_only, task, etag).status_code == 403
    # SNF 2 cannot even see SNF 1's Task.
    other = mint(world.a.snfs[1].id, "system/Task.rus")
    assert _put(client, other, task, etag).status_code == 404
    # The payer sees its member's Task but is no party to it.
    payer = mint(world.a.payer.id, "system/Task.rus")
    assert _put(client, payer, task, etag).status_code == 403


RESULTING_ACTIVITY = {
    "coding": [
        {
            "system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
            "code": "resulting-activity",
            "display": "Resulting Activity",
        }
    ]
}


def test_completing_with_an_output_closes_the_loop(client: Any, world: World, snf_token: str, mint: Any) -> None:
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["status"] = "accepted"
    assert _put(client, snf_token, task, etag).status_code == 200
    task, etag = _read(client, snf_token, world.ids_a["Task"])
    task["status"] = "completed"
    missing = _put(client, snf_token, task, etag)
    assert missing.status_code == 422 and missing.get_json()["issue"][0]["expression"] == ["Task.output"]

    outcome = {"type": RESULTING_ACTIVITY, "valueCodeableConcept": {"text": "Admitted for rehab"}}
    alone = {**task, "status": "accepted", "output": [outcome]}
    refused = _put(client, snf_token, alone, etag)
    assert refused.status_code == 422 and refused.get_json()["issue"][0]["expression"] == ["Task.output"]

    done = _put(client, snf_token, {**task, "output": [outcome]}, etag)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["output"] == [outcome]
    hospital = mint(world.a.hospital.id, "system/ServiceRequest.rs")
    request = client.get(f"/fhir/R4/ServiceRequest/{world.ids_a['ServiceRequest']}", headers=bearer(hospital))
    assert request.get_json()["status"] == "completed"
