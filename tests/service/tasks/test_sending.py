"""A saved write is never answered as a failure: a broker that cannot be reached after the commit is
logged, and beat's relay picks the work up from the outbox (issue #11)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from service.app import create_app
from service.config import Settings
from service.db import make_engine, make_session_factory
from service.models import ChangeEvent
from service.tasks.relay import relay_changes
from tests.factories import build_case


def _pending(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        count = session.scalar(select(func.count()).where(ChangeEvent.dispatched_at.is_(None)))
    engine.dispose()
    return int(count or 0)


def test_a_write_whose_after_commit_send_fails_answers_201_and_is_relayed_later(
    committed_url: str, tmp_path: Path, now: datetime
) -> None:
    engine = make_engine(committed_url)
    with make_session_factory(engine)() as session:
        case = build_case(session, now)
        body = {"patient_id": case.patient.id, "kind": "transport", "owner_org_id": case.snfs[0].id,
                "requester_org_id": case.hospital.id}  # fmt: skip
    engine.dispose()
    # A broker file in a folder that cannot exist: every send fails.
    unreachable = f"sqla+sqlite:///{tmp_path / 'not-a-folder.txt' / 'broker.db'}"
    (tmp_path / "not-a-folder.txt").write_text("a file, so nothing can be created under it")
    app = create_app(Settings(database_url=committed_url, celery_broker_url=unreachable, celery_eager=False))
    with app.app_context():
        relay_changes()  # the case's own events are out of the way
    assert _pending(committed_url) == 0

    created = app.test_client().post("/api/handoffs", json=body, headers={"X-Carebridge-Actor": "planner"})

    assert created.status_code == 201, created.get_json()
    assert _pending(committed_url) >= 1  # the change waits in the outbox
    with app.app_context():
        relay_changes()  # what beat's relay-changes entry runs every few seconds
    assert _pending(committed_url) == 0
