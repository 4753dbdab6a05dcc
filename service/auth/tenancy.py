"""What an organisation may see, as SQL filters (so searches page over visible rows only).

Rules (issue #5, part 3):
- payer: its members (`Patient.payer_id`) and everything about them;
- receiving facility (or anyone a handoff is addressed to / requested by): the handoffs (Task)
  addressed to it or requested by it, the referrals (ServiceRequest) those handoffs carry out,
  and the patients they concern: not the rest of the patient's hospital record;
- hospital: the patients of its stays and their records;
- `patient/` scopes: only that patient's compartment
  (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes);
- `organization_id` None: a carebridge-operated client (auditor, internal jobs), no tenant limit.

The org-kind rules are unions of relations, so an organisation only ever matches rows it is a
party to, whatever its kind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, aliased, object_session

from service.auth.context import AccessContext
from service.models import CasePlan, Goal, Handoff, Patient, Referral, Stay

# FHIR resource type -> (ORM model, its patient id column).
MODELS: dict[str, tuple[type[Any], InstrumentedAttribute[str]]] = {
    "Patient": (Patient, Patient.id),
    "Encounter": (Stay, Stay.patient_id),
    "CarePlan": (CasePlan, CasePlan.patient_id),
    "Goal": (Goal, Goal.patient_id),
    "ServiceRequest": (Referral, Referral.patient_id),
    "Task": (Handoff, Handoff.patient_id),
    # One CareTeam per patient (its id is the patient's id): see service.fhir_bridge.
    "CareTeam": (Patient, Patient.id),
}


# Correlated EXISTS, not IN (subquery): PostgreSQL probes the indexes per candidate row instead
# of materialising every patient of a large organisation on each request. The inner tables are
# aliases, so that filtering Stay (Encounter) rows by a Stay subquery does not correlate the
# subquery to the outer row. They are made once: building an alias per request cost more than
# the query, and the same constructs let SQLAlchemy reuse the compiled statement.
_MEMBER = aliased(Patient, name="tenancy_member")
_STAY = aliased(Stay, name="tenancy_stay")
_HANDOFF = aliased(Handoff, name="tenancy_handoff")


def _patients_of_org(org_id: str, column: Any) -> ColumnElement[bool]:
    return or_(_full_record_patients(org_id, column), _party_to_handoff(org_id, _HANDOFF.patient_id == column))


def _party_to_handoff(org_id: str, match: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some handoff matching `match` is owned or requested by the org. Two EXISTS rather than one
    with an OR inside: each is then answered by its own index (ix_handoffs_*_parties)."""
    return or_(
        exists().where(match, _HANDOFF.owner_org_id == org_id),
        exists().where(match, _HANDOFF.requester_org_id == org_id),
    )


def _full_record_patients(org_id: str, column: Any) -> ColumnElement[bool]:
    """Patients whose whole record the org may read: its payer members and its hospital patients."""
    return or_(
        exists().where(_MEMBER.id == column, _MEMBER.payer_id == org_id),
        exists().where(_STAY.patient_id == column, _STAY.hospital_id == org_id),
    )


def visible_patients(ctx: AccessContext, column: Any = Patient.id) -> ColumnElement[bool]:
    """Filter on a patient id column (default `Patient.id`): the patients `ctx` may know about."""
    clauses: list[ColumnElement[bool]] = []
    if ctx.patient_only:
        clauses.append(column == ctx.patient_id)
    if ctx.organization_id is not None:
        clauses.append(_patients_of_org(ctx.organization_id, column))
    return and_(true(), *clauses)


def visible_rows(ctx: AccessContext, resource_type: str) -> ColumnElement[bool]:
    """Filter on the model of `resource_type`: the rows `ctx` may read."""
    model, patient_column = MODELS[resource_type]
    clauses: list[ColumnElement[bool]] = [visible_patients(ctx, patient_column)]
    org = ctx.organization_id
    if org is not None and resource_type not in ("Patient", "CareTeam"):
        whole_record = _full_record_patients(org, patient_column)
        if resource_type == "Task":
            clauses.append(or_(whole_record, Handoff.owner_org_id == org, Handoff.requester_org_id == org))
        elif resource_type == "ServiceRequest":
            clauses.append(or_(whole_record, _party_to_handoff(org, _HANDOFF.referral_id == Referral.id)))
        else:
            clauses.append(whole_record)
    return and_(*clauses)


def can_see(ctx: AccessContext, resource_type: str, row: Any) -> bool:
    """Whether `ctx` may read this loaded row (same rules as `visible_rows`, asked of the database)."""
    session = object_session(row)
    if session is None:
        raise ValueError("can_see needs a row loaded from a session")
    model, _ = MODELS[resource_type]
    query = select(model.id).where(model.id == row.id, visible_rows(ctx, resource_type))
    return session.scalar(query) is not None
