"""Search and read mechanics clients rely on: date precision and prefixes, token systems,
_summary=count, _count=0, POST _search, _sort, _elements, conditional read, 405 + Allow, one
_format rule, history (https://hl7.org/fhir/R4/search.html, https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.models import Handoff
from service.usecases import handoffs
from tests.service.fhir_api.support import World, bearer


@pytest.fixture
def token(world: World, mint: Any) -> str:
    issued: str = mint(world.a.hospital.id, "system/*.rs")
    return issued


def _get(client: Any, token: str, path: str, **params: Any) -> Any:
    return client.get(f"/fhir/R4/{path}", query_string=params, headers=bearer(token))


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.fixture
def stamped_task(world: World, session: Any) -> str:
    """Task A, last updated at 2026-12-01T21:24:05.34Z."""
    task = session.get(Handoff, world.ids_a["Task"])
    session.execute(
        Handoff.__table__.update()
        .where(Handoff.id == task.id)
        .values(updated_at=datetime(2026, 12, 1, 21, 24, 5, 340000, tzinfo=UTC))
    )
    session.commit()
    return str(task.id)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("eq2026-12-01T21:24:05Z", True),  # the value means the whole second
        ("2026-12-01T21:24:05Z", True),
        ("gt2026-12-01T21:24:05Z", False),
        ("lt2026-12-01T21:24:05Z", False),
        ("ge2026-12-01T21:24:05Z", True),
        ("le2026-12-01T21:24:05Z", True),
        ("ne2026-12-01T21:24:05Z", False),
        ("eq2026-12-01T21:24:05.3Z", True),
        ("eq2026-12-01T21:24:05.35Z", False),
        ("eq2026-12-01T21:24Z", True),
        ("eq2026-12", True),
        ("sa2026-12-01", False),
        ("sa2026-11-30", True),
        ("eb2026-12-02", True),
        ("eb2026-12-01", False),
        ("ap2026-12-01T21:24:05Z", True),
        ("gt2026-12-01T21:24:04Z", True),
        ("lt2026-12-01T21:24:06Z", True),
    ],
)
def test_last_updated_respects_the_values_precision(
    client: Any, world: World, token: str, stamped_task: str, value: str, found: bool
) -> None:
    bundle = _get(client, token, "Task", _id=stamped_task, _lastUpdated=value).get_json()
    assert _ids(bundle) == ([stamped_task] if found else [])


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("assess-plan", True),
        ("http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan", True),
        ("http://wrong.example/system|assess-plan", False),
        ("|assess-plan", False),  # the code has a system
    ],
)
def test_token_search_honours_the_system(client: Any, world: World, token: str, value: str, found: bool) -> None:
    bundle = _get(client, token, "CarePlan", category=value).get_json()
    assert _ids(bundle) == ([world.ids_a["CarePlan"]] if found else [])


def test_status_token_with_its_implicit_system(client: Any, world: World, token: str) -> None:
    patient = world.a.patient.id
    hit = _get(client, token, "Task", patient=patient, status="http://hl7.org/fhir/task-status|requested").get_json()
    assert hit["total"] == 2
    miss = _get(client, token, "Task", patient=patient, status="http://other.example|requested").get_json()
    assert miss["total"] == 0


@pytest.mark.parametrize("params", [{"_summary": "count"}, {"_count": "0"}])
def test_count_only(client: Any, world: World, token: str, params: dict[str, str]) -> None:
    bundle = _get(client, token, "Task", patient=world.a.patient.id, **params).get_json()
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    assert "entry" not in bundle


def test_post_search_takes_a_form_body(client: Any, world: World, token: str) -> None:
    response = client.post(
        "/fhir/R4/CarePlan/_search",
        data={"patient": world.a.patient.id, "category": "assess-plan"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    assert _ids(response.get_json()) == [world.ids_a["CarePlan"]]


def test_sort_and_paging_by_offset(client: Any, world: World, token: str, session: Any) -> None:
    first, second = (
        world.ids_a["Task"],
        next(h.id for h in session.get(Handoff, world.ids_a["Task"]).referral.handoffs if h.id != world.ids_a["Task"]),
    )
    for table_id, stamp in ((first, datetime(2026, 3, 1, tzinfo=UTC)), (second, datetime(2026, 3, 2, tzinfo=UTC))):
        session.execute(Handoff.__table__.update().where(Handoff.id == table_id).values(updated_at=stamp))
    session.commit()
    patient = world.a.patient.id
    newest = _get(client, token, "Task", patient=patient, _sort="-_lastUpdated", _count="1").get_json()
    assert _ids(newest) == [second]
    following = newest["link"][1]["url"]
    assert "_cursor=%2B1" in following
    page2 = client.get(following.replace("http://localhost", ""), headers=bearer(token)).get_json()
    assert _ids(page2) == [first]
    oldest = _get(client, token, "Task", patient=patient, _sort="_lastUpdated").get_json()
    assert _ids(oldest) == [first, second]


def test_elements_subsets_and_marks(client: Any, world: World, token: str) -> None:
    bundle = _get(client, token, "Task", _id=world.ids_a["Task"], _elements="status").get_json()
    task = bundle["entry"][0]["resource"]
    assert set(task) == {"resourceType", "id", "meta", "status"}
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"} in task["meta"][
        "tag"
    ]


def test_conditional_read(client: Any, world: World, token: str) -> None:
    path = f"/fhir/R4/Task/{world.ids_a['Task']}"
    first = client.get(path, headers=bearer(token))
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    same = client.get(path, headers={**bearer(token), "If-None-Match": etag})
    assert same.status_code == 304 and same.data == b"" and same.headers["ETag"] == etag
    assert client.get(path, headers={**bearer(token), "If-None-Match": 'W/"99"'}).status_code == 200
    assert client.get(path, headers={**bearer(token), "If-Modified-Since": modified}).status_code == 304
    earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert client.get(path, headers={**bearer(token), "If-Modified-Since": earlier}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "Task/{Task}", "GET, HEAD, PUT"),
        ("PUT", "CarePlan/{CarePlan}", "GET, HEAD"),
        ("POST", "Task", "GET, HEAD"),
    ],
)
def test_unsupported_interactions_are_405_with_allow(
    client: Any, world: World, token: str, method: str, path: str, allow: str
) -> None:
    response = client.open(f"/fhir/R4/{path.format(**world.ids_a)}", method=method, headers=bearer(token))
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.get_json()["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("path", "params", "headers"),
    [
        ("Task/{Task}", {"_format": "xml"}, {}),
        ("Task", {"_format": "application/fhir+xml"}, {}),
        ("Task/{Task}", {}, {"Accept": "application/fhir+xml"}),
        ("metadata", {"_format": "xml"}, {}),
    ],
)
def test_xml_is_406_everywhere(
    client: Any, world: World, token: str, path: str, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.get(
        f"/fhir/R4/{path.format(**world.ids_a)}", query_string=params, headers={**bearer(token), **headers}
    )
    assert response.status_code == 406
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_json_formats_are_served(client: Any, world: World, token: str) -> None:
    for fmt in ("json", "application/fhir+json", "application/json"):
        assert _get(client, token, f"Task/{world.ids_a['Task']}", _format=fmt).status_code == 200


def test_instance_history_lists_every_version_newest_first(client: Any, world: World, token: str, session: Any) -> None:
    task = world.ids_a["Task"]
    handoffs.transition_handoff(session, task, "received", actor="test")
    handoffs.transition_handoff(session, task, "accepted", actor="test")
    bundle = _get(client, token, f"Task/{task}/_history").get_json()
    assert bundle["type"] == "history" and bundle["total"] == 3
    versions = [(e["resource"]["meta"]["versionId"], e["resource"]["status"]) for e in bundle["entry"]]
    assert versions == [("3", "accepted"), ("2", "received"), ("1", "requested")]
    assert bundle["entry"][2]["request"] == {"method": "POST", "url": "Task"}
    assert bundle["entry"][0]["request"] == {"method": "PUT", "url": f"Task/{task}"}
    assert bundle["entry"][0]["response"]["etag"] == 'W/"3"'


def test_type_history_lists_recent_changes(client: Any, world: World, token: str) -> None:
    bundle = _get(client, token, "CarePlan/_history").get_json()
    assert bundle["type"] == "history"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [world.ids_a["CarePlan"]]
    assert _get(client, token, "CarePlan/_history", _since="2099-01-01T00:00:00Z").get_json()["total"] == 0


def test_type_history_lists_every_version_of_each_resource(client: Any, world: World, token: str, session: Any) -> None:
    task = world.ids_a["Task"]
    handoffs.transition_handoff(session, task, "received", actor="test")
    handoffs.transition_handoff(session, task, "accepted", actor="test")
    bundle = _get(client, token, "Task/_history").get_json()
    versions = [
        (e["resource"]["id"], e["resource"]["meta"]["versionId"], e["resource"]["status"]) for e in bundle["entry"]
    ]
    # Patient A's two Tasks: the changed one at versions 3, 2 and 1 (newest first), the other at 1.
    assert [v for v in versions if v[0] == task] == [
        (task, "3", "accepted"),
        (task, "2", "received"),
        (task, "1", "requested"),
    ]
    assert len(versions) == 4 and bundle["total"] == 4
    assert {world.ids_b["Task"]} & {v[0] for v in versions} == set()  # another tenant's, never listed
    assert versions[0] == (task, "3", "accepted")  # the most recent change first


def test_type_history_pages(client: Any, world: World, token: str, session: Any) -> None:
    task = world.ids_a["Task"]
    handoffs.transition_handoff(session, task, "received", actor="test")
    first = _get(client, token, "Task/_history", _count=2).get_json()
    assert len(first["entry"]) == 2 and "total" not in first
    (next_link,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert next_link.endswith("/fhir/R4/Task/_history?_count=2&_cursor=%2B2")
    second = client.get(next_link.removeprefix("http://localhost"), headers=bearer(token)).get_json()
    seen = [(e["resource"]["id"], e["resource"]["meta"]["versionId"]) for e in first["entry"] + second["entry"]]
    assert len(seen) == len(set(seen)) == 3
    assert _get(client, token, "Task/_history", status="requested").status_code == 400


def test_patient_identifier_token_forms(client: Any, world: World, token: str) -> None:
    patient = world.a.patient.id
    assert _ids(_get(client, token, "Patient", identifier="urn:example:mrn|MRN-A").get_json()) == [patient]
    assert _ids(_get(client, token, "Patient", identifier="MRN-A").get_json()) == [patient]
    assert _ids(_get(client, token, "Patient", identifier="urn:other|MRN-A").get_json()) == []
    assert _ids(_get(client, token, "Patient", identifier="|MRN-A").get_json()) == []  # it has a system


@pytest.mark.parametrize("resource_type", ["Task", "CarePlan", "Patient", "ServiceRequest", "Goal", "Encounter"])
def test_revinclude_provenance_of_every_type(client: Any, world: World, token: str, resource_type: str) -> None:
    ident = world.ids_a[resource_type]
    bundle = _get(client, token, resource_type, _id=ident, _revinclude="Provenance:target").get_json()
    provenances = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert provenances, f"the creation of {resource_type} A was audited"
    assert {p["resourceType"] for p in provenances} == {"Provenance"}
    assert all(p["target"] == [{"reference": f"{resource_type}/{ident}"}] for p in provenances)
    assert provenances[0]["activity"]["coding"][0]["code"] == "CREATE"


def test_revinclude_provenance_needs_its_scope(client: Any, world: World, mint: Any) -> None:
    token = mint(world.a.hospital.id, "system/Task.rs")
    bundle = _get(client, token, "Task", _id=world.ids_a["Task"], _revinclude="Provenance:target").get_json()
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Task"]  # left out, as SMART servers do
