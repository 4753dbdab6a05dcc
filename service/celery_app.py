"""Celery wired into the Flask app (pallets/flask examples/celery): tasks run in an app context.

Embedded default: kombu's SQLAlchemy transport on an SQLite file. Scale: Redis, same code.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import worker_init, worker_process_init
from flask import Flask

from service.config import INSTANCE_DIR
from service.failures import log_task_failures_without_values
from service.heap import settle_heap


def init_celery(app: Flask) -> Celery:
    settings = app.extensions["carebridge"].settings

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=settings.celery_broker_url,
        result_backend=settings.celery_result_backend,
        task_always_eager=settings.celery_eager,
        task_eager_propagates=True,
        task_ignore_result=True,
        # A task is acknowledged after it ran, so a worker killed mid-task does not lose it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Every task module, so a worker knows every task beat or a use case may send it.
        imports=("service.tasks.export", "service.tasks.notifications", "service.tasks.relay", "service.tasks.sync"),
        beat_schedule={
            # Safety nets behind the after-commit trigger (service.tasks.relay) and the retry backoff.
            "relay-changes": {"task": "service.tasks.relay.relay_changes", "schedule": 5.0},
            "deliver-due-notifications": {"task": "service.tasks.notifications.deliver_due", "schedule": 10.0},
            "start-waiting-exports": {"task": "service.tasks.export.start_waiting", "schedule": 30.0},
            "subscription-heartbeats": {"task": "service.tasks.notifications.send_heartbeats", "schedule": 30.0},
            # Partner sync (service.tasks.sync): each fans out one task per partner.
            "pull-partners": {"task": "service.tasks.sync.pull_all", "schedule": settings.sync_pull_seconds},
            "push-partners": {"task": "service.tasks.sync.push_all", "schedule": settings.sync_push_seconds},
        },
        beat_schedule_filename=str(INSTANCE_DIR / "celerybeat-schedule"),
    )
    log_task_failures_without_values()
    # The process that runs tasks: the main one (solo and thread pools), and each prefork child.
    worker_init.connect(settle_heap, weak=False)
    worker_process_init.connect(settle_heap, weak=False)
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
