"""Python FHIR clients from PyPI against a live carebridge: `fhirclient` (SMART's) and `fhirpy`
read, search, page, count, include and revinclude with a real token, and get what the
CapabilityStatement promises."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirsearch import FHIRSearch
from fhirclient.models.patient import Patient
from fhirclient.models.servicerequest import ServiceRequest
from fhirclient.models.task import Task
from fhirclient.server import FHIRServer
from fhirpy import SyncFHIRClient

from tests.conformance.conftest import Live


def _total(live: Live, resource_type: str, **params: str) -> int:
    """The count straight from the API, to compare the clients' answers with."""
    answer = requests.get(
        f"{live.base}/{resource_type}",
        params={**params, "_total": "accurate", "_count": "1"},
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=30,
    )
    total: int = answer.json()["total"]
    return total


class _Bearer:
    """fhirclient's auth interface (can_sign_headers / signed_headers) for a token we already hold."""

    def __init__(self, token: str) -> None:
        self.token = token

    def can_sign_headers(self) -> bool:
        return True

    def signed_headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self.token}"}


@pytest.fixture
def server(live: Live) -> FHIRServer:
    fhir = FHIRServer(None, base_uri=live.base + "/")
    fhir.auth = _Bearer(live.token)  # type: ignore[assignment]
    return fhir


@pytest.fixture
def fhirpy(live: Live) -> SyncFHIRClient:
    return SyncFHIRClient(live.base, authorization=f"Bearer {live.token}")


def test_fhirclient_reads_and_searches(live: Live, server: FHIRServer) -> None:
    patients = list(Patient.where(struct={"_count": "3"}).perform_resources_iter(server))
    assert patients and all(isinstance(p, Patient) for p in patients)
    first = Patient.read(patients[0].id, server)
    assert first.id == patients[0].id and first.name[0].family
    requested = list(Task.where(struct={"status": "requested"}).perform_resources_iter(server))
    assert len(requested) == _total(live, "Task", status="requested") > 0
    assert {t.status for t in requested} == {"requested"}


def test_fhirclient_pages_through_next_links(live: Live, server: FHIRServer) -> None:
    pages = list(Task.where(struct={"_count": "5"}).perform_iter(server))
    assert len(pages) > 1
    ids = [e.resource.id for page in pages for e in page.entry or []]
    assert len(ids) == len(set(ids)) == _total(live, "Task")


def test_fhirclient_counts(live: Live, server: FHIRServer) -> None:
    [bundle] = list(FHIRSearch(Task, struct={"_summary": "count"}).perform_iter(server))
    assert isinstance(bundle, Bundle) and bundle.entry is None
    assert bundle.total == _total(live, "Task")


def test_fhirclient_include_and_revinclude(server: FHIRServer) -> None:
    search = Task.where(struct={"_count": "10"}).include("focus")
    [first, *_] = list(search.perform_iter(server))
    included = {e.resource.id for e in first.entry if e.search.mode == "include"}
    matches = [e.resource for e in first.entry if e.search.mode == "match"]
    foci = {task.focus.reference.split("/")[-1] for task in matches if task.focus}
    assert included == foci and included
    back = ServiceRequest.where(struct={"_count": "5"}).include("focus", Task, reverse=True)
    [page, *_] = list(back.perform_iter(server))
    tasks = [e.resource for e in page.entry if e.search.mode == "include"]
    referrals = {e.resource.id for e in page.entry if e.search.mode == "match"}
    assert tasks and all(t.focus.reference.split("/")[-1] in referrals for t in tasks)


def test_fhirpy_reads_searches_and_counts(live: Live, fhirpy: SyncFHIRClient) -> None:
    patient = fhirpy.resources("Patient").first()
    assert patient is not None
    read = fhirpy.reference("Patient", patient.id).to_resource()
    assert read["id"] == patient.id and read["name"][0]["family"] == patient["name"][0]["family"]
    assert fhirpy.resources("Task").search(status="requested").count() == _total(live, "Task", status="requested")
    assert fhirpy.resources("Patient").search(name=patient["name"][0]["family"][:3]).count() >= 1


def test_fhirpy_pages_through_everything(live: Live, fhirpy: SyncFHIRClient) -> None:
    tasks = fhirpy.resources("Task").limit(7).fetch_all()
    assert len({t.id for t in tasks}) == len(tasks) == _total(live, "Task")


def test_fhirpy_include_and_revinclude(fhirpy: SyncFHIRClient) -> None:
    bundle: Any = fhirpy.resources("Task").include("Task", "focus").limit(10).fetch_raw()
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Task", "ServiceRequest"}
    back: Any = fhirpy.resources("ServiceRequest").revinclude("Task", "focus").limit(5).fetch_raw()
    assert {e["resource"]["resourceType"] for e in back["entry"] if e["search"]["mode"] == "include"} == {"Task"}
    provenance: Any = fhirpy.resources("Patient").revinclude("Provenance", "target").limit(3).fetch_raw()
    patients = {f"Patient/{e['resource']['id']}" for e in provenance["entry"] if e["search"]["mode"] == "match"}
    targets = [e["resource"]["target"][0]["reference"] for e in provenance["entry"] if e["search"]["mode"] == "include"]
    assert targets and set(targets) <= patients
    history = fhirpy.resources("Task").sort("-_lastUpdated").limit(3).fetch()
    stamps = [t["meta"]["lastUpdated"] for t in history]
    assert stamps == sorted(stamps, reverse=True)
