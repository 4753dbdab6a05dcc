"""Parallel FHIR clients on one database: every read answers 200 (issue #11, part 1).

SMART apps resolve references and bulk fetchers download files at once; on the embedded SQLite
default each read also writes an access event, which used to fail with "database is locked".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models.audit_events import AccessEvent
from tests.factories import build_case
from tests.service.fhir_api.support import bearer, committed_token, populate

THREADS = 8
READS_PER_THREAD = 20


def test_parallel_reads_and_searches_all_succeed_and_are_all_audited(committed_url: str, now: datetime) -> None:
    settings = Settings(database_url=committed_url, celery_eager=True)
    engine = make_engine(committed_url)
    with make_session_factory(engine)() as session:
        case = build_case(session, now, mrn="MRN-PAR")
        ids = populate(session, case)
        headers = bearer(committed_token(session, settings, case.hospital.id, "system/*.rs"))
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
