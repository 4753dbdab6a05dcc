"""Everything the patient case page shows, read in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from fhir_mappings import codes
from service import clock
from service.domain.handoff_status import STATUS_WORDS
from service.domain.referral_loop import Loop, referral_loop
from service.domain.words import BARRIERS, READINESS, day_words
from service.models import AuditRecord, Barrier, CasePlan, Handoff, HandoffEvent, Organization, Referral, Stay
from service.models.documents import Document
from service.usecases import closing
from service.usecases.unit_of_work import get_or_404
from service.usecases.users import names_of

# Organisations a hospital refers patients to.
REFERABLE_KINDS = ("snf", "home_health", "inpatient_rehab", "hospice", "community", "primary_care", "payer")


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
    # The organisations a referral from this stay can go to.
    referable: list[Organization]
    # People's names by username: who opened and resolved barriers, marked readiness, wrote notes.
    names: dict[str, str]
    # Per referral: where its loop stands (closed with its outcome, no response...).
    loops: dict[str, Loop]


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
    people = {b.opened_by for b in stay.barriers} | {b.resolved_by or "" for b in stay.barriers}
    people |= {item.met_by or "" for item in stay.readiness_items}
    people |= {str(note.get("author")) for h in handoffs for note in h.notes}
    recipients = {h.id: _recipient(h, organizations) for h in handoffs}
    now = clock.now()
    loops = {
        r.id: referral_loop(r.status, [closing.recipient(h, recipients[h.id]) for h in r.handoffs], now)
        for r in referrals
    }
    return CaseView(
        stay=stay,
        plans=plans,
        referrals=referrals,
        other_handoffs=[h for h in handoffs if h.referral_id is None],
        timeline=_with_names(session, _timeline(session, stay, referrals, handoffs, organizations)),
        organizations=organizations,
        partner_activities={plan.id: _partner_activities(plan) for plan in plans},
        recipients=recipients,
        referable=list(
            session.scalars(
                select(Organization)
                .where(Organization.kind.in_(REFERABLE_KINDS))
                .order_by(Organization.kind, Organization.name)
            )
        ),
        names=names_of(session, people - {""}),
        loops=loops,
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


def _timeline(
    session: Session, stay: Stay, referrals: list[Referral], handoffs: list[Handoff], orgs: dict[str, Organization]
) -> list[TimelineEntry]:
    """Every handoff status change, barrier, planning change, readiness mark, placement
    confirmation and the discharge, newest first."""
    services = {r.id: r.service for r in referrals}
    entries = [_handoff_entry(event, handoff, orgs, services) for handoff in handoffs for event in handoff.events]
    entries += [
        TimelineEntry(
            datetime.fromisoformat(str(note["at"])),
            str(note.get("author", "")),
            f"Note on {_subject(handoff, orgs, services)}: {note.get('text', '')}",
        )
        for handoff in handoffs
        for note in handoff.notes
        if note.get("at")
    ]
    entries += _audited(session, stay, referrals)
    for barrier in stay.barriers:
        entries.append(TimelineEntry(barrier.opened_at, barrier.opened_by, f"Barrier opened: {_barrier(barrier)}"))
        if barrier.resolved_at is not None:
            entries.append(
                TimelineEntry(barrier.resolved_at, barrier.resolved_by or "", f"Barrier resolved: {_barrier(barrier)}")
            )
    return sorted(entries, key=lambda e: e.at, reverse=True)


# The stay's planning fields whose changes the timeline shows, as a person names them.
PLANNING_FIELDS = {
    "expected_discharge_date": "Expected discharge date",
    "medically_ready_date": "Medically ready date",
    "unit": "Unit",
    "bed": "Bed",
}


def _planning_value(name: str, value: object) -> str:
    """A unit or bed as kept; a date (audited as ISO 8601) the way the pages show dates."""
    if not value:
        return "—"
    if name.endswith("_date"):
        return day_words(date.fromisoformat(str(value)), clock.now().year)
    return str(value)


def _audited(session: Session, stay: Stay, referrals: list[Referral]) -> list[TimelineEntry]:
    """The changes the audit trail keeps who made: planning dates, readiness, confirmation, discharge,
    documents attached to the referrals."""
    items = {item.id: item for item in stay.readiness_items}
    referral_ids = [r.id for r in referrals]
    records = session.scalars(
        select(AuditRecord).where(
            or_(
                and_(
                    AuditRecord.entity_type == "Stay",
                    AuditRecord.entity_id == stay.id,
                    AuditRecord.action.in_(("update", "discharge")),
                ),
                and_(AuditRecord.entity_type == "ReadinessItem", AuditRecord.entity_id.in_(items)),
                and_(
                    AuditRecord.entity_type == "Referral",
                    AuditRecord.entity_id.in_(referral_ids),
                    AuditRecord.action.in_(("confirm_placement", "close_loop")),
                ),
                and_(
                    AuditRecord.entity_type == "Document",
                    AuditRecord.entity_id.in_(select(Document.id).where(Document.referral_id.in_(referral_ids))),
                    AuditRecord.action == "create",
                ),
            )
        )
    )
    entries = []
    for record in records:
        before, after = record.before or {}, record.after or {}
        if record.action == "discharge":
            code = str(after.get("discharge_disposition") or "")
            disposition = codes.CAREBRIDGE_DISCHARGE_DISPOSITION.concepts.get(code, code.replace("_", " "))
            entries.append(TimelineEntry(stay.discharged_at or record.at, record.actor, f"Discharged: {disposition}"))
        elif record.entity_type == "Stay":
            changed = [
                f"{label}: {_planning_value(name, before.get(name))} → {_planning_value(name, after.get(name))}"
                for name, label in PLANNING_FIELDS.items()
                if before.get(name) != after.get(name)
            ]
            if changed:
                entries.append(TimelineEntry(record.at, record.actor, "; ".join(changed)))
        elif record.entity_type == "ReadinessItem" and before.get("met") != after.get("met"):
            code = items[record.entity_id].code
            item = READINESS.get(code, code.replace("_", " "))
            state = "done" if after.get("met") else "not done"
            entries.append(TimelineEntry(record.at, record.actor, f"Readiness item {state}: {item}"))
        elif record.action == "close_loop":
            service = str(after.get("service") or "").replace("_", " ").capitalize()
            entries.append(TimelineEntry(record.at, record.actor, f"{service} referral {after.get('status')}"))
        elif record.entity_type == "Document":
            entries.append(TimelineEntry(record.at, record.actor, f"Document attached: {after.get('title')}"))
        elif record.entity_type == "Referral":
            notes = after.get("notes") or []
            entries.append(TimelineEntry(record.at, record.actor, str(notes[-1]) if notes else "Placement confirmed"))
    return entries


def _with_names(session: Session, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Credit people by name, not username (backend clients keep their client id)."""
    names = names_of(session, (entry.actor for entry in entries))
    return [TimelineEntry(e.at, names.get(e.actor, e.actor), e.what) for e in entries]


def _barrier(barrier: Barrier) -> str:
    return BARRIERS.get(barrier.category, barrier.category.replace("_", " "))


def _subject(handoff: Handoff, orgs: dict[str, Organization], services: dict[str, str]) -> str:
    """What a handoff is about, in words: "Maple Grove (skilled nursing facility placement referral)"."""
    owner = orgs[handoff.owner_org_id].name if handoff.owner_org_id in orgs else "another organisation"
    if handoff.referral_id in services:
        service = services[str(handoff.referral_id)]
        what = f"{codes.REFERRAL_SERVICE.concepts.get(service, service.replace('_', ' ')).lower()} referral"
    else:
        what = codes.HANDOFF_KIND.concepts.get(handoff.kind, handoff.kind.replace("_", " ")).lower()
    return f"{owner} ({what})"


def _handoff_entry(
    event: HandoffEvent, handoff: Handoff, orgs: dict[str, Organization], services: dict[str, str]
) -> TimelineEntry:
    subject = _subject(handoff, orgs, services)
    to_status = STATUS_WORDS.get(event.to_status, event.to_status)
    if event.from_status is None:
        what = f"{'Sent to' if handoff.referral_id else 'Created for'} {subject}: {to_status.lower()}"
    elif event.from_status == event.to_status:
        what = f"{subject}: status detail “{event.business_status or 'cleared'}”"
    else:
        what = f"{subject}: {STATUS_WORDS.get(event.from_status, event.from_status)} → {to_status}"
        if event.business_status:
            what += f" (“{event.business_status}”)"
    if event.reason:
        what += f" — {event.reason}"
    return TimelineEntry(event.at, event.actor, what)
