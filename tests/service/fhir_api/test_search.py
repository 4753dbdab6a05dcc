"""Search: parameters, _lastUpdated prefixes, includes, keyset paging, and refusals as
OperationOutcome (https://hl7.org/fhir/R4/search.html)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.models import Handoff
from service.usecases import handoffs
from tests.service.fhir_api.support import World, bearer


@pytest.fixture
def hospital_token(world: World, mint: Any) -> str:
    token: str = mint(world.a.hospital.id, "system/*.rs")
    return token


def _search(client: Any, token: str, path: str, **params: Any) -> Any:
    return client.get(f"/fhir/R4/{path}", query_string=params, headers=bearer(token))


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def test_task_by_owner_and_status(client: Any, world: World, hospital_token: str, session: Any) -> None:
    snf = world.a.snfs[0].id
    found = _search(client, hospital_token, "Task", owner=f"Organization/{snf}", status="requested").get_json()
    assert _ids(found) == [world.ids_a["Task"]]
    assert found["total"] == 1 and found["type"] == "searchset"
    handoffs.transition_handoff(session, world.ids_a["Task"], "accepted", actor="test")
    assert _search(client, hospital_token, "Task", owner=snf, status="requested").get_json()["total"] == 0
    either = _search(client, hospital_token, "Task", owner=snf, status="requested,accepted").get_json()
    assert _ids(either) == [world.ids_a["Task"]]


def test_patient_and_subject_and_focus(client: Any, world: World, hospital_token: str) -> None:
    patient = world.a.patient.id
    by_patient = _search(client, hospital_token, "Task", patient=f"Patient/{patient}").get_json()
    by_subject = _search(client, hospital_token, "Task", subject=patient).get_json()
    by_focus = _search(client, hospital_token, "Task", focus=f"ServiceRequest/{world.ids_a['ServiceRequest']}")
    assert by_patient["total"] == by_subject["total"] == by_focus.get_json()["total"] == 2
    plans = _search(client, hospital_token, "CarePlan", patient=patient, category="assess-plan").get_json()
    assert _ids(plans) == [world.ids_a["CarePlan"]]
    referrals = _search(client, hospital_token, "ServiceRequest", requester=f"Organization/{world.a.hospital.id}")
    assert _ids(referrals.get_json()) == [world.ids_a["ServiceRequest"]]


def test_last_updated_prefixes(client: Any, world: World, hospital_token: str, session: Any) -> None:
    task = session.get(Handoff, world.ids_a["Task"])
    stamp = task.updated_at
    before, after = (stamp - timedelta(seconds=1)).isoformat(), (stamp + timedelta(seconds=1)).isoformat()
    patient = world.a.patient.id
    assert world.ids_a["Task"] in _ids(
        _search(client, hospital_token, "Task", patient=patient, _lastUpdated=f"gt{before}").get_json()
    )
    assert world.ids_a["Task"] in _ids(
        _search(client, hospital_token, "Task", patient=patient, _lastUpdated=f"le{after}").get_json()
    )
    assert _search(client, hospital_token, "Task", patient=patient, _lastUpdated=f"lt{before}").get_json()["total"] == 0
    day = stamp.date().isoformat()
    assert _search(client, hospital_token, "Task", patient=patient, _lastUpdated=day).get_json()["total"] == 2
    assert _search(client, hospital_token, "Task", patient=patient, _lastUpdated=f"ge{day}").get_json()["total"] == 2


def test_include_focus_and_revinclude_tasks(client: Any, world: World, hospital_token: str) -> None:
    tasks = _search(client, hospital_token, "Task", _id=world.ids_a["Task"], _include="Task:focus").get_json()
    assert _ids(tasks, "include") == [world.ids_a["ServiceRequest"]]
    referrals = _search(
        client, hospital_token, "ServiceRequest", _id=world.ids_a["ServiceRequest"], _revinclude="Task:focus"
    ).get_json()
    assert _ids(referrals) == [world.ids_a["ServiceRequest"]]
    assert len(_ids(referrals, "include")) == 2
    assert {e["resource"]["resourceType"] for e in referrals["entry"]} == {"ServiceRequest", "Task"}


def test_revinclude_respects_the_tenant(client: Any, world: World, mint: Any) -> None:
    # SNF 1 answers the referral; SNF 2's Task for the same referral must not come along.
    token = mint(world.a.snfs[0].id, "system/ServiceRequest.rs system/Task.rs")
    bundle = _search(client, token, "ServiceRequest", _revinclude="Task:focus").get_json()
    assert _ids(bundle) == [world.ids_a["ServiceRequest"]]
    assert _ids(bundle, "include") == [world.ids_a["Task"]]
    # Without a Task scope the includes are left out, not an error.
    narrow = mint(world.a.snfs[0].id, "system/ServiceRequest.rs")
    assert _ids(_search(client, narrow, "ServiceRequest", _revinclude="Task:focus").get_json(), "include") == []


def test_total_is_counted_only_when_free_or_asked_for(client: Any, world: World, hospital_token: str) -> None:
    patient = world.a.patient.id
    one_page = _search(client, hospital_token, "Task", patient=patient).get_json()
    assert one_page["total"] == len(_ids(one_page)) == 2  # the whole result is on the page: free
    first_of_two = _search(client, hospital_token, "Task", patient=patient, _count=1).get_json()
    assert "total" not in first_of_two and len(_ids(first_of_two)) == 1
    counted = _search(client, hospital_token, "Task", patient=patient, _count=1, _total="accurate").get_json()
    assert counted["total"] == 2
    assert "total" not in _search(client, hospital_token, "Task", patient=patient, _count=1, _total="none").get_json()
    refused = _search(client, hospital_token, "Task", _total="lots")
    assert refused.status_code == 400 and "_total must be one of" in refused.get_json()["issue"][0]["diagnostics"]


def test_keyset_paging_is_stable_while_rows_change(
    client: Any, world: World, hospital_token: str, session: Any
) -> None:
    for _ in range(5):
        handoffs.create_handoff(
            session,
            actor="test",
            patient_id=world.a.patient.id,
            kind="transport",
            owner_org_id=world.a.snfs[2].id,
            requester_org_id=world.a.hospital.id,
        )
    first = _search(client, hospital_token, "Task", patient=world.a.patient.id, _count=3, _total="accurate").get_json()
    assert first["total"] == 7 and len(_ids(first)) == 3
    seen = _ids(first)
    # A change to an already-seen row must not shift the next page.
    handoffs.set_business_status(session, seen[0], "bed offered", actor="test")
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while link:
        parts = urlsplit(link)
        assert parts.path == "/fhir/R4/Task"
        page = client.get(f"{parts.path}?{parts.query}", headers=bearer(hospital_token)).get_json()
        seen += _ids(page)
        link = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"colour": "blue"}, 400),
        ({"status:not": "ready"}, 400),
        ({"_lastUpdated": "sometime"}, 400),
        ({"_lastUpdated": "xx2026-01-01"}, 400),
        ({"_sort": "colour"}, 400),
        ({"_summary": "text"}, 400),
        ({"_count": "-1"}, 400),
        ({"_count": "many"}, 400),
        ({"_include": "Task:owner"}, 400),
        ({"focus": "Patient/x"}, 400),
        ({"_format": "xml"}, 406),
    ],
)
def test_bad_input_is_an_operation_outcome(
    client: Any, hospital_token: str, params: dict[str, str], status: int
) -> None:
    response = _search(client, hospital_token, "Task", **params)
    assert response.status_code == status
    assert response.mimetype == "application/fhir+json"
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"


def test_lenient_handling_ignores_unknown_parameters(client: Any, world: World, hospital_token: str) -> None:
    response = client.get(
        "/fhir/R4/Task",
        query_string={"colour": "blue", "patient": world.a.patient.id},
        headers={**bearer(hospital_token), "Prefer": "handling=lenient"},
    )
    assert response.status_code == 200
    bundle = response.get_json()
    assert bundle["total"] == 2
    assert "colour" not in bundle["link"][0]["url"]


def test_unknown_paths_are_operation_outcomes(client: Any, hospital_token: str) -> None:
    response = client.get("/fhir/R4/Immunization", headers=bearer(hospital_token))  # a type carebridge does not keep
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert client.delete("/fhir/R4/Task/x/y", headers=bearer(hospital_token)).status_code == 404
