"""One pull or push round for a partner: what the CLI and the Celery tasks run.

with Connections(keystore_lookup(session)) as conns:
    pull(session, partner, conns, since=None)   # -> PullReport
    push(session, partner, conns)               # -> Counter of outcomes
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, update
from sqlalchemy.orm import Session

from connectors.fhir_client import FhirClient
from service import clock
from service.config import Settings
from service.models import Partner
from service.sync import errors
from service.sync.connection import Connections
from service.sync.outbox import claim, fence, keep_leases
from service.sync.pull import DEFAULT_PAGE_SIZE, Budget, Progress, PullReport, page_transaction, pull_partner
from service.sync.push import deliver
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.partners import record_capabilities


@dataclass(frozen=True)
class PushSettings:
    """How a push round sends: rows per claim (one batch Bundle where the partner takes batches,
    https://hl7.org/fhir/R4/http.html#transaction), batches in flight at once, the lease a heartbeat
    renews, and how long a partner's CapabilityStatement is trusted (README "Configuration")."""

    parallel: int
    lease: timedelta
    capabilities_ttl: timedelta
    batch: int

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PushSettings:
        values: dict[str, Any] = {
            "parallel": settings.sync_push_parallel,
            "batch": settings.sync_push_batch,
            "lease": timedelta(seconds=settings.sync_lease_seconds),
            "capabilities_ttl": timedelta(seconds=settings.sync_capabilities_seconds),
        }
        return cls(**{**values, **overrides})


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
    how: PushSettings | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Relay pending change events, then deliver due rows until none is left, up to
    ``how.parallel`` batches at once, by what the partner's CapabilityStatement (cached) accepts.

    Batches go out in parallel because a partner's server usually takes several requests at once
    while each waits on the network and on carebridge's own commits. Per-record order still holds:
    `claim` never hands out a record that is in flight elsewhere, so two writes of one record are
    never in flight together, and If-Match / If-None-Exist keep every write idempotent.
    """
    how = how or PushSettings.from_settings(Settings.from_env())
    dispatch_pending(session, CONSUMERS)
    bind = session.get_bind()
    sender = _Sender(partner.id, connections, how, progress)
    if not isinstance(bind, Engine) or bind.dialect.name == "sqlite":
        # One sender: SQLite has a single writer, and a session bound to one connection (the
        # tests' rollback fixture) has no engine to open more sessions on.
        return sender.run(session, bind)
    if how.parallel <= 1:
        return sender.run_own(bind)
    with ThreadPoolExecutor(how.parallel, thread_name_prefix="push") as pool:
        runs = [pool.submit(sender.run_own, bind) for _ in range(how.parallel)]
        return sum((run.result() for run in runs), Counter())


class BatchSizes:
    """Rows per batch for each partner, in this process. A batch the partner did not answer within
    its read timeout halves the next ones (a slow partner answers a smaller batch in time instead of
    being sent the same work again); each answered batch grows them by one row, up to the
    configured size: additive increase, multiplicative decrease."""

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def size(self, partner_id: str, ceiling: int) -> int:
        return min(self._sizes.get(partner_id, ceiling), ceiling)

    def answered(self, partner_id: str, ceiling: int, tally: Counter[str]) -> None:
        with self._lock:
            size = self.size(partner_id, ceiling)
            self._sizes[partner_id] = max(1, size // 2) if tally["batch:timed-out"] else min(ceiling, size + 1)


BATCH_SIZES = BatchSizes()


class _Sender:
    """One loop of claim, send, record; `push` runs ``parallel`` of them, each on its own session."""

    def __init__(
        self, partner_id: str, connections: Connections, how: PushSettings, progress: Callable[[int], None] | None
    ) -> None:
        self.partner_id, self.connections, self.how, self.progress = partner_id, connections, how, progress
        self._statement = threading.Lock()  # one sender reads the CapabilityStatement for all

    def run_own(self, bind: Engine) -> Counter[str]:
        """`run` on a session of its own that holds one connection for the whole round: each of a
        batch's three transactions used to check one out of the pool, a pre-ping round trip each."""
        with bind.connect() as connection, Session(connection, expire_on_commit=False) as session:
            return self.run(session, bind)

    def run(self, session: Session, bind: Engine | Connection) -> Counter[str]:
        """Claim and deliver until nothing is due; ``bind`` is what the lease heartbeat writes on."""
        tally: Counter[str] = Counter()
        partner = session.get_one(Partner, self.partner_id)
        with self.connections.client(partner) as fhir:
            while claimed := claim(
                session, partner.id, limit=BATCH_SIZES.size(partner.id, self.how.batch), lease=self.how.lease
            ):
                # The heartbeat starts with the claim: no one takes the rows while the statement is read.
                with keep_leases(bind, fence(claimed), self.how.lease):
                    self._know_capabilities(session, partner, fhir)
                    sent = deliver(session, partner, fhir, claimed)
                BATCH_SIZES.answered(partner.id, self.how.batch, sent)
                tally += sent
                if self.progress:
                    self.progress(len(claimed))
        return tally

    def _know_capabilities(self, session: Session, partner: Partner, fhir: FhirClient) -> None:
        """Read the partner's CapabilityStatement when the stored one is older than the TTL or was
        made stale by a 405/404 (`service.sync.capability.refused_type`): a statement changes with
        a partner's release, not between two pushes (https://hl7.org/fhir/R4/http.html#capabilities)."""
        if self._fresh(partner):
            return
        with self._statement:
            session.refresh(partner)  # another sender may have read it meanwhile
            if not self._fresh(partner):
                record_capabilities(session, partner.id, fhir.capabilities())

    def _fresh(self, partner: Partner) -> bool:
        read_at = partner.capabilities_read_at
        if partner.capabilities is None or read_at is None:
            return False
        return clock.now() - read_at < self.how.capabilities_ttl
