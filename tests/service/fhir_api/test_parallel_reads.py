"""Parallel FHIR clients on one database: every read answers 200 (issue #11, part 1).

SMART apps resolve references and bulk fetchers download files at once; on the embedded SQLite
default each read also writes an access event, which used to fail with "database is locked".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import registry
from service.auth.scopes import parse_scopes
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models.audit_events import AccessEvent
from service.models.clients import PartnerClient
from tests.factories import build_case
from tests.service.fhir_api.support import bearer, populate

THREADS = 8
READS_PER_THREAD = 20


def _token(session: Session, settings: Settings, organization_id: str) -> str:
    client = registry.register_client(
        session, name="parallel reader", scopes="system/*.rs", organization_id=organization_id, jwks_url="https://partner.invalid/jwks.json"
    )
    row = session.get(PartnerClient, client.client_id)
    assert row is not None
    token, _ = issue_access_token(session, settings, row, parse_scopes("system/*.rs"))
    session.commit()
    return token


def test_parallel_reads_and_searches_all_succeed_and_are_all_audited(committed_url: str, now: datetime) -> None:
    settings = Settings(database_url=committed_url, celery_eager=True)
    engine = make_engine(committed_url)
    with make_session_factory(engine)() as session:
        case = build_case(session, now, mrn="MRN-PAR")
        ids = populate(session, case)
        headers = bearer(_token(session, settings, case.hospital.id))
    app = create_app(settings)
    paths = [f"/fhir/R4/CarePlan/{ids['CarePlan']}", f"/fhir/R4/Task?patient={ids['Patient']}",
             f"/fhir/R4/Patient/{ids['Patient']}", f"/fhir/R4/Goal/{ids['Goal']}"]  # fmt: skip

    def reader(n: int) -> list[int]:
        client = app.test_client()
        return [client.get(paths[(n + i) % len(paths)], headers=headers).status_code for i in range(READS_PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [status for batch in pool.map(reader, range(THREADS)) for status in batch]

    assert statuses == [200] * (THREADS * READS_PER_THREAD)
    with make_session_factory(engine)() as session:
        audited = session.scalar(select(func.count()).where(AccessEvent.interaction.in_(["read", "search-type"])))
    assert audited == THREADS * READS_PER_THREAD
    engine.dispose()
