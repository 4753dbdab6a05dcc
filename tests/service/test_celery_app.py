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
