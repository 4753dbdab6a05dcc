"""A person's decision on a partner Patient held for review (`identity`): the same person, or not.

- accept: it is the patient the review names. The partner's Patient is linked to that patient and
  its name, birth date and sex are applied, as a match would have done.
- reject: it is someone else. A new patient is registered with the partner's identifiers that
  nobody else holds (the others stay in the partner's JSON on the link) and linked.
Either way the link is the identity from then on: later pulls of that Patient update that patient.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from service import clock
from service.models import Partner, Patient, PatientMatch
from service.sync.incoming import Incoming, link_of, patient_fields, save_link, update_patient_fields
from service.sync.pull import page_transaction
from service.usecases import patients
from service.usecases.errors import ConflictError, NotFound


def list_matches(session: Session, partner_id: str | None = None, *, state: str = "open") -> Sequence[PatientMatch]:
    query = select(PatientMatch).where(PatientMatch.state == state).order_by(PatientMatch.id)
    if partner_id is not None:
        query = query.where(PatientMatch.partner_id == partner_id)
    return session.scalars(query).all()


def open_for_organization(session: Session, organization_id: str) -> Sequence[tuple[PatientMatch, Partner]]:
    """Open reviews of the partners acting as ``organization_id``: a hospital reviews its own EHR's Patients."""
    query = (
        select(PatientMatch, Partner)
        .join(Partner, Partner.id == PatientMatch.partner_id)
        .where(Partner.organization_id == organization_id, PatientMatch.state == "open")
        .order_by(PatientMatch.id)
    )
    return [(row, partner) for row, partner in session.execute(query)]


def decide(bind: Engine | Connection, match_id: int, decision: str, *, actor: str) -> PatientMatch:
    """``decision`` is "accept" or "reject"; all of it in one transaction."""
    with page_transaction(bind) as session:
        row = session.get(PatientMatch, match_id)
        if row is None or row.state != "open":
            raise NotFound("open patient match", str(match_id))
        partner = session.get_one(Partner, row.partner_id)
        ctx = Incoming(partner, _no_fetch)
        identifiers, fields = patient_fields(row.remote_json, ctx)
        if decision == "accept":
            if row.patient_id is None:
                raise ConflictError(f"match #{match_id} names no single patient; reject it to register a new one")
            linked = link_of(session, partner.id, "Patient", row.patient_id)
            if linked is not None:
                raise ConflictError(
                    f"that patient is already linked to the partner's Patient/{linked.remote_id}; "
                    "reject this match (a different person) or correct the partner's record"
                )
            update_patient_fields(session, ctx, session.get_one(Patient, row.patient_id), fields)
            patient_id = row.patient_id
        else:
            taken = patients.owners_of(session, identifiers)
            free = [i for i in identifiers if (i["system"], i["value"]) not in taken]
            patient_id = patients.register_patient(session, actor=actor, identifiers=free, **fields).id
        save_link(session, partner.id, patient_id, row.remote_json)
        row.state = "accepted" if decision == "accept" else "rejected"
        row.decided_at, row.decided_by = clock.now(), actor
        session.commit()
        return row


def _no_fetch(resource_type: str, remote_id: str) -> dict[str, object]:
    raise AssertionError("a match decision reads nothing from the partner")
