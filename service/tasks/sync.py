"""Celery tasks for partner sync: ids in, one engine round, counts out.

The beat runs `pull_all` and `push_all` (service.celery_app); each fans out one task per partner,
so a slow partner never holds up the others.

A round's work lives in the database, not in its message, so the round tasks are acknowledged
when they start (not acks_late like the other tasks). A worker killed mid-push leaves rows under
a lease its heartbeat no longer renews (`service.sync.outbox`); `push_all` counts rows whose lease
ran out as due, so the beat's next round takes them over within about a lease
(``CAREBRIDGE_SYNC_LEASE_SECONDS``) plus ``CAREBRIDGE_SYNC_PUSH_SECONDS``. A killed pull resumes
at the next `pull_all` from its last committed page. Redelivering the message instead would follow
the broker's clock, not carebridge's: on Redis the visibility timeout (an hour by default, and a
shorter one would redeliver rounds still running), on the embedded SQLite broker never.
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

# A round cut short by a partner outage runs again later (with backoff) instead of failing; it is
# acknowledged on receipt, since the lease and the watermark bring a killed round's work back.
ROUND: dict[str, Any] = {
    "acks_late": False,
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


@shared_task(name="service.tasks.sync.pull_partner", **ROUND)
def pull_partner(partner_id: str, since: str | None = None) -> int:
    with runtime(current_app).session_factory() as session:
        partner = session.get_one(Partner, partner_id)
        return engine.pull(session, partner, connections(), since=since).total


@shared_task(name="service.tasks.sync.push_partner", **ROUND)
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
