"""A push round against a scripted partner (`responses`): the relay drains the whole backlog, and the
partner's CapabilityStatement is read once per TTL, or again after a 405 or 404 on a type."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import requests
import responses
from sqlalchemy.orm import Session

from connectors.keys import generate_signing_key
from service import clock
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models import ChangeEvent, Partner
from service.sync import engine
from service.sync.connection import Connections
from service.usecases import plans
from service.usecases.partners import add_partner
from tests.factories import Case, build_case

BASE = "http://127.0.0.1:9/fhir/R4"
TOKEN_URL = "http://127.0.0.1:9/token"
METADATA = f"{BASE}/metadata"
CAREPLAN_WRITES = [{"code": "create"}, {"code": "update"}, {"code": "read"}]


def _statement() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [
            {
                "mode": "server",
                "interaction": [{"code": "batch"}],
                "resource": [{"type": "CarePlan", "interaction": CAREPLAN_WRITES}],
            }
        ],
    }


class FakePartner:
    """Answers batch Bundles entry by entry with ``status`` (201 creates, 200 updates by default)
    and keeps the carebridge identifiers of every CarePlan it was sent."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.time_out = 0  # this many batches "take longer than the read timeout"
        self.batch_sizes: list[int] = []
        self.received: list[str] = []
        self.create_conditions: list[str | None] = []  # each create entry's If-None-Exist, as sent
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # parallel senders call in from several threads

    def batch(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        bundle = orjson.loads(request.body)
        self.batch_sizes.append(len(bundle["entry"]))
        posts = [entry["request"] for entry in bundle["entry"] if entry["request"]["method"] == "POST"]
        self.create_conditions += [request.get("ifNoneExist") for request in posts]
        if self.time_out:
            self.time_out -= 1
            return 200, {}, requests.ReadTimeout()  # type: ignore[return-value]
        answers = [self._answer(entry) for entry in bundle["entry"]]
        body = {"resourceType": "Bundle", "type": "batch-response", "entry": answers}
        return 200, {"Content-Type": "application/fhir+json"}, orjson.dumps(body)

    def single(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        self.create_conditions.append(request.headers.get("If-None-Exist"))
        answer = self._answer({"resource": orjson.loads(request.body), "request": {"method": request.method}})
        status = int(answer["response"]["status"].split()[0])
        return status, {"Content-Type": "application/fhir+json"}, orjson.dumps(answer.get("resource") or {})

    def _answer(self, entry: dict[str, Any]) -> dict[str, Any]:
        resource = entry["resource"]
        with self._lock:
            self.received += [i["value"] for i in resource.get("identifier", ())]
            new_id = f"cp{next(self._ids)}"
        if self.status is not None:
            return {"response": {"status": f"{self.status} Refused"}}
        creating = entry["request"]["method"] == "POST"
        stored = {**resource, "id": resource.get("id") or new_id, "meta": {"versionId": "1"}}
        return {"response": {"status": "201 Created" if creating else "200 OK"}, "resource": stored}


@pytest.fixture
def partner_site() -> Iterator[tuple[responses.RequestsMock, FakePartner]]:
    fake = FakePartner()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={"access_token": "t0k3n", "token_type": "bearer", "expires_in": 300})
        mock.get(METADATA, json=_statement())
        mock.add_callback(responses.POST, BASE, callback=fake.batch)
        mock.add_callback(responses.POST, f"{BASE}/CarePlan", callback=fake.single)
        yield mock, fake


@pytest.fixture
def partner(session: Session, case: Case, connections: Connections) -> Partner:
    key = generate_signing_key("ES384")
    connections.keys[key["kid"]] = key  # type: ignore[index]
    return add_partner(
        session, name="ehr", kind="ehr", organization_id=case.hospital.id, fhir_base=BASE, client_id="carebridge",
        token_endpoint=TOKEN_URL, key_kid=key["kid"], scopes="system/CarePlan.cru", pull_types=[],
        push_types=["CarePlan"],
    )  # fmt: skip


def _metadata_reads(mock: responses.RequestsMock) -> int:
    return sum(1 for call in mock.calls if call.request.url == METADATA)


def test_one_push_relays_a_backlog_larger_than_a_relay_batch_and_sends_the_edit_behind_it(
    session: Session, case: Case, now: datetime, partner: Partner, connections: Connections, partner_site: Any
) -> None:
    _, fake = partner_site
    # What a 2,000-Patient pull leaves behind: more change events than one relay batch (500).
    session.add_all(
        ChangeEvent(at=now, entity_type="Patient", entity_id=f"pulled-{n}", version=1, patient_id=f"pulled-{n}",
                    action="create")  # fmt: skip
        for n in range(1200)
    )
    session.commit()
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Home with services", actor="planner")

    tally = engine.push(session, partner, connections)

    assert tally["done:created"] == 1
    assert fake.received == [plan.id]


def test_the_capability_statement_is_read_once_per_ttl(
    session: Session, case: Case, now: datetime, partner: Partner, connections: Connections, partner_site: Any
) -> None:
    mock, fake = partner_site
    how = engine.PushSettings.from_settings(Settings(), capabilities_ttl=timedelta(hours=1))
    for n in range(3):
        plans.create_case_plan(session, patient_id=case.patient.id, title=f"Plan {n}", actor="planner")
        engine.push(session, partner, connections, how)
    assert len(fake.received) == 3
    assert _metadata_reads(mock) == 1

    later = now + timedelta(hours=1, minutes=1)
    clock.set_clock(lambda: later)
    plans.create_case_plan(session, patient_id=case.patient.id, title="After the TTL", actor="planner")
    engine.push(session, partner, connections, how)
    assert _metadata_reads(mock) == 2


@pytest.mark.parametrize("status", [405, 404])
def test_a_405_or_404_on_a_type_makes_the_next_round_read_the_statement_again(
    session: Session,
    case: Case,
    now: datetime,
    partner: Partner,
    connections: Connections,
    partner_site: Any,
    status: int,
) -> None:
    mock, fake = partner_site
    how = engine.PushSettings.from_settings(Settings(), capabilities_ttl=timedelta(hours=1))
    plans.create_case_plan(session, patient_id=case.patient.id, title="First", actor="planner")
    engine.push(session, partner, connections, how)
    assert _metadata_reads(mock) == 1

    fake.status = status  # e.g. the partner's release dropped CarePlan writes
    plans.create_case_plan(session, patient_id=case.patient.id, title="Refused", actor="planner")
    engine.push(session, partner, connections, how)
    assert _metadata_reads(mock) == 1  # this round trusted the cached statement

    fake.status = None
    plans.create_case_plan(session, patient_id=case.patient.id, title="Next", actor="planner")
    engine.push(session, partner, connections, how)
    assert _metadata_reads(mock) == 2


def test_parallel_senders_deliver_every_change_exactly_once(
    committed_url: str, connections: Connections, partner_site: Any
) -> None:
    _, fake = partner_site
    db = make_engine(committed_url)
    factory = make_session_factory(db)
    key = generate_signing_key("ES384")
    connections.keys[key["kid"]] = key  # type: ignore[index]
    with factory() as session:
        case = build_case(session, clock.now())
        partner = add_partner(
            session, name="ehr", kind="ehr", organization_id=case.hospital.id, fhir_base=BASE,
            client_id="carebridge", token_endpoint=TOKEN_URL, key_kid=key["kid"], scopes="system/CarePlan.cru",
            pull_types=[], push_types=["CarePlan"],
        )  # fmt: skip
        ids = [
            plans.create_case_plan(session, patient_id=case.patient.id, title=f"Plan {n}", actor="planner").id
            for n in range(60)
        ]
        # Four senders with batches of 5 (one sender on SQLite, which has a single writer).
        how = engine.PushSettings.from_settings(Settings(), parallel=4, batch=5)
        tally = engine.push(session, partner, connections, how)
    db.dispose()

    assert tally == {"done:created": 60}
    assert sorted(fake.received) == sorted(ids)


def test_a_batch_a_slow_partner_did_not_answer_in_time_comes_back_later_in_smaller_batches_exactly_once(
    session: Session, case: Case, now: datetime, partner: Partner, connections: Connections, partner_site: Any
) -> None:
    _, fake = partner_site
    how = engine.PushSettings.from_settings(Settings(), batch=4, parallel=1)
    ids = [plans.create_case_plan(session, patient_id=case.patient.id, title=f"Plan {n}", actor="planner").id
           for n in range(4)]  # fmt: skip
    fake.time_out = 1

    first = engine.push(session, partner, connections, how)

    assert (first["batch:timed-out"], first["pending:retry"]) == (1, 4)
    assert fake.batch_sizes == [4]  # not resent while the partner may still be working on it
    later = now + timedelta(minutes=5)
    clock.set_clock(lambda: later)
    second = engine.push(session, partner, connections, how)
    assert second["done:created"] == 4
    assert fake.batch_sizes == [4, 2, 2]  # halved, then one row more per answered batch (2 were left)
    assert sorted(fake.received) == sorted(ids)


def test_a_first_send_is_a_plain_create_and_a_resend_after_an_unanswered_batch_is_conditional(
    session: Session, case: Case, now: datetime, partner: Partner, connections: Connections, partner_site: Any
) -> None:
    # The partner may have created the plans of a batch it did not answer: the resend must find them
    # by carebridge's identifier (https://hl7.org/fhir/R4/http.html#ccreate) instead of creating copies.
    _, fake = partner_site
    how = engine.PushSettings.from_settings(Settings(), batch=2, parallel=1)
    ids = [plans.create_case_plan(session, patient_id=case.patient.id, title=f"Plan {n}", actor="planner").id
           for n in range(2)]  # fmt: skip
    fake.time_out = 1

    engine.push(session, partner, connections, how)
    clock.set_clock(lambda: now + timedelta(minutes=5))
    resent = engine.push(session, partner, connections, how)

    assert resent["done:created"] == 2
    tokens = {f"identifier=https://carebridge.dev/fhir/identifier/careplan|{plan_id}" for plan_id in ids}
    assert fake.create_conditions[:2] == [None, None]
    assert set(fake.create_conditions[2:]) == tokens and len(fake.create_conditions) == 4
