"""One pull or push round for a partner: what the CLI and the Celery tasks run.

with Connections(keystore_lookup(session)) as conns:
    pull(session, partner, conns, since=None)   # -> PullReport
    push(session, partner, conns)               # -> Counter of outcomes
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection, Engine, update
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from service import clock
from service.config import Settings
from service.models import Partner
from service.sync import errors
from service.sync.connection import Connections
from service.sync.outbox import DEFAULT_LEASE, claim
from service.sync.pull import DEFAULT_PAGE_SIZE, Budget, Progress, PullReport, page_transaction, pull_partner
from service.sync.push import deliver
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.partners import record_capabilities

# Rows per claim: one batch Bundle where the partner takes batches (https://hl7.org/fhir/R4/http.html#transaction).
PUSH_BATCH = 50
_DEFAULTS = Settings()
DEFAULT_CAPABILITIES_TTL = timedelta(seconds=_DEFAULTS.sync_capabilities_seconds)


def pull(
    session: Session,
    partner: Partner,
    connections: Connections,
    *,
    since: str | None = None,
    types: list[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> PullReport:
    """One pull round. A round that fails as a whole (the partner refuses carebridge's client,
    its server is down) is recorded on the partner (`sync status`) and re-raised."""
    bind = session.get_bind()
    assert isinstance(bind, Engine | Connection)
    try:
        with connections.client(partner) as fhir:
            report = pull_partner(
                bind, partner, fhir, types=types, since=since, page_size=page_size, progress=progress, budget=budget
            )
    except Exception as exc:
        _pull_ended(bind, partner.id, errors.reason(exc))
        raise
    _pull_ended(bind, partner.id, None)
    return report


def _pull_ended(bind: Engine | Connection, partner_id: str, error: str | None) -> None:
    with page_transaction(bind) as session:
        session.execute(update(Partner).where(Partner.id == partner_id).values(pulled_at=clock.now(), pull_error=error))
        session.commit()


def push(
    session: Session,
    partner: Partner,
    connections: Connections,
    *,
    batch: int = PUSH_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    capabilities_ttl: timedelta = DEFAULT_CAPABILITIES_TTL,
    rounds: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Relay pending change events, then deliver due rows until none is left (or ``rounds``
    claims were made), by what the partner's CapabilityStatement (cached) says it accepts."""
    dispatch_pending(session, CONSUMERS)
    tally: Counter[str] = Counter()
    with connections.client(partner) as fhir:
        done = 0
        while rounds is None or done < rounds:
            ids = claim(session, partner.id, limit=batch, lease=lease)
            if not ids:
                break
            _know_capabilities(session, partner, fhir, capabilities_ttl)
            tally += deliver(session, partner, fhir, ids)
            done += 1
            if progress:
                progress(len(ids))
    return tally


def _know_capabilities(session: Session, partner: Partner, fhir: FhirClient, ttl: timedelta) -> None:
    """Read the partner's CapabilityStatement when the stored one is older than ``ttl`` or was made
    stale by a 405/404 (`service.sync.capability.refused_type`): a statement changes with a
    partner's release, not between two pushes (https://hl7.org/fhir/R4/http.html#capabilities)."""
    read_at = partner.capabilities_read_at
    if partner.capabilities is None or read_at is None or clock.now() - read_at >= ttl:
        record_capabilities(session, partner.id, fhir.capabilities())
