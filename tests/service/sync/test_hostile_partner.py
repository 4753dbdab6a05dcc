"""A pull against fake partner servers (threaded http.server on 127.0.0.1) that mix good resources
with every kind of bad one: each good resource is applied, each bad one is recorded once and
without PHI, broken pages stop only their own type, a next-link loop ends within the round's
budget while another partner still syncs, and an identifier collision waits for review."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.errors import AuthFailed
from connectors.keys import generate_signing_key
from service.models import Partner, PartnerLink, Patient, PatientMatch, Stay, SyncError
from service.sync import engine
from service.sync.connection import Connections
from service.sync.pull import Budget
from service.sync.status import partner_status
from service.usecases.partners import add_partner
from tests.factories import Case

MRN = "urn:example:mrn"  # the hospital's MRN system, as the case's patient has it (tests.factories)
BIG = "X" * (5 * 1024 * 1024)
STAMP = "2026-03-0{day}T10:00:0{n}Z"
# Values that must never appear in a stored error message or a log line.
PHI = ("Goodwin", "Gail", "Intruder", "Anders", "1999-01-01", "H-1", "MRN-1001", "ZZZ-", BIG[:64])


def _patient(remote_id: str, family: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient", "id": remote_id,
        "meta": {"versionId": "1", "lastUpdated": STAMP.format(day=1, n=n)},
        "name": [{"family": family, "given": ["Gail"]}], "gender": "female", **extra,
    }  # fmt: skip


def _nested(depth: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "urn:x", "valueString": "leaf"}
    for _ in range(depth):
        extension = {"url": "urn:x", "extension": [extension]}
    return extension


def _encounter(remote_id: str, subject: str, n: int, ward: str = "5 East") -> dict[str, Any]:
    return {
        "resourceType": "Encounter", "id": remote_id,
        "meta": {"versionId": "1", "lastUpdated": STAMP.format(day=2, n=n)},
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{subject}"}, "period": {"start": "2026-03-02T08:00:00Z"},
        "location": [{"location": {"display": ward}, "physicalType": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}}],
    }  # fmt: skip


def _bundle(resources: list[dict[str, Any]], next_url: str | None = None) -> bytes:
    entries = [{"resource": r} for r in resources]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return json.dumps(bundle).encode()  # json, not orjson: orjson refuses to write 200 levels deep


GOOD_1 = _patient("good-1", "Goodwin", 1, identifier=[{"system": MRN, "value": "H-1"}], birthDate="1980-05-05")
GOOD_2 = _patient("good-2", "Goodwin", 7, identifier=[{"system": MRN, "value": "H-2"}])
# Carries the existing patient's MRN, but another name and birth date.
INTRUDER = _patient(
    "intruder", "Intruder", 6, identifier=[{"system": MRN, "value": "MRN-1001"}], birthDate="1999-01-01"
)
HOSTILE_PAGES: dict[str, bytes] = {
    "/fhir/Patient": _bundle(
        [
            GOOD_1,
            _patient("big-name", BIG, 2),
            _patient("x" * 80, "Goodwin", 3),
            _patient("many-ids", "Goodwin", 4, identifier=[{"system": MRN, "value": f"ZZZ-{n}"} for n in range(70000)]),
            _patient("deep", "Goodwin", 5, extension=[_nested(200)]),
            INTRUDER,
        ],
        "/fhir/Patient/page/2",
    ),
    "/fhir/Patient/page/2": _bundle([GOOD_2], "/fhir/Patient/page/3"),
    "/fhir/Patient/page/3": b'{"resourceType": "Bundle", "type": "searchset", "entry": {"resource": {}}}',
    "/fhir/Encounter": _bundle(
        [_encounter("enc-good", "good-1", 1), _encounter("enc-big-ward", "good-1", 2, ward=BIG),
         _encounter("enc-dangling", "gone", 3)],
        "/fhir/Encounter/page/2",
    ),  # fmt: skip
    "/fhir/Encounter/page/2": b'{"resourceType": "Bundle", "entry": ["\xff\xfe not UTF-8"]}',
    "/fhir/Task": _bundle(
        [{"resourceType": "Task", "id": "task-big", "meta": {"versionId": "1", "lastUpdated": STAMP.format(day=3, n=1)},
          "status": "accepted", "intent": "order", "businessStatus": {"text": BIG}},
         {"resourceType": "Task", "id": "task-theirs", "status": "requested", "intent": "order",
          "meta": {"versionId": "1", "lastUpdated": STAMP.format(day=3, n=2)}}],
        "/fhir/Task/page/2",
    ),  # fmt: skip
    "/fhir/Task/page/2": b"<html>502 Bad Gateway</html>",
}


class FakePartner(ThreadingHTTPServer):
    """A FHIR server answering GETs from ``pages`` (by path), or from ``route(path)``, and a token endpoint."""

    def __init__(
        self, pages: dict[str, bytes] | None = None, route: Callable[[str], bytes] | None = None,
        token: tuple[int, bytes] = (200, b'{"access_token": "t", "token_type": "Bearer", "expires_in": 300}'),
    ) -> None:  # fmt: skip
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages, self.route, self.token = pages or {}, route, token
        self.requests: list[str] = []
        self.base = f"http://127.0.0.1:{self.server_address[1]}/fhir"


class _Handler(BaseHTTPRequestHandler):
    server: FakePartner

    def do_POST(self) -> None:  # the token endpoint
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(*self.server.token, "application/json")

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        path = urlsplit(self.path).path
        body = self.server.route(path) if self.server.route else self.server.pages.get(path)
        if body is None:
            self._send(404, b'{"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]}')
        else:
            self._send(200, body)

    def _send(self, status: int, body: bytes, content_type: str = "application/fhir+json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., FakePartner]]:
    servers: list[FakePartner] = []

    def start(**kwargs: Any) -> FakePartner:
        server = FakePartner(**kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def connections() -> Iterator[Connections]:
    key = generate_signing_key("RS384")
    with Connections(lambda kid: key) as conns:
        yield conns


def _partner(session: Session, case: Case, server: FakePartner, name: str, types: list[str]) -> Partner:
    return add_partner(
        session, name=name, kind="ehr", organization_id=case.hospital.id, fhir_base=server.base, client_id="cb",
        token_endpoint=f"{server.base}/token", key_kid="k", scopes="system/*.rs", pull_types=types, push_types=[],
        trusted_identifier_systems=[MRN],
    )  # fmt: skip


def _errors(session: Session, partner: Partner) -> dict[tuple[str, str], SyncError]:
    # populate_existing: the pull wrote through sessions of its own; this one may hold older copies.
    query = select(SyncError).where(SyncError.partner_id == partner.id).execution_options(populate_existing=True)
    rows = session.scalars(query)
    return {(row.resource_type, row.remote_id): row for row in rows}


def test_a_hostile_partner_costs_only_its_bad_resources(
    session: Session, case: Case, serve: Callable[..., FakePartner], connections: Connections,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    existing = case.patient  # Agnes Anders, born 1944, MRN-1001
    hostile = _partner(session, case, serve(pages=HOSTILE_PAGES), "hostile", ["Patient", "Encounter", "Task"])
    caplog.set_level(logging.INFO)

    report = engine.pull(session, hostile, connections)

    # Good: two Patients, the Encounter for one of them; the partner's own Task is not carebridge's.
    assert report.counts["Patient"] == {"created": 2, "error": 4, "review": 1}
    assert report.counts["Encounter"] == {"created": 1, "error": 2}
    assert report.counts["Task"] == {"ignored": 1, "error": 1}
    assert report.broken == ["Patient", "Encounter", "Task"]
    links = {link.remote_id: link.entity_id for link in session.scalars(select(PartnerLink))}
    assert set(links) == {"good-1", "good-2", "enc-good"}
    assert session.get_one(Patient, links["good-1"]).birth_date == date(1980, 5, 5)
    assert session.get_one(Stay, links["enc-good"]).unit == "5 East"
    errors = _errors(session, hostile)
    assert set(errors) == {
        ("Patient", "big-name"), ("Patient", "x" * 64), ("Patient", "many-ids"), ("Patient", "deep"),
        ("Encounter", "enc-big-ward"), ("Encounter", "enc-dangling"), ("Task", "task-big"),
        ("Patient", ""), ("Encounter", ""), ("Task", ""),
    }  # fmt: skip
    assert "GET /fhir/Patient/gone -> 404" in errors[("Encounter", "enc-dangling")].message
    assert errors[("Patient", "many-ids")].message == "Patient.identifier: more than 1000 items (70000)"
    assert "JSON nested deeper than 64 levels" in errors[("Patient", "deep")].message
    assert errors[("Patient", "big-name")].message == "Patient.name[0].family: longer than 1048576 characters (5242880)"
    assert "not UTF-8 JSON" in errors[("Encounter", "")].message
    assert "retried next round" in errors[("Encounter", "")].message
    assert "Bundle.entry is not a list" in errors[("Patient", "")].message
    stored = " ".join(row.message for row in errors.values()) + caplog.text
    assert not [value for value in PHI if value in stored]

    # The collision waits for a person; the existing patient is untouched.
    held = session.scalars(select(PatientMatch)).one()
    assert (held.remote_id, held.patient_id, held.state) == ("intruder", existing.id, "open")
    assert held.reason == "family name and given name and birth date differ"
    session.refresh(existing)
    assert (existing.family_name, existing.given_name, existing.birth_date) == ("Anders", "Agnes", date(1944, 2, 1))
    assert [s.patient_id for s in session.scalars(select(Stay))] == [existing.id, links["good-1"]]

    again = engine.pull(session, hostile, connections)

    # Re-pulled from the watermarks: the same failures count up, never duplicate.
    assert set(_errors(session, hostile)) == set(errors)
    assert _errors(session, hostile)[("Patient", "")].count == 2
    assert "created" not in again.counts.get("Patient", {})
    status = partner_status(session, hostile)
    assert status.sync_errors == 10 and status.open_matches == 1


def test_a_next_link_loop_ends_within_the_budget_and_another_partner_still_syncs(
    session: Session, case: Case, serve: Callable[..., FakePartner], connections: Connections
) -> None:
    def endless(path: str) -> bytes:  # a new URL on every page, each with one new Patient
        n = int(path.rsplit("/", 1)[1]) if path.startswith("/fhir/loop/") else 0
        member = _patient(f"loop-{n}", "Looper", 0)
        member["meta"]["lastUpdated"] = f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}Z"
        return _bundle([member], f"/fhir/loop/{n + 1}")

    server = serve(route=endless)
    looping = _partner(session, case, server, "looping", ["Patient"])
    calm = _partner(session, case, serve(pages={"/fhir/Patient": _bundle([GOOD_1, GOOD_2])}), "calm", ["Patient"])

    first = engine.pull(session, looping, connections, budget=Budget(pages=5))
    other = engine.pull(session, calm, connections, budget=Budget(pages=5))

    assert first.pages == 5 and first.stopped is not None and "5 pages" in first.stopped
    assert first.counts["Patient"] == {"created": 5}
    assert other.counts["Patient"] == {"created": 2}
    # The next round searches again from the watermark committed with the 5th page.
    engine.pull(session, looping, connections, budget=Budget(pages=1))
    searches = [path for path in server.requests if path.startswith("/fhir/Patient?")]
    assert len(searches) == 2 and searches[-1].endswith("&_lastUpdated=ge2026-03-01T10%3A00%3A04Z")


def test_a_round_that_fails_as_a_whole_shows_in_the_status(
    session: Session, case: Case, serve: Callable[..., FakePartner], connections: Connections
) -> None:
    refusing = serve(pages={"/fhir/Patient": _bundle([GOOD_1])}, token=(400, b'{"error": "invalid_client"}'))
    partner = _partner(session, case, refusing, "refusing", ["Patient"])

    for _ in range(2):
        with pytest.raises(AuthFailed):
            engine.pull(session, partner, connections)

    session.refresh(partner)
    assert partner.pulled_at is not None
    assert partner.pull_error is not None and "invalid_client" in partner.pull_error
    status = partner_status(session, partner)
    assert (status.sync_errors, status.error_occurrences) == (0, 0)  # no resource was refused: none was read

    refusing.token = (200, b'{"access_token": "t", "token_type": "Bearer", "expires_in": 300}')
    with Connections(connections.keys) as fresh:  # a new token cache: the refused token request is not cached
        engine.pull(session, partner, fresh)
    session.refresh(partner)
    assert partner.pull_error is None
