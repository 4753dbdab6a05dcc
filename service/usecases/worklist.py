"""The discharge planner's worklist: active stays by expected discharge date, with what needs doing.

Cost grows with the page, not with the hospital: one keyset-paged index scan for the stays
(``ix_stays_worklist``), then one grouped query each for handoffs, readiness and barriers of
just those stays. Other orders (patient, unit, medically ready, overdue, avoidable days) are
sorted and paged by the database too, so no order loads every stay.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from service.auth import policy
from service.auth.context import AccessContext
from service.domain.handoff_status import OPEN
from service.domain.referral_loop import OPEN as LOOP_OPEN
from service.domain.referral_loop import Loop, Recipient, referral_loop
from service.domain.timing import AWAITING_ANSWER, DECISION_KINDS, avoidable_days
from service.models import Barrier, CareTeamMember, Handoff, Organization, Patient, ReadinessItem, Referral, Stay, User
from service.usecases import closing
from service.usecases.errors import Invalid
from service.usecases.screenings import worklist_marks


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
    # (service, loop) of each referral whose loop is closed, unmet or without a response.
    loops: list[tuple[str, Loop]] = field(default_factory=list)
    days_to_edd: int | None = None
    # Screening (usecases.screenings.worklist_marks): screened this stay; concerns still to address.
    screened: bool = False
    concerns_to_address: int = 0


@dataclass(frozen=True)
class WorklistPage:
    rows: list[WorklistRow]
    next_cursor: str | None
    # Whether rows follow this page (in the EDD order also given by ``next_cursor``).
    has_more: bool = False


# The orders a worklist can be read in; "edd" ascending is the one paged by cursor.
SORTS = ("edd", "patient", "unit", "ready", "overdue", "avoidable")


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
    sort: str = "edd",
    descending: bool = False,
    offset: int = 0,
) -> WorklistPage:
    """Active stays by expected discharge date (or by ``sort``); those `ctx` may see when a
    principal asks (None: carebridge itself, e.g. benchmarks and scenario checks).

    The EDD order pages by ``cursor``; the others by ``offset``.
    """
    if sort not in SORTS:
        raise Invalid("unknown sort", fields={"sort": [f"must be one of {', '.join(SORTS)}"]})
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
    keyset = sort == "edd" and not descending
    if keyset and cursor:
        query = query.where(_after_cursor(cursor))
    if sort == "patient":
        query = query.join(Patient, Patient.id == Stay.patient_id)
    query = query.order_by(*_order(sort, descending, now), Stay.id).limit(limit + 1)
    if not keyset:
        query = query.offset(offset)
    stays = list(session.scalars(query.options(joinedload(Stay.patient))).unique())
    more = len(stays) > limit
    stays = stays[:limit]
    rows = _enrich(session, stays, now=now, tz=tz)
    next_cursor = encode_cursor(stays[-1].expected_discharge_date, stays[-1].id) if more and keyset else None
    return WorklistPage(rows=rows, next_cursor=next_cursor, has_more=more)


def _order(sort: str, descending: bool, now: datetime) -> list[ColumnElement[Any]]:
    """ORDER BY terms for ``sort``; a missing date sorts as the latest one (last going up)."""

    def direction(term: ColumnElement[Any] | InstrumentedAttribute[Any], *, missing_last: bool = False) -> Any:
        ordered = term.desc() if descending else term.asc()
        if not missing_last:
            return ordered
        return ordered.nulls_first() if descending else ordered.nulls_last()

    if sort == "patient":
        return [direction(func.lower(Patient.family_name)), direction(func.lower(Patient.given_name))]
    if sort == "unit":
        return [direction(func.coalesce(Stay.unit, "")), direction(func.coalesce(Stay.bed, ""))]
    if sort == "ready":
        return [direction(Stay.medically_ready_date, missing_last=True)]
    if sort == "overdue":
        overdue = select(func.count()).where(Handoff.stay_id == Stay.id, _overdue(now)).scalar_subquery()
        return [direction(overdue)]
    if sort == "avoidable":
        # Avoidable days only fall as the medically-ready date moves later (domain.timing.avoidable_days),
        # and a stay with none has none: most avoidable days first = earliest ready date first.
        ready = Stay.medically_ready_date
        return [ready.asc().nulls_last() if descending else ready.desc().nulls_first()]
    return [direction(Stay.expected_discharge_date, missing_last=True)]


def worklist_choices(session: Session, hospital_id: str) -> tuple[list[str], list[User]]:
    """What the worklist's filters offer at a hospital: its units with patients in, and its discharge planners."""
    units = session.scalars(
        select(Stay.unit)
        .where(Stay.hospital_id == hospital_id, Stay.status == "in-progress", Stay.unit.is_not(None))
        .distinct()
        .order_by(Stay.unit)
    )
    planners = session.scalars(
        select(User)
        .join(CareTeamMember, CareTeamMember.user_id == User.id)
        .where(User.organization_id == hospital_id, CareTeamMember.role == "discharge_planner")
        .distinct()
        .order_by(User.display_name)
    )
    return [unit for unit in units if unit is not None], list(planners)


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
    screened, to_address = worklist_marks(session, ids)
    for stay_id, row in rows.items():
        row.unmet_readiness = unmet[stay_id]
        row.readiness_total = totals[stay_id]
        row.screened, row.concerns_to_address = stay_id in screened, to_address.get(stay_id, 0)
    _add_loops(session, rows, now)
    return list(rows.values())


def _add_loops(session: Session, rows: dict[str, WorklistRow], now: datetime) -> None:
    """Each stay's referrals whose loop is no longer simply open (closed, unmet, no response): two queries."""
    referrals = session.execute(
        select(Referral.id, Referral.stay_id, Referral.service, Referral.status)
        .where(Referral.stay_id.in_(list(rows)))
        .order_by(Referral.authored_on)
    ).all()
    recipients: dict[str, list[Recipient]] = defaultdict(list)
    for handoff, name in session.execute(
        select(Handoff, Organization.name)
        .join(Organization, Organization.id == Handoff.owner_org_id)
        .where(Handoff.referral_id.in_([r.id for r in referrals]))
    ):
        recipients[str(handoff.referral_id)].append(closing.recipient(handoff, name))
    for referral_id, stay_id, service, status in referrals:
        loop = referral_loop(status, recipients[referral_id], now)
        if loop.state != LOOP_OPEN:
            rows[str(stay_id)].loops.append((service, loop))
