"""The Celery app (service/celery_app.py): what beat runs, and how often."""

from __future__ import annotations

import pytest

from service.app import create_app
from service.config import Settings


def test_beat_pulls_from_and_pushes_to_partners_on_the_configured_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBRIDGE_SYNC_PULL_SECONDS", "120")
    monkeypatch.setenv("CAREBRIDGE_SYNC_PUSH_SECONDS", "15")
    app = create_app(Settings.from_env(database_url="sqlite://", celery_eager=True))

    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["pull-partners"] == {"task": "service.tasks.sync.pull_all", "schedule": 120.0}
    assert schedule["push-partners"] == {"task": "service.tasks.sync.push_all", "schedule": 15.0}
    # A worker knows every scheduled task (an unknown name would be refused at every beat).
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()  # what `celery worker` does at start
    registered = set(celery.tasks)
    assert {entry["task"] for entry in schedule.values()} <= registered


def test_sync_rounds_are_acknowledged_on_receipt_and_every_other_task_after_it_ran() -> None:
    # A killed round's work comes back by carebridge's lease and watermark (service.tasks.sync),
    # not by the broker's redelivery; the other tasks' messages are their only record.
    app = create_app(Settings.from_env(database_url="sqlite://", celery_eager=True))
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    ours = {name: task for name, task in celery.tasks.items() if name.startswith("service.")}

    acked_on_receipt = {name for name, task in ours.items() if not task.acks_late}

    assert acked_on_receipt == {"service.tasks.sync.pull_partner", "service.tasks.sync.push_partner"}
