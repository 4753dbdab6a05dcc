"""Celery task running one Bulk Data export (the job id in, the use case does the work)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from service import fhir_bridge
from service.app import runtime
from service.usecases import bulk_export


@shared_task(name="service.tasks.export.run_export")
def run_export(job_id: str) -> str:
    with runtime(current_app).session_factory() as session:
        return bulk_export.run_export(session, job_id, bulk_export.export_dir(), fhir_bridge.render)
