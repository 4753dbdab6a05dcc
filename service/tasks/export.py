"""Celery task running one Bulk Data export (the job id in, the use case does the work)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from service import clock, fhir_bridge
from service.app import runtime
from service.usecases import bulk_export

# A kick-off whose message is older than this and still not started had its message lost.
LOST_AFTER = timedelta(seconds=60)


@shared_task(name="service.tasks.export.run_export")
def run_export(job_id: str) -> str:
    with runtime(current_app).session_factory() as session:
        return bulk_export.run_export(session, job_id, bulk_export.export_dir(), fhir_bridge.render)


@shared_task(name="service.tasks.export.start_waiting")
def start_waiting() -> int:
    """Beat: send the exports whose kick-off could not reach the broker (service.tasks.sending)."""
    with runtime(current_app).session_factory() as session:
        waiting = bulk_export.waiting_jobs(session, accepted_before=clock.now() - LOST_AFTER)
    for job_id in waiting:
        run_export.delay(job_id)
    return len(waiting)
