"""Placement analytics for one hospital: how fast facilities answer, who accepts, where days are lost.

All figures are computed from the record (handoff timelines, stay dates) at request time, over
referrals sent and stays active or discharged inside the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.domain.handoff_status import OPEN
from service.domain.timing import avoidable_days
from service.models import Handoff, HandoffEvent, Organization, Referral, Stay

ANSWERS = ("accepted", "rejected")


@dataclass(frozen=True)
class FacilityAcceptance:
    name: str
    sent: int
    accepted: int
    declined: int

    @property
    def answered(self) -> int:
        return self.accepted + self.declined

    @property
    def rate_of_sent(self) -> float | None:
        """Accepted share of every referral sent to the facility: silence counts against it."""
        return self.accepted / self.sent if self.sent else None

    @property
    def rate_of_answered(self) -> float | None:
        """Accepted share of the referrals the facility answered (None before any answer). Alone it
        flatters a facility that answers few, so it is always shown next to `rate_of_sent`."""
        return self.accepted / self.answered if self.answered else None


@dataclass(frozen=True)
class WeekTrend:
    """One week (Monday, UTC) of the window: referrals by the week they were sent, stays by the week
    they were discharged."""

    week_start: date
    referrals: int
    hours_to_first_answer: float | None
    hours_to_acceptance: float | None
    discharges: int
    avoidable_days: int


@dataclass(frozen=True)
class Placement:
    referrals: int  # referrals sent; one referral may go to several facilities
    hours_to_first_answer: float | None  # median over referrals with an answer
    hours_to_acceptance: float | None  # median over referrals with an acceptance
    facilities: list[FacilityAcceptance]
    avoidable_days_by_unit: list[tuple[str, int]]
    overdue_by_owner: list[tuple[str, int]]
    weeks: list[WeekTrend]

    @property
    def requests(self) -> int:
        """Requests to facilities: the sum of the per-facility "sent" column, which reconciles with
        `referrals` only when each referral went to one facility."""
        return sum(f.sent for f in self.facilities)


def placement_analytics(session: Session, hospital_id: str, *, now: datetime, days: int = 30) -> Placement:
    since = now - timedelta(days=days)
    timings = _referral_timings(session, hospital_id, since)
    return Placement(
        referrals=len(timings),
        hours_to_first_answer=_median_hours([t.to_answer for t in timings if t.to_answer is not None]),
        hours_to_acceptance=_median_hours([t.to_accept for t in timings if t.to_accept is not None]),
        facilities=_acceptance(session, hospital_id, since),
        avoidable_days_by_unit=_avoidable_by_unit(session, hospital_id, since, now),
        overdue_by_owner=_overdue_by_owner(session, hospital_id, now),
        weeks=_weeks(session, hospital_id, since, now, timings),
    )


@dataclass(frozen=True)
class _Timing:
    sent_at: datetime
    to_answer: timedelta | None
    to_accept: timedelta | None


def _monday(moment: datetime | date) -> date:
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def _weeks(
    session: Session, hospital_id: str, since: datetime, now: datetime, timings: list[_Timing]
) -> list[WeekTrend]:
    discharged: dict[date, list[int]] = defaultdict(list)
    for ready, discharged_at in session.execute(
        select(Stay.medically_ready_date, Stay.discharged_at).where(
            Stay.hospital_id == hospital_id, Stay.discharged_at >= since, Stay.discharged_at <= now
        )
    ):
        assert discharged_at is not None  # filtered on it
        discharged[_monday(discharged_at)].append(avoidable_days(ready, discharged_at.date(), now.date()))
    weeks = []
    week = _monday(since)
    while week <= now.date():
        sent = [t for t in timings if _monday(t.sent_at) == week]
        weeks.append(
            WeekTrend(
                week_start=week,
                referrals=len(sent),
                hours_to_first_answer=_median_hours([t.to_answer for t in sent if t.to_answer is not None]),
                hours_to_acceptance=_median_hours([t.to_accept for t in sent if t.to_accept is not None]),
                discharges=len(discharged[week]),
                avoidable_days=sum(discharged[week]),
            )
        )
        week += timedelta(days=7)
    return weeks


def _median_hours(delays: list[timedelta]) -> float | None:
    return median(d.total_seconds() / 3600 for d in delays) if delays else None


def _referral_timings(session: Session, hospital_id: str, since: datetime) -> list[_Timing]:
    """Per referral: when it was sent, the delay to the first recipient's answer and to the first acceptance."""
    sent = dict(
        session.execute(
            select(Referral.id, Referral.authored_on)
            .join(Handoff, Handoff.referral_id == Referral.id)
            .where(Handoff.requester_org_id == hospital_id, Referral.authored_on >= since)
            .distinct()
        ).all()
    )
    firsts = session.execute(
        select(Handoff.referral_id, HandoffEvent.to_status, func.min(HandoffEvent.at))
        .join(HandoffEvent, HandoffEvent.handoff_id == Handoff.id)
        .where(Handoff.referral_id.in_(list(sent)), HandoffEvent.to_status.in_(ANSWERS))
        .group_by(Handoff.referral_id, HandoffEvent.to_status)
    )
    answered: dict[str, datetime] = {}
    accepted: dict[str, datetime] = {}
    for referral_id, status, at in firsts:
        assert referral_id is not None  # joined on it
        answered[referral_id] = min(at, answered.get(referral_id, at))
        if status == "accepted":
            accepted[referral_id] = at
    return [
        _Timing(
            sent_at,
            answered[r] - sent_at if r in answered else None,
            accepted[r] - sent_at if r in accepted else None,
        )
        for r, sent_at in sent.items()
    ]


def _acceptance(session: Session, hospital_id: str, since: datetime) -> list[FacilityAcceptance]:
    decisions = (
        select(Handoff.id, Handoff.owner_org_id)
        .where(
            Handoff.kind == "referral_decision",
            Handoff.requester_org_id == hospital_id,
            Handoff.authored_on >= since,
        )
        .subquery()
    )
    sent: dict[str, int] = dict(
        session.execute(select(decisions.c.owner_org_id, func.count()).group_by(decisions.c.owner_org_id)).all()
    )
    answers: dict[str, dict[str, int]] = defaultdict(dict)
    for org_id, status, count in session.execute(
        select(decisions.c.owner_org_id, HandoffEvent.to_status, func.count(func.distinct(HandoffEvent.handoff_id)))
        .join(HandoffEvent, HandoffEvent.handoff_id == decisions.c.id)
        .where(HandoffEvent.to_status.in_(ANSWERS))
        .group_by(decisions.c.owner_org_id, HandoffEvent.to_status)
    ):
        answers[org_id][status] = count
    names = _names(session, sent)
    return sorted(
        (
            FacilityAcceptance(
                names[org_id], count, answers[org_id].get("accepted", 0), answers[org_id].get("rejected", 0)
            )
            for org_id, count in sent.items()
        ),
        key=lambda f: f.name,
    )


def _avoidable_by_unit(session: Session, hospital_id: str, since: datetime, now: datetime) -> list[tuple[str, int]]:
    totals: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(Stay.unit, Stay.medically_ready_date, Stay.discharged_at).where(
            Stay.hospital_id == hospital_id,
            or_(Stay.status == "in-progress", Stay.discharged_at >= since),
        )
    )
    for unit, ready, discharged_at in rows:
        totals[unit or "(no unit)"] += avoidable_days(
            ready, discharged_at.date() if discharged_at else None, now.date()
        )
    return sorted(totals.items())


def _overdue_by_owner(session: Session, hospital_id: str, now: datetime) -> list[tuple[str, int]]:
    """Open, past-due handoffs about this hospital's patients, counted by the organisation that owes them."""
    counts = dict(
        session.execute(
            select(Handoff.owner_org_id, func.count())
            .where(
                or_(Handoff.requester_org_id == hospital_id, Handoff.owner_org_id == hospital_id),
                Handoff.status.in_(OPEN),
                Handoff.due_at < now,
            )
            .group_by(Handoff.owner_org_id)
        ).all()
    )
    names = _names(session, counts)
    return sorted(((names[org_id], n) for org_id, n in counts.items()), key=lambda item: (-item[1], item[0]))


def _names(session: Session, org_ids: Iterable[str]) -> dict[str, str]:
    query = select(Organization.id, Organization.name).where(Organization.id.in_(list(org_ids)))
    return {org_id: name for org_id, name in session.execute(query)}
