"""Recording a discharge closes the stay and starts the follow-up handoffs for its disposition."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.domain.referral_loop import PLACEMENT_CONFIRMED
from service.models import Handoff, Patient, Referral, Stay
from service.models.stays import DISCHARGE_DISPOSITIONS
from service.usecases import closing, follow_ups
from service.usecases.changes import apply_changes
from service.usecases.errors import ConflictError, Invalid
from service.usecases.handoffs import new_handoff
from service.usecases.unit_of_work import get_or_404, unit_of_work

# The placement referral a discharge disposition fulfils: discharged there, the referral is done.
PLACED_BY = {
    "snf": "snf_placement",
    "inpatient_rehab": "inpatient_rehab",
    "hospice": "hospice",
    "home_health": "home_health",
}

# A discharge is recorded when it has happened. The tolerance absorbs a workstation clock a few
# minutes ahead of the server's, not planning ahead (a future discharge would start follow-ups
# and count avoidable days that never were).
FUTURE_TOLERANCE = timedelta(minutes=5)


def record_discharge(
    session: Session,
    stay_id: str,
    *,
    discharged_at: datetime,
    disposition: str,
    actor: str,
) -> list[Handoff]:
    """Finish the stay and create the configured follow-ups; returns them.

    Idempotent for the same discharge (a pulled Encounter and an ADT message may both report it).
    """
    if not disposition:
        raise Invalid("the disposition is missing", fields={"disposition": ["Choose where the patient went."]})
    if disposition not in DISCHARGE_DISPOSITIONS:
        raise Invalid(
            "unknown disposition", fields={"disposition": [f"must be one of {', '.join(DISCHARGE_DISPOSITIONS)}"]}
        )
    if discharged_at > clock.now() + FUTURE_TOLERANCE:
        raise Invalid(
            "a discharge cannot be recorded ahead of time",
            fields={"discharged_at": ["is in the future; record the discharge once the patient has left"]},
        )
    with unit_of_work(session):
        stay = get_or_404(session, Stay, stay_id)
        if stay.status == "finished":
            if stay.discharged_at == discharged_at and stay.discharge_disposition == disposition:
                return []
            raise ConflictError(
                "This stay was already discharged at another time or to another place.",
                details={"discharged_at": str(stay.discharged_at), "disposition": stay.discharge_disposition},
            )
        if stay.status != "in-progress":
            raise ConflictError("Only a stay in hospital can be discharged.", details={"status": stay.status})
        if discharged_at < stay.admitted_at:
            raise Invalid("discharge is before admission", fields={"discharged_at": ["is before the admission time"]})
        apply_changes(
            session,
            stay,
            {"status": "finished", "discharged_at": discharged_at, "discharge_disposition": disposition},
            actor=actor,
            action="discharge",
        )
        placed = _complete_placement(session, stay, disposition, actor)
        patient = get_or_404(session, Patient, stay.patient_id)
        owners = {"hospital": stay.hospital_id, "primary_care": patient.primary_care_id, "placed": placed}
        created = []
        for follow_up in follow_ups.rules()[disposition]:
            owner = owners[follow_up.owner] or stay.hospital_id
            created.append(
                new_handoff(
                    session,
                    patient_id=stay.patient_id,
                    kind=follow_up.kind,
                    owner_org_id=owner,
                    requester_org_id=stay.hospital_id,
                    actor=actor,
                    due_at=discharged_at + follow_up.due_after,
                    stay_id=stay.id,
                    description=follow_up.description,
                    # The hospital's own step needs nobody to accept it: it is ready to be done (FHIR Task
                    # 'ready'), so only Start and Cancel are offered, never Accept or Decline.
                    status="ready" if owner == stay.hospital_id else "requested",
                )
            )
        return created


def _complete_placement(session: Session, stay: Stay, disposition: str, actor: str) -> str | None:
    """The confirmed placement referral for this disposition becomes completed (ServiceRequest.status);
    returns the facility or agency placed (None when none was confirmed)."""
    placed = None
    service = PLACED_BY.get(disposition)
    query = select(Referral).where(
        Referral.stay_id == stay.id, Referral.service == service, Referral.status == "active"
    )
    for referral in session.scalars(query):
        confirmed = [h for h in referral.handoffs if h.business_status == PLACEMENT_CONFIRMED]
        if confirmed:
            closing.settle(session, referral, "completed", actor=actor)
            placed = confirmed[0].owner_org_id
    return placed
