"""The partner outbox: delivery rows written from change events, claimed by workers under a lease.

`fan_out` is the consumer the outbox relay (`service.usecases.dispatch`) calls for each
ChangeEvent: one pending Delivery per partner that pushes that type and whose organisation may
read the record by the same rules as carebridge's FHIR API (`service.auth.policy`): a payer gets
its members' records only, a hospital its own patients', a facility what is addressed to it. A record that already has a
pending row for a partner gets no second one, only the newer version: the delivery sends the
record as it is when it runs, never an older state.

`claim` hands a worker up to ``limit`` due rows of one partner and marks them in-flight with a
lease, in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers never share a
row; SQLite serialises writers). A record that is in flight under a live lease is never claimed
again, so the same resource is never sent twice at once.

The lease is short (``CAREBRIDGE_SYNC_LEASE_SECONDS``, 30 s) and `keep_leases` renews it by
heartbeat while the worker is sending, however long the partner takes. A worker that dies stops
renewing: its rows are due again within one lease, not after the longest delivery anyone could
imagine, and newer changes to those records stop queueing behind them. Resending is safe because
every write is conditional. A claim is fenced by the row's attempt number: a heartbeat renews only
rows still in the attempt it claimed, never one another worker has since reclaimed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    String,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service import clock
from service.auth.policy import MODELS, visible_rows
from service.db import UTCDateTime
from service.models import ChangeEvent, Delivery, Partner
from service.sync.outgoing import PUSHABLE, partner_reader
from service.sync.resource_types import RESOURCE_TYPE
from service.usecases.unit_of_work import unit_of_work

OPEN_STATES = ("pending", "in-flight")
log = logging.getLogger(__name__)
# Delivery id -> the attempt number it was claimed in (the fence of that claim).
Claimed = Mapping[int, int]


def fan_out(session: Session, event: ChangeEvent) -> None:
    """Queue the changed record for every partner that pushes its type (inside the relay's transaction)."""
    resource_type = RESOURCE_TYPE.get(event.entity_type)
    if resource_type not in PUSHABLE:
        return
    now = clock.now()
    for partner in session.scalars(select(Partner)):
        if resource_type not in partner.push_types or not _may_read(session, partner, resource_type, event.entity_id):
            continue
        pending = session.scalar(
            select(Delivery)
            .where(
                Delivery.partner_id == partner.id,
                Delivery.entity_type == event.entity_type,
                Delivery.entity_id == event.entity_id,
                Delivery.state == "pending",
            )
            .with_for_update()
        )
        if pending is not None:
            pending.version = max(pending.version or 0, event.version or 0) or None
            pending.updated_at = now
            continue
        session.add(
            Delivery(
                partner_id=partner.id,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                resource_type=resource_type,
                version=event.version,
                state="pending",
                attempts=0,
                due_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def _may_read(session: Session, partner: Partner, resource_type: str, entity_id: str) -> bool:
    model, _ = MODELS[resource_type]
    visible = visible_rows(partner_reader(partner), resource_type)
    return session.scalar(select(model.id).where(model.id == entity_id, visible)) is not None


def _due(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    # The explicit ``state IN open`` lets PostgreSQL and SQLite answer from the partial index of
    # open rows (`ix_partner_deliveries_open`), not by walking every done row in id order.
    return and_(
        Delivery.state.in_(OPEN_STATES),
        or_(
            and_(Delivery.state == "pending", Delivery.due_at <= now),
            and_(Delivery.state == "in-flight", Delivery.lease_until < now),  # its worker died
        ),
    )


def claim(session: Session, partner_id: str, *, limit: int, lease: timedelta) -> list[Delivery]:
    """Mark up to ``limit`` due rows in-flight for this worker: the rows as marked, oldest first.

    The marking UPDATE returns the whole rows, so the delivery starts from them without reading
    them again; nobody else changes them while this worker's lease is live (`keep_leases`)."""
    with unit_of_work(session):
        # Claims for one partner take turns (its row is locked until this one commits), so each
        # sees what the claim before it put in flight and never hands out a record that is in
        # flight: with several senders, two writes of one record are never in flight together.
        # The turn is one statement long: mark the due rows not in flight elsewhere, the oldest
        # row of each record (a record can have a pending row and the expired one of a dead worker).
        # NO KEY UPDATE: the relay's inserts of new rows (a foreign-key check takes KEY SHARE on the
        # partner) go on meanwhile; only other claims wait.
        session.execute(select(Partner.id).where(Partner.id == partner_id).with_for_update(key_share=True))
        now = clock.now()
        values = {"claim_partner": partner_id, "now": now, "limit": limit, "lease_end": now + lease}
        marked = session.scalars(_CLAIM, values)
        return sorted(marked, key=lambda row: row.id)


def _claim_statement() -> Update:
    """What `claim` runs, built once: mark the due rows not in flight elsewhere, the oldest row of
    each record (a record can have a pending row and the expired one of a dead worker). Building
    it took a claim more CPU than anything else in it but the rows' loading."""
    partner_id, now = bindparam("claim_partner", type_=String), bindparam("now", type_=UTCDateTime)
    due = (
        select(Delivery.id, Delivery.entity_type, Delivery.entity_id)
        .where(Delivery.partner_id == partner_id, _due(now), _not_in_flight(partner_id, now))
        .order_by(Delivery.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=Delivery)
        .subquery()
    )
    oldest = select(func.min(due.c.id)).group_by(due.c.entity_type, due.c.entity_id)
    return (
        update(Delivery)
        .where(Delivery.id.in_(oldest))
        .values(
            state="in-flight",
            lease_until=bindparam("lease_end", type_=UTCDateTime),
            updated_at=now,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


def fence(rows: Sequence[Delivery]) -> Claimed:
    """The claim of ``rows``: each row's attempt number as it was claimed (what `renew` checks)."""
    return {row.id: row.attempts for row in rows}


def renew(session: Session, claimed: Claimed, lease: timedelta) -> int:
    """Extend the lease of the rows still in flight under this claim; how many."""
    if not claimed:
        return 0
    with unit_of_work(session):
        now = clock.now()
        result = session.execute(
            update(Delivery)
            .where(Delivery.state == "in-flight", tuple_(Delivery.id, Delivery.attempts).in_(list(claimed.items())))
            .values(lease_until=now + lease)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


@contextmanager
def keep_leases(bind: Engine | Connection, claimed: Claimed, lease: timedelta) -> Iterator[None]:
    """Renew the claim's leases every third of a lease from a thread, until the block ends.

    The thread has a session of its own on the engine, since a session is not shared between
    threads. A claim on one connection of the caller's (the tests' rollback-per-test fixture) has
    no engine to open another on: there the lease just runs its length.
    """
    if not isinstance(bind, Engine) or not claimed:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease.total_seconds() / 3):
            try:
                with Session(bind) as own:
                    renew(own, claimed, lease)
            except SQLAlchemyError as exc:  # the next beat tries again; the lease still runs meanwhile
                log.warning("lease renewal of %d deliveries failed: %s", len(claimed), type(exc).__name__)

    heart = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    heart.start()
    try:
        yield
    finally:
        stop.set()
        heart.join()


def _not_in_flight(
    partner_id: str | ColumnElement[str], now: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    """The row's record is not being sent right now by another worker (a live lease on another
    row; a due row's own lease is never live). The records in flight are one uncorrelated
    subquery, read once per claim (PostgreSQL hashes it), not probed once per candidate: a
    correlated probe of `ix_partner_deliveries_entity` that the planner answered by walking every
    in-flight row of the partner, per candidate, made the claim, and with it every other sender
    waiting for its turn, the slowest step of a parallel push."""
    in_flight = select(Delivery.entity_type, Delivery.entity_id).where(
        Delivery.partner_id == partner_id, Delivery.state == "in-flight", Delivery.lease_until >= now
    )
    return tuple_(Delivery.entity_type, Delivery.entity_id).not_in(in_flight)


def pending_partners(session: Session) -> list[str]:
    """Partners with due deliveries (what the beat's push task visits)."""
    now = clock.now()
    return list(session.scalars(select(Delivery.partner_id).where(_due(now)).distinct()))


def retry_dead(session: Session, partner_id: str | None = None) -> int:
    """Put dead rows back in the queue (after someone fixed the cause); how many."""
    with unit_of_work(session):
        query = update(Delivery).where(Delivery.state == "dead")
        if partner_id is not None:
            query = query.where(Delivery.partner_id == partner_id)
        now = clock.now()
        result = session.execute(
            query.values(state="pending", due_at=now, attempts=0, lease_until=None, updated_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


_CLAIM = _claim_statement()
