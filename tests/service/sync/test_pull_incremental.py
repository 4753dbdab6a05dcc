"""The pull's own watermark against a real partner (../shared/peers), on a committed database:
the engine opens its own transactions per page exactly as the CLI and the worker do, so what a
page commits is what the next pull (or the next process) starts from. No test passes ``since``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service.db import make_engine, make_session_factory
from service.models import AuditRecord, Partner, Patient, SyncWatermark
from service.sync import engine as sync_engine
from service.sync.connection import Connections
from service.sync.status import partner_status
from service.usecases import parties
from service.usecases.partners import add_partner
from tests.peers import PeerSite
from tests.service.sync.conftest import SCOPES

pytestmark = pytest.mark.integration

MRN = "urn:example:ehr-mrn"


@pytest.fixture
def db(committed_url: str) -> Iterator[Engine]:
    engine = make_engine(committed_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    with make_session_factory(db)() as session:
        yield session


@pytest.fixture
def partner(session: Session, ehr_site: PeerSite, connections: Connections) -> Partner:
    ehr_site.reset()
    hospital = parties.add_organization(session, name="St. Example General", kind="hospital", actor="test")
    client = ehr_site.register_backend_client(SCOPES)
    key = client.settings.private_jwk
    connections.keys[key["kid"]] = key  # type: ignore[index]
    return add_partner(
        session, name="general-ehr", kind="ehr", organization_id=hospital.id, fhir_base=ehr_site.fhir_base,
        client_id=client.settings.client_id, token_endpoint=ehr_site.token_endpoint, key_kid=key["kid"],
        scopes=SCOPES, pull_types=["Patient"],
    )  # fmt: skip


def _patient(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": MRN, "value": f"E-{n}"}],
        "name": [{"family": f"Brown{n}", "given": ["Bert"]}],
        "gender": "male",
        "birthDate": "1959-04-02",
    }


def _create(connections: Connections, partner: Partner, numbers: range) -> list[dict[str, Any]]:
    with connections.client(partner) as fhir:
        created = [fhir.create(_patient(n)).resource for n in numbers]
    assert all(created)
    return created  # type: ignore[return-value]


def _count(session: Session, model: Any, *where: Any) -> int:
    session.rollback()  # end the test's read transaction: on SQLite it would keep an old snapshot
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _searches(site: PeerSite) -> list[str]:
    return [r["url"] for r in site.requests_log(50) if r["method"] == "GET" and "/Patient?" in r["url"]]


def test_a_second_pull_after_no_change_fetches_nothing_new(
    session: Session, partner: Partner, connections: Connections, ehr_site: PeerSite
) -> None:
    created = _create(connections, partner, range(5))

    first = sync_engine.pull(session, partner, connections, page_size=2)

    assert first.counts["Patient"] == {"created": 5} and first.pages == 3
    newest = created[-1]["meta"]["lastUpdated"]
    mark = session.scalars(select(SyncWatermark).where(SyncWatermark.partner_id == partner.id)).one()
    assert (mark.resource_type, mark.last_updated) == ("Patient", newest)
    assert partner_status(session, partner).types[0].pulled_until == newest

    again = sync_engine.pull(session, partner, connections, page_size=2)

    # `ge` the watermark: only the newest Patient comes back, and it is skipped as already stored.
    assert again.counts["Patient"] == {"unchanged": 1} and again.pages == 1
    assert any(f"_lastUpdated=ge{newest.replace(':', '%3A')}" in url for url in _searches(ehr_site))

    with connections.client(partner) as fhir:
        changed = dict(created[1], name=[{"family": "Renamed", "given": ["Bert"]}])
        fhir.update(changed)

    third = sync_engine.pull(session, partner, connections, page_size=2)

    assert third.counts["Patient"] == {"unchanged": 1, "updated": 1}
    assert _count(session, Patient, Patient.family_name == "Renamed") == 1


def test_a_pull_killed_after_a_page_resumes_from_the_last_committed_page(
    session: Session, partner: Partner, connections: Connections
) -> None:
    created = _create(connections, partner, range(5))
    pages_done: list[int] = []

    def crash_after_second_page(resource_type: str, count: int, _total: int | None) -> None:
        pages_done.append(count)
        if len(pages_done) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        sync_engine.pull(session, partner, connections, page_size=2, progress=crash_after_second_page)

    # Pages 1 and 2 (Patients 0-3) were committed with their watermark; page 3 was never applied.
    assert _count(session, Patient) == 4
    session.rollback()
    mark = session.scalars(select(SyncWatermark).where(SyncWatermark.partner_id == partner.id)).one()
    assert mark.last_updated == created[3]["meta"]["lastUpdated"]

    resumed = sync_engine.pull(session, partner, connections, page_size=2)

    # Resumes at Patient 3 (the boundary, skipped) and applies only Patient 4.
    assert resumed.counts["Patient"] == {"unchanged": 1, "created": 1}
    assert _count(session, Patient) == 5
    assert _count(session, AuditRecord, AuditRecord.entity_type == "Patient", AuditRecord.action == "create") == 5
