"""Everything a receiving organisation's queue page shows, read in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.auth.context import AccessContext
from service.models import Handoff, Patient, Referral, Stay
from service.usecases.handoffs import owner_queue
from service.usecases.users import names_of


@dataclass(frozen=True)
class QueueView:
    handoffs: list[Handoff]
    patients: dict[str, Patient]
    referrals: dict[str, Referral]
    stays: dict[str, Stay]
    # People named in the cards' note threads, by username.
    names: dict[str, str]


def load_queue(session: Session, org_id: str, *, ctx: AccessContext, include_closed: bool = False) -> QueueView:
    """The handoffs ``org_id`` must act on that ``ctx`` may see, with their patients, referrals and stays."""
    handoffs = owner_queue(session, org_id, include_closed=include_closed, ctx=ctx)
    patient_ids = {h.patient_id for h in handoffs}
    patients = session.scalars(
        select(Patient).where(Patient.id.in_(patient_ids)).options(selectinload(Patient.identifiers))
    )
    referrals = session.scalars(select(Referral).where(Referral.id.in_({h.referral_id for h in handoffs})))
    stays = session.scalars(select(Stay).where(Stay.id.in_({h.stay_id for h in handoffs})))
    authors = {str(note.get("author")) for h in handoffs for note in h.notes}
    return QueueView(
        handoffs=handoffs,
        patients={p.id: p for p in patients},
        referrals={r.id: r for r in referrals},
        stays={s.id: s for s in stays},
        names=names_of(session, authors),
    )
