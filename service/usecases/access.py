"""The policy applied to one request's records, for the REST API and the web pages.

Views never load a record by id themselves: they ask here, and get it only when the principal
may (service.auth.policy). What the principal may not see is a 404 worded exactly like a missing
record (no existence leak, OWASP API1); what it may see but not do is a 403. Every record
handed out or changed is noted for the access audit (service.auth.request_audit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.auth import policy
from service.auth.audit import Action
from service.auth.context import AccessContext
from service.auth.request_audit import note_access
from service.auth.scopes import Interaction
from service.models import Barrier, Patient
from service.usecases.errors import Forbidden, NotFound

_INTERACTION_NAMES = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
_ACTION_NAMES: dict[Action, str] = {"C": "create", "R": "read", "U": "update", "D": "delete", "E": "search-type"}


def require(ctx: AccessContext, resource_type: str, interaction: Interaction) -> None:
    """403 unless some scope of the principal (its token's, or its role's) grants the interaction."""
    if not policy.allows(ctx, resource_type, interaction):
        raise Forbidden(
            f"not permitted to {_INTERACTION_NAMES[interaction]} {resource_type} records "
            f"(scopes: {ctx.scopes or 'none'})",
            insufficient_scope=True,
        )


def _visible(session: Session, ctx: AccessContext, resource_type: str, ident: str, action: Action = "R") -> Any:
    row = policy.visible_row(session, ctx, resource_type, ident)
    if row is None:
        # Audited like the FHIR API's 404s: someone asked for a record they may not have.
        note_access(ctx, action, _ACTION_NAMES[action], resource_type, resource_id=ident)
        raise NotFound(policy.MODELS[resource_type][0].__name__, ident)
    return row


def _patient_of(resource_type: str, row: Any) -> str:
    _, column = policy.MODELS[resource_type]
    return str(getattr(row, column.key))


def readable(session: Session, ctx: AccessContext, resource_type: str, ident: str) -> Any:
    """The record `ident` of `resource_type` (a SMART type: Patient, Encounter, CarePlan, Goal,
    ServiceRequest, Task), when the principal may read it."""
    require(ctx, resource_type, "r")
    row = _visible(session, ctx, resource_type, ident)
    note_access(ctx, "R", "read", resource_type, resource_id=ident, patient_ids=(_patient_of(resource_type, row),))
    return row


def writable(session: Session, ctx: AccessContext, resource_type: str, ident: str) -> Any:
    """The record, when the principal may change it: 404 when it may not even see it, 403 when it
    may see but not change it (a payer reading its member's stay, a facility its referral)."""
    require(ctx, resource_type, "u")
    row = _visible(session, ctx, resource_type, ident, "U")
    patient_id = _patient_of(resource_type, row)
    note_access(ctx, "U", "update", resource_type, resource_id=ident, patient_ids=(patient_id,))
    if not policy.can_write(ctx, resource_type, row):
        raise Forbidden(f"{resource_type} {ident} belongs to a case your organisation does not run")
    return row


def case_workspace(session: Session, ctx: AccessContext, stay_id: str) -> Any:
    """A stay's whole case, to work on (the web app's case page): read, by those who run the case."""
    stay = readable(session, ctx, "Encounter", stay_id)
    if not policy.can_write(ctx, "Encounter", stay):
        raise Forbidden(f"the case of stay {stay_id} is run by another organisation")
    return stay


def writable_barrier(session: Session, ctx: AccessContext, barrier_id: str) -> Barrier:
    """A barrier is part of its stay: changing it is changing the stay (Encounter)."""
    barrier = session.get(Barrier, barrier_id)
    if barrier is None:
        raise NotFound("Barrier", barrier_id)
    try:
        writable(session, ctx, "Encounter", barrier.stay_id)
    except NotFound:
        raise NotFound("Barrier", barrier_id) from None
    return barrier


def creatable_for(session: Session, ctx: AccessContext, resource_type: str, patient_id: str) -> Patient:
    """A new `resource_type` record of the patient may be made: the principal may create that
    type and runs the patient's case (service.auth.policy.writable_rows)."""
    require(ctx, resource_type, "c")
    patient = _visible(session, ctx, "Patient", patient_id, "C")
    note_access(ctx, "C", "create", resource_type, patient_ids=(patient_id,))
    if not policy.can_write(ctx, "Patient", patient):
        raise Forbidden(f"patient {patient_id}'s case is run by another organisation")
    return patient  # type: ignore[no-any-return]


def screenable(session: Session, ctx: AccessContext, patient_id: str) -> Patient:
    """A screening of the patient may be recorded: by the hospital running the case, or by the
    patient's payer (its own screening flows into the case's suggestions): policy.can_screen."""
    require(ctx, "QuestionnaireResponse", "c")
    patient = _visible(session, ctx, "Patient", patient_id, "C")
    note_access(ctx, "C", "create", "QuestionnaireResponse", patient_ids=(patient_id,))
    if not policy.can_screen(ctx, patient):
        raise Forbidden(f"patient {patient_id}'s screenings are recorded by their hospital or payer")
    return patient  # type: ignore[no-any-return]


def admittable(session: Session, ctx: AccessContext, patient_id: str, hospital_id: str) -> Patient:
    """A hospital admits, for itself, a patient whose case it runs, or one no hospital holds yet
    (just registered: nobody else's record is joined). Never another hospital's patient."""
    require(ctx, "Encounter", "c")
    acting_for(ctx, hospital_id, "the admitting hospital")
    patient = session.get(Patient, patient_id)
    if patient is None or not (policy.can_write(ctx, "Patient", patient) or policy.unclaimed(patient)):
        raise NotFound("Patient", patient_id)
    note_access(ctx, "C", "create", "Encounter", patient_ids=(patient_id,))
    return patient


def linkable(session: Session, ctx: AccessContext, resource_type: str, ident: str | None) -> None:
    """A new record may point at `ident` (a stay, a plan) only when the principal runs that case too."""
    if ident is not None:
        row = _visible(session, ctx, resource_type, ident, "C")
        if not policy.can_write(ctx, resource_type, row):
            raise Forbidden(f"{resource_type} {ident} belongs to a case your organisation does not run")


def acting_for(ctx: AccessContext, org_id: str, what: str) -> None:
    """A principal acts only for its own organisation (a carebridge-operated client for any)."""
    if ctx.organization_id is not None and org_id != ctx.organization_id:
        raise Forbidden(f"{what} must be your own organisation ({ctx.organization_id})")


def listed(ctx: AccessContext, resource_type: str, patient_ids: list[str]) -> None:
    """Note a list or search that disclosed these patients' records."""
    note_access(ctx, "E", "search-type", resource_type, patient_ids=tuple(sorted(set(patient_ids))) or (None,))
