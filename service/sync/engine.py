"""One pull or push round for a partner: what the CLI and the Celery tasks run.

with Connections(keystore_lookup(session)) as conns:
    pull(session, partner, conns, since=None)   # -> PullReport
    push(session, partner, conns)               # -> Counter of outcomes
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from service.models import Partner
from service.sync.connection import Connections
from service.sync.outbox import DEFAULT_LEASE, claim
from service.sync.pull import DEFAULT_PAGE_SIZE, Progress, PullReport, pull_partner
from service.sync.push import deliver
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.partners import record_capabilities

# Rows per claim: one batch Bundle where the partner takes batches (https://hl7.org/fhir/R4/http.html#transaction).
PUSH_BATCH = 50


def pull(
    session: Session,
    partner: Partner,
    connections: Connections,
    *,
    since: str | None = None,
    types: list[str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
) -> PullReport:
    bind = session.get_bind()
    assert isinstance(bind, Engine | Connection)
    with connections.client(partner) as fhir:
        return pull_partner(bind, partner, fhir, types=types, since=since, page_size=page_size, progress=progress)


def push(
    session: Session,
    partner: Partner,
    connections: Connections,
    *,
    batch: int = PUSH_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    rounds: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Relay pending change events, read the partner's CapabilityStatement, then deliver due rows
    until none is left (or ``rounds`` claims were made)."""
    dispatch_pending(session, CONSUMERS)
    tally: Counter[str] = Counter()
    with connections.client(partner) as fhir:
        record_capabilities(session, partner.id, fhir.capabilities())
        done = 0
        while rounds is None or done < rounds:
            ids = claim(session, partner.id, limit=batch, lease=lease)
            if not ids:
                break
            tally += deliver(session, partner, fhir, ids)
            done += 1
            if progress:
                progress(len(ids))
    return tally
