"""Celery tasks for partner sync: ids in, one engine round, counts out.

The beat runs `pull_all` and `push_all` (service.celery_app); each fans out one task per partner,
so a slow partner never holds up the others. Tasks are acks_late: a worker killed mid-round has
its task redelivered, and the rows it held come back when their lease expires.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import current_app

from connectors.errors import TemporaryError
from service.app import runtime
from service.models import Partner
from service.sync import engine
from service.sync.connection import Connections, keystore_lookup
from service.sync.outbox import pending_partners
from service.usecases.partners import list_partners

# A round cut short by a partner outage runs again later (with backoff) instead of failing.
RETRY_TEMPORARY: dict[str, Any] = {
    "autoretry_for": (TemporaryError,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "max_retries": 20,
}
_connections: Connections | None = None


def connections() -> Connections:
    """One per worker process: pooled HTTP connections and cached tokens outlive a task."""
    global _connections
    if _connections is None:
        _connections = Connections(keystore_lookup(runtime(current_app).session_factory))
    return _connections


@shared_task(name="service.tasks.sync.pull_partner", **RETRY_TEMPORARY)
def pull_partner(partner_id: str, since: str | None = None) -> int:
    with runtime(current_app).session_factory() as session:
        partner = session.get_one(Partner, partner_id)
        return engine.pull(session, partner, connections(), since=since).total


@shared_task(name="service.tasks.sync.push_partner", **RETRY_TEMPORARY)
def push_partner(partner_id: str, **overrides: Any) -> dict[str, int]:
    """``overrides``: PushSettings fields (e.g. ``batch``) instead of the configured ones."""
    how = engine.PushSettings.from_settings(runtime(current_app).settings, **overrides)
    with runtime(current_app).session_factory() as session:
        partner = session.get_one(Partner, partner_id)
        return dict(engine.push(session, partner, connections(), how))


@shared_task(name="service.tasks.sync.pull_all")
def pull_all() -> int:
    with runtime(current_app).session_factory() as session:
        partners = [p.id for p in list_partners(session) if p.pull_types]
    for partner_id in partners:
        pull_partner.delay(partner_id)
    return len(partners)


@shared_task(name="service.tasks.sync.push_all")
def push_all() -> int:
    """Visit partners with due deliveries (the relay runs first inside each push round)."""
    with runtime(current_app).session_factory() as session:
        partners = {p.id for p in list_partners(session) if p.push_types} & set(pending_partners(session))
    for partner_id in sorted(partners):
        push_partner.delay(partner_id)
    return len(partners)
