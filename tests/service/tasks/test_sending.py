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
from tests.service.fhir_api.support import FHIR_JSON, bearer, committed_token, populate


def _pending(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        count = session.scalar(select(func.count()).where(ChangeEvent.dispatched_at.is_(None)))
    engine.dispose()
    return int(count or 0)


def test_a_write_whose_after_commit_send_fails_answers_200_and_is_relayed_later(
    committed_url: str, tmp_path: Path, now: datetime
) -> None:
    # A broker file in a folder that cannot exist: every send fails.
    (tmp_path / "not-a-folder.txt").write_text("a file, so nothing can be created under it")
    unreachable = f"sqla+sqlite:///{tmp_path / 'not-a-folder.txt' / 'broker.db'}"
    settings = Settings(database_url=committed_url, celery_broker_url=unreachable, celery_eager=False)
    engine = make_engine(committed_url)
    with make_session_factory(engine)() as session:
        case = build_case(session, now)
        task_id = populate(session, case)["Task"]
        headers = bearer(committed_token(session, settings, case.snfs[0].id, "system/Task.rus"))
    engine.dispose()
    app = create_app(settings)
    with app.app_context():
        relay_changes()  # the case's own events are out of the way
    assert _pending(committed_url) == 0
    client = app.test_client()
    task = client.get(f"/fhir/R4/Task/{task_id}", headers=headers)

    accepted = client.put(
        f"/fhir/R4/Task/{task_id}", json={**task.get_json(), "status": "accepted"},
        headers={**headers, "If-Match": task.headers["ETag"], "Content-Type": FHIR_JSON},
    )  # fmt: skip

    assert accepted.status_code == 200, accepted.get_json()
    assert _pending(committed_url) >= 1  # the change waits in the outbox
    with app.app_context():
        relay_changes()  # what beat's relay-changes entry runs every few seconds
    assert _pending(committed_url) == 0
