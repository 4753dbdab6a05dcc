"""Everything the patient case page shows, read in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.models import Barrier, CasePlan, Handoff, HandoffEvent, Organization, Referral, Stay
from service.usecases.unit_of_work import get_or_404


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    what: str


@dataclass(frozen=True)
class CaseView:
    stay: Stay
    plans: list[CasePlan]
    referrals: list[Referral]
    # Handoffs that are not a referral recipient (follow-ups, transport, authorisations...).
    other_handoffs: list[Handoff]
    timeline: list[TimelineEntry]
    organizations: dict[str, Organization]
    # Per plan: the activities a partner (EHR) keeps in it that carebridge does not model.
    partner_activities: dict[str, list[str]]
    # Per handoff: who it is with, as the case page names them.
    recipients: dict[str, str]


def load_case(session: Session, stay_id: str) -> CaseView:
    stay = get_or_404(session, Stay, stay_id)
    plans = list(
        session.scalars(
            select(CasePlan)
            .where(CasePlan.stay_id == stay.id)
            .options(selectinload(CasePlan.goals), selectinload(CasePlan.origin_partner))
            .order_by(CasePlan.created_at)
        )
    )
    referrals = list(
        session.scalars(
            select(Referral)
            .where(Referral.stay_id == stay.id)
            .options(selectinload(Referral.handoffs).selectinload(Handoff.events))
            .order_by(Referral.authored_on.desc())
        )
    )
    handoffs = list(
        session.scalars(
            select(Handoff)
            .where(Handoff.stay_id == stay.id)
            .options(selectinload(Handoff.events))
            .order_by(Handoff.due_at.is_(None), Handoff.due_at)
        )
    )
    org_ids = {h.owner_org_id for h in handoffs} | {h.requester_org_id for h in handoffs} | {stay.hospital_id}
    organizations = {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))}
    return CaseView(
        stay=stay,
        plans=plans,
        referrals=referrals,
        other_handoffs=[h for h in handoffs if h.referral_id is None],
        timeline=_timeline(stay, handoffs, organizations),
        organizations=organizations,
        partner_activities={plan.id: _partner_activities(plan) for plan in plans},
        recipients={h.id: _recipient(h, organizations) for h in handoffs},
    )


def _recipient(handoff: Handoff, organizations: dict[str, Organization]) -> str:
    """The owner organisation's name; for a handoff imported from an EHR whose owner carebridge
    does not know (`service.sync.incoming._import_task`), the text the EHR gives it."""
    owner = (handoff.source or {}).get("owner") if handoff.origin_partner_id else None
    sent = owner.get("display") if isinstance(owner, dict) and not str(owner.get("reference", "")).startswith(
        "Organization/"
    ) else None  # fmt: skip
    return str(sent) if sent else organizations[handoff.owner_org_id].name


def _partner_activities(plan: CasePlan) -> list[str]:
    """The EHR's own activities of a plan (CarePlan.activity.detail, kept in its ``source``)."""
    found: list[str] = []
    activities = (plan.source or {}).get("activity")
    for item in activities if isinstance(activities, list) else ():
        detail = item.get("detail") if isinstance(item, dict) else None
        if isinstance(detail, dict) and detail.get("description"):
            status = f" ({detail['status']})" if detail.get("status") else ""
            found.append(f"{detail['description']}{status}")
    return found


def _timeline(stay: Stay, handoffs: list[Handoff], orgs: dict[str, Organization]) -> list[TimelineEntry]:
    """Every handoff status change, barrier and the discharge, newest first."""
    entries = [_handoff_entry(event, handoff, orgs) for handoff in handoffs for event in handoff.events]
    for barrier in stay.barriers:
        entries.append(TimelineEntry(barrier.opened_at, barrier.opened_by, f"Barrier opened: {_barrier(barrier)}"))
        if barrier.resolved_at is not None:
            entries.append(
                TimelineEntry(barrier.resolved_at, barrier.resolved_by or "", f"Barrier resolved: {_barrier(barrier)}")
            )
    if stay.discharged_at is not None:
        disposition = (stay.discharge_disposition or "").replace("_", " ")
        entries.append(TimelineEntry(stay.discharged_at, "", f"Discharged ({disposition})"))
    return sorted(entries, key=lambda e: e.at, reverse=True)


def _barrier(barrier: Barrier) -> str:
    return barrier.category.replace("_", " ")


def _handoff_entry(event: HandoffEvent, handoff: Handoff, orgs: dict[str, Organization]) -> TimelineEntry:
    owner = orgs[handoff.owner_org_id].name if handoff.owner_org_id in orgs else handoff.owner_org_id
    subject = f"{handoff.kind.replace('_', ' ')} ({owner})"
    if event.from_status is None:
        what = f"{subject} created as {event.to_status}"
    elif event.from_status == event.to_status:
        what = f"{subject}: business status '{event.business_status or 'cleared'}'"
    else:
        what = f"{subject}: {event.from_status} → {event.to_status}"
        if event.business_status:
            what += f" ('{event.business_status}')"
    if event.reason:
        what += f" — {event.reason}"
    return TimelineEntry(event.at, event.actor, what)
