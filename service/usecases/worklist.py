"""The discharge planner's worklist: active stays by expected discharge date, with what needs doing.

Cost grows with the page, not with the hospital: one keyset-paged index scan for the stays
(``ix_stays_worklist``), then one grouped query each for handoffs, readiness and barriers of
just those stays.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from service.auth import policy
from service.auth.context import AccessContext
from service.domain.handoff_status import OPEN
from service.domain.timing import AWAITING_ANSWER, DECISION_KINDS, avoidable_days
from service.models import Barrier, Handoff, ReadinessItem, Stay, User
from service.usecases.errors import Invalid


@dataclass(frozen=True)
class WorklistFilter:
    unit: str | None = None
    planner_id: str | None = None
    hospital_id: str | None = None
    edd_from: date | None = None
    edd_to: date | None = None
    has_overdue: bool = False


@dataclass
class WorklistRow:
    stay: Stay
    open_handoffs: int = 0
    overdue_handoffs: int = 0
    due_today_handoffs: int = 0
    unmet_readiness: list[str] = field(default_factory=list)
    readiness_total: int = 0
    open_barriers: list[Barrier] = field(default_factory=list)
    avoidable_days: int = 0
    days_to_edd: int | None = None


@dataclass(frozen=True)
class WorklistPage:
    rows: list[WorklistRow]
    next_cursor: str | None


def encode_cursor(edd: date | None, stay_id: str) -> str:
    raw = json.dumps([edd.isoformat() if edd else None, stay_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date | None, str]:
    try:
        edd, stay_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return (date.fromisoformat(edd) if edd else None), str(stay_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise Invalid("the page cursor is not valid", fields={"cursor": ["use the next cursor as returned"]}) from exc


def _after_cursor(cursor: str):  # type: ignore[no-untyped-def]
    edd, stay_id = decode_cursor(cursor)
    if edd is None:
        return and_(Stay.expected_discharge_date.is_(None), Stay.id > stay_id)
    return or_(
        Stay.expected_discharge_date > edd,
        and_(Stay.expected_discharge_date == edd, Stay.id > stay_id),
        Stay.expected_discharge_date.is_(None),
    )


def _due_applies():  # type: ignore[no-untyped-def]
    """SQL twin of ``service.domain.timing.counts_against_due``."""
    return or_(
        and_(Handoff.kind.in_(DECISION_KINDS), Handoff.status.in_(AWAITING_ANSWER)),
        and_(Handoff.kind.not_in(DECISION_KINDS), Handoff.status.in_(OPEN)),
    )


def _overdue(now: datetime):  # type: ignore[no-untyped-def]
    return and_(_due_applies(), Handoff.due_at < now)


def home_zone(session: Session, ctx: AccessContext) -> str:
    """The zone that defines "today" when the caller names none, so the API counts what the pages
    show: a person's own zone; for a backend client, the one its organisation's people share; else UTC."""
    if ctx.user_id is not None:
        zone = session.scalar(select(User.time_zone).where(User.id == ctx.user_id))
        return zone or "UTC"
    if ctx.organization_id is not None:
        zones = session.scalars(
            select(User.time_zone).where(User.organization_id == ctx.organization_id).distinct().limit(2)
        ).all()
        if len(zones) == 1:
            return zones[0]
    return "UTC"


def worklist(
    session: Session,
    *,
    now: datetime,
    tz: tzinfo,
    filters: WorklistFilter = WorklistFilter(),
    limit: int = 25,
    cursor: str | None = None,
    ctx: AccessContext | None = None,
) -> WorklistPage:
    """Active stays by expected discharge date; those `ctx` may see when a principal asks (None:
    carebridge itself, e.g. benchmarks and scenario checks)."""
    query = select(Stay).where(Stay.status == "in-progress")
    if ctx is not None:
        query = query.where(policy.visible_rows(ctx, "Encounter"))
    if filters.unit:
        query = query.where(Stay.unit == filters.unit)
    if filters.planner_id:
        query = query.where(Stay.planner_id == filters.planner_id)
    if filters.hospital_id:
        query = query.where(Stay.hospital_id == filters.hospital_id)
    if filters.edd_from:
        query = query.where(Stay.expected_discharge_date >= filters.edd_from)
    if filters.edd_to:
        query = query.where(Stay.expected_discharge_date <= filters.edd_to)
    if filters.has_overdue:
        query = query.where(exists().where(Handoff.stay_id == Stay.id, _overdue(now)))
    if cursor:
        query = query.where(_after_cursor(cursor))
    query = query.order_by(Stay.expected_discharge_date.asc().nulls_last(), Stay.id).limit(limit + 1)
    stays = list(session.scalars(query.options(joinedload(Stay.patient))).unique())
    more = len(stays) > limit
    stays = stays[:limit]
    rows = _enrich(session, stays, now=now, tz=tz)
    next_cursor = encode_cursor(stays[-1].expected_discharge_date, stays[-1].id) if more else None
    return WorklistPage(rows=rows, next_cursor=next_cursor)


def _enrich(session: Session, stays: list[Stay], *, now: datetime, tz: tzinfo) -> list[WorklistRow]:
    today = now.astimezone(tz).date()
    day_end = datetime.combine(today, time.min, tz) + timedelta(days=1)
    rows = {
        s.id: WorklistRow(
            stay=s,
            avoidable_days=avoidable_days(
                s.medically_ready_date, s.discharged_at.date() if s.discharged_at else None, today
            ),
            days_to_edd=(s.expected_discharge_date - today).days if s.expected_discharge_date else None,
        )
        for s in stays
    }
    if not rows:
        return []
    ids = list(rows)
    is_open = Handoff.status.in_(OPEN)
    counts = session.execute(
        select(
            Handoff.stay_id,
            func.count(),
            func.sum(case((_overdue(now), 1), else_=0)),
            # Due today = still to do today; what is already past due counts as overdue instead.
            func.sum(case((and_(_due_applies(), Handoff.due_at >= now, Handoff.due_at < day_end), 1), else_=0)),
        )
        .where(Handoff.stay_id.in_(ids), is_open)
        .group_by(Handoff.stay_id)
    )
    for stay_id, n_open, n_overdue, n_today in counts:
        row = rows[stay_id]
        row.open_handoffs, row.overdue_handoffs, row.due_today_handoffs = n_open, n_overdue or 0, n_today or 0
    unmet: dict[str, list[str]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for stay_id, code, met in session.execute(
        select(ReadinessItem.stay_id, ReadinessItem.code, ReadinessItem.met)
        .where(ReadinessItem.stay_id.in_(ids))
        .order_by(ReadinessItem.position)
    ):
        totals[stay_id] += 1
        if not met:
            unmet[stay_id].append(code)
    barriers = session.scalars(
        select(Barrier).where(Barrier.stay_id.in_(ids), Barrier.resolved_at.is_(None)).order_by(Barrier.opened_at)
    )
    for barrier in barriers:
        rows[barrier.stay_id].open_barriers.append(barrier)
    for stay_id, row in rows.items():
        row.unmet_readiness = unmet[stay_id]
        row.readiness_total = totals[stay_id]
    return list(rows.values())
