"""carebridge's record takes the result of a three-way merge with a partner (`service.sync.merge`),
or is created from a partner's own CarePlan, Goal, ServiceRequest or Task (`import_care_plan`,
`import_goal`, `import_referral`, `import_handoff`).

The fields carebridge models and a partner may edit (`EDITABLE`) are set from the merged resource;
the resource itself becomes the record's ``source``, so the elements carebridge does not model
(the partner's activities, extensions, a note's author and time...) are rendered, read through the
FHIR API and pushed back with every later change instead of being erased. References, subject,
goals and recipients stay carebridge's: they follow carebridge's own records. A merged value
carebridge cannot hold (a status outside its value set, a missing title) refuses the whole merge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

import fhir_mappings as fm
from service import clock
from service.domain.handoff_status import TASK_STATUSES
from service.fhir_bridge import diagnosis_stored
from service.models import CasePlan, Goal, Handoff, HandoffEvent, Organization, Patient, Referral
from service.models.handoffs import HANDOFF_KINDS
from service.models.plans import GOAL_ACHIEVEMENT, GOAL_LIFECYCLE, PLAN_INTENTS, PLAN_STATUSES
from service.models.referrals import PRIORITIES, REFERRAL_STATUSES
from service.usecases.changes import apply_changes, create
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work

# model -> (mapping from FHIR, {field: allowed codes or None for free values}, required fields)
EDITABLE: Mapping[str, tuple[type[Any], Callable[[Any], Any], Mapping[str, tuple[str, ...] | None], frozenset[str]]] = {
    "CasePlan": (
        CasePlan,
        fm.from_fhir_care_plan,
        {"status": PLAN_STATUSES, "intent": PLAN_INTENTS, "title": None, "description": None,
         "period_start": None, "period_end": None, "notes": None},
        frozenset({"status", "intent"}),  # a plan without a title keeps carebridge's (or gets one)
    ),
    "Goal": (
        Goal,
        fm.from_fhir_goal,
        {"description": None, "lifecycle_status": GOAL_LIFECYCLE, "achievement_status": GOAL_ACHIEVEMENT,
         "start_date": None, "target_measure": None, "target_due_date": None, "notes": None},
        frozenset({"description", "lifecycle_status"}),
    ),
    # A Task's status and business status move through its state machine (`handoffs`), not here.
    "Handoff": (Handoff, fm.from_fhir_task, {"notes": None}, frozenset()),
    "Referral": (
        Referral,
        fm.from_fhir_service_request,
        {"status": REFERRAL_STATUSES, "priority": PRIORITIES, "wanted_by": None, "notes": None},
        frozenset({"status", "priority"}),
    ),
}  # fmt: skip


IMPORTED_PLAN_TITLE = "Care plan from the EHR"


def _values(entity_type: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields of ``source``, checked against what carebridge can hold."""
    _, from_fhir, fields, required = EDITABLE[entity_type]
    data = from_fhir(source)
    values = {name: list(v) if isinstance(v := getattr(data, name), tuple) else v for name in fields}
    errors = {name: ["is required"] for name in required if values[name] in (None, "")}
    errors |= {
        name: [f"must be one of {', '.join(codes)}"]
        for name, codes in fields.items()
        if codes is not None and values[name] is not None and values[name] not in codes
    }
    if errors:
        raise Invalid(f"the partner's {entity_type} cannot be taken over", fields=errors)
    return values


def take_merged(session: Session, entity_type: str, entity_id: str, source: Mapping[str, Any], *, actor: str) -> Any:
    """Set the record's editable fields and ``source`` from ``source`` (the merged resource in
    carebridge's terms); a new version only when something differs."""
    values = _values(entity_type, source)
    with unit_of_work(session):
        record = get_or_404(session, EDITABLE[entity_type][0], entity_id)
        if isinstance(record, Handoff):
            values["notes"] = _handoff_notes(record.notes, values["notes"], source, actor)
        changes: dict[str, Any] = {
            k: v for k, v in values.items() if getattr(record, k) != v and not (k == "title" and v is None)
        }
        if record.source != source:
            changes["source"] = dict(source)
        if changes:
            apply_changes(session, record, changes, actor=actor)
        return record


def _handoff_notes(
    kept: Sequence[Mapping[str, str]], texts: Sequence[str], source: Mapping[str, Any], actor: str
) -> list[dict[str, str]]:
    """A handoff's notes for ``texts``: carebridge's own entries where the text is still there, a
    partner's new note with the time and author of its Annotation."""
    spare: dict[str, list[Mapping[str, str]]] = {}
    for note in kept:
        spare.setdefault(note["text"], []).append(note)
    annotations = {a.get("text"): a for a in source.get("note") or () if isinstance(a, Mapping)}
    notes: list[dict[str, str]] = []
    for text in texts:
        if spare.get(text):
            notes.append(dict(spare[text].pop(0)))
        else:
            annotation = annotations.get(text) or {}
            at = annotation.get("time") or clock.now().isoformat()
            notes.append({"at": str(at), "author": str(annotation.get("authorString") or actor), "text": text})
    return notes


def import_goal(session: Session, source: Mapping[str, Any], *, patient_id: str, partner_id: str, actor: str) -> Goal:
    """A partner's own Goal (in carebridge's terms) as a new carebridge goal of the patient."""
    values = _values("Goal", source)
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        goal = Goal(patient_id=patient_id, source=dict(source), origin_partner_id=partner_id, **values)
        return create(session, goal, actor=actor)  # type: ignore[no-any-return]


def import_care_plan(
    session: Session,
    source: Mapping[str, Any],
    *,
    patient_id: str,
    stay_id: str | None,
    goal_ids: Sequence[str],
    partner_id: str,
    actor: str,
) -> CasePlan:
    """A partner's own CarePlan (in carebridge's terms) as a new case plan of the patient, with the
    goals it names (already imported) attached to it."""
    values = _values("CasePlan", source)
    values["title"] = values["title"] or IMPORTED_PLAN_TITLE  # US Core does not require one
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        plan = CasePlan(
            patient_id=patient_id, stay_id=stay_id, categories=["assess-plan"], source=dict(source),
            origin_partner_id=partner_id, **values,
        )  # fmt: skip
        create(session, plan, actor=actor)
        for goal_id in goal_ids:
            goal = get_or_404(session, Goal, goal_id)
            if goal.patient_id == patient_id and goal.case_plan_id is None:
                apply_changes(session, goal, {"case_plan_id": plan.id}, actor=actor)
        return plan


def import_referral(
    session: Session,
    source: Mapping[str, Any],
    *,
    patient_id: str,
    stay_id: str | None,
    requester_org_id: str,
    partner_id: str,
    actor: str,
) -> Referral:
    """A partner's own ServiceRequest (in carebridge's terms) as a referral of the patient, requested
    by the partner's organisation. Its recipients are its Tasks (`import_handoff`); a performer
    carebridge does not know stays in ``source``. The goal it serves is kept when it is one of the
    patient's goals in carebridge (the partner's own goal, imported, or carebridge's)."""
    values = _values("Referral", source)
    data = fm.from_fhir_service_request(source)
    with unit_of_work(session):
        get_or_404(session, Patient, patient_id)
        get_or_404(session, Organization, requester_org_id)
        goal = session.get(Goal, data.goal_id) if data.goal_id else None
        referral = Referral(
            patient_id=patient_id, stay_id=stay_id, service=data.service_code, reason=data.reason,
            diagnoses=[diagnosis_stored(d) for d in data.diagnoses],
            goal_id=goal.id if goal is not None and goal.patient_id == patient_id else None,
            intent=data.intent or "order", requester_ref=f"Organization/{requester_org_id}",
            authored_on=data.authored_on or clock.now(), source=dict(source), origin_partner_id=partner_id, **values,
        )  # fmt: skip
        return create(session, referral, actor=actor)  # type: ignore[no-any-return]


def import_handoff(
    session: Session,
    source: Mapping[str, Any],
    *,
    referral: Referral,
    owner_org_id: str,
    requester_org_id: str,
    partner_id: str,
    actor: str,
) -> Handoff:
    """A partner's own Task (in carebridge's terms) on one of its referrals as a handoff, in the
    status the partner gives it: the partner's history is not replayed through the state machine,
    later moves are (`service.sync.reconcile`)."""
    data = fm.from_fhir_task(source)
    if data.status not in TASK_STATUSES:
        raise Invalid("the partner's Task cannot be taken over", fields={"status": [_one_of(TASK_STATUSES)]})
    if data.kind not in HANDOFF_KINDS:
        raise Invalid("the partner's Task cannot be taken over", fields={"kind": [_one_of(HANDOFF_KINDS)]})
    now = clock.now()
    with unit_of_work(session):
        for org_id in (owner_org_id, requester_org_id):
            get_or_404(session, Organization, org_id)
        handoff = Handoff(
            patient_id=referral.patient_id, stay_id=referral.stay_id, referral_id=referral.id, kind=data.kind,
            description=data.description, owner_org_id=owner_org_id, requester_org_id=requester_org_id,
            status=data.status, business_status=_text(data.business_status), status_reason=_text(data.status_reason),
            due_at=data.due_at, execution_start=data.execution_start, execution_end=data.execution_end,
            authored_on=data.authored_on or now, status_changed_at=data.last_modified or now,
            notes=_handoff_notes([], list(data.notes), source, actor), source=dict(source),
            origin_partner_id=partner_id,
        )  # fmt: skip
        handoff.events.append(HandoffEvent(at=now, actor=actor, from_status=None, to_status=data.status))
        return create(session, handoff, actor=actor)  # type: ignore[no-any-return]


def _one_of(codes: Sequence[str]) -> str:
    return f"must be one of {', '.join(codes)}"


def _text(concept: fm.CodeableConceptData | None) -> str | None:
    """A concept as the one line carebridge keeps (like a pulled edit, `service.sync.reconcile`)."""
    return (concept.text or concept.display or concept.code) if concept is not None else None
