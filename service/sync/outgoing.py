"""carebridge records as the FHIR JSON one partner receives.

The record becomes a `fhir_mappings` dataclass and then JSON (a record imported from a partner
starts from its `source`, so nothing the partner sent is lost). Two things are partner-specific:
- every resource carries carebridge's business identifier, which makes a create conditional
  (If-None-Exist) and lets a pulled resource find its record again;
- references to carebridge records the partner knows under its own id are rewritten to that id;
  any other reference becomes a logical reference by carebridge's identifier
  (https://hl7.org/fhir/R4/references.html#logical), never a literal reference the partner cannot resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import fhir_mappings as fm
from service.models import CasePlan, Goal, Handoff, PartnerLink, Referral
from service.sync.resource_types import ENTITY_TYPE, RESOURCE_TYPE, identifier_system

Json = dict[str, Any]


def _concept(text: str | None) -> fm.CodeableConceptData | None:
    return fm.CodeableConceptData(text=text) if text else None


def _handoff(h: Handoff) -> Json:
    return fm.to_fhir_task_json(
        fm.HandoffData(
            id=h.id,
            patient_id=h.patient_id,
            kind=h.kind,
            status=h.status,
            owner_ref=f"Organization/{h.owner_org_id}",
            requester_ref=f"Organization/{h.requester_org_id}",
            referral_id=h.referral_id,
            stay_id=h.stay_id,
            business_status=_concept(h.business_status),
            status_reason=_concept(h.status_reason),
            description=h.description,
            due_at=h.due_at,
            execution_start=h.execution_start,
            execution_end=h.execution_end,
            authored_on=h.authored_on,
            last_modified=h.updated_at,
            notes=tuple(note["text"] for note in h.notes),
            source=h.source,
        )
    )


def _referral(r: Referral) -> Json:
    return fm.to_fhir_service_request_json(
        fm.ReferralData(
            id=r.id,
            patient_id=r.patient_id,
            service_code=r.service,
            status=r.status,
            intent=r.intent,
            priority=r.priority,
            stay_id=r.stay_id,
            reason=r.reason,
            requester_ref=r.requester_ref,
            performer_refs=tuple(f"Organization/{h.owner_org_id}" for h in r.handoffs),
            wanted_by=r.wanted_by,
            authored_on=r.authored_on,
            notes=tuple(r.notes),
            source=r.source,
        )
    )


def _case_plan(p: CasePlan) -> Json:
    return fm.to_fhir_care_plan_json(
        fm.CarePlanData(
            id=p.id,
            patient_id=p.patient_id,
            status=p.status,
            intent=p.intent,
            title=p.title,
            description=p.description,
            period_start=p.period_start,
            period_end=p.period_end,
            author_ref=p.author_ref,
            addresses=tuple(fm.CodeableConceptData(**coding) for coding in p.addresses),
            goal_ids=tuple(g.id for g in p.goals),
            notes=tuple(p.notes),
            stay_id=p.stay_id,
            created=p.created_at,
            source=p.source,
        )
    )


def _goal(g: Goal) -> Json:
    return fm.to_fhir_goal_json(
        fm.GoalData(
            id=g.id,
            patient_id=g.patient_id,
            description=g.description,
            lifecycle_status=g.lifecycle_status,
            achievement_status=g.achievement_status,
            start_date=g.start_date,
            target_measure=g.target_measure,
            target_due_date=g.target_due_date,
            expressed_by_ref=g.expressed_by_ref,
            notes=tuple(g.notes),
            source=g.source,
        )
    )


RENDERERS: Mapping[str, tuple[type[Any], Callable[[Any], Json]]] = {
    "Handoff": (Handoff, _handoff),
    "Referral": (Referral, _referral),
    "CasePlan": (CasePlan, _case_plan),
    "Goal": (Goal, _goal),
}
PUSHABLE = frozenset(RESOURCE_TYPE[entity] for entity in RENDERERS)


def load(session: Session, entity_type: str, entity_id: str) -> Any | None:
    model, _ = RENDERERS[entity_type]
    return session.get(model, entity_id)


def resource_for_partner(session: Session, partner_id: str, entity_type: str, record: Any) -> Json:
    """The record as this partner receives it, without ``id`` and ``meta.versionId`` (the caller sets them)."""
    _, render = RENDERERS[entity_type]
    resource = render(record)
    resource.pop("id", None)
    resource.get("meta", {}).pop("versionId", None)
    with_identifier(resource, record.id)
    known = _partner_ids(session, partner_id, _referenced(resource))
    _rewrite_references(resource, known)
    return resource


def with_identifier(resource: Json, entity_id: str) -> None:
    system = identifier_system(resource["resourceType"])
    identifiers = [i for i in resource.get("identifier", []) if i.get("system") != system]
    resource["identifier"] = [*identifiers, {"system": system, "value": entity_id}]


def _referenced(node: Any) -> set[tuple[str, str]]:
    """Every literal ``Type/id`` reference in the resource whose type carebridge syncs."""
    found: set[tuple[str, str]] = set()
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref.count("/") == 1:
            found.add(tuple(ref.split("/")))  # type: ignore[arg-type]
        for value in node.values():
            found |= _referenced(value)
    elif isinstance(node, list):
        for item in node:
            found |= _referenced(item)
    return found


def _partner_ids(session: Session, partner_id: str, refs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    ids = [entity_id for rtype, entity_id in refs if rtype in ENTITY_TYPE]
    if not ids:
        return {}
    links = session.scalars(
        select(PartnerLink).where(PartnerLink.partner_id == partner_id, PartnerLink.entity_id.in_(ids))
    )
    return {(link.resource_type, link.entity_id): link.remote_id for link in links}


def _rewrite_references(node: Any, known: Mapping[tuple[str, str], str]) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite_references(item, known)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("reference")
    if isinstance(ref, str) and ref.count("/") == 1:
        rtype, entity_id = ref.split("/")
        if (rtype, entity_id) in known:
            node["reference"] = f"{rtype}/{known[rtype, entity_id]}"
        else:
            del node["reference"]
            node["identifier"] = {"system": identifier_system(rtype), "value": entity_id}
            node.setdefault("type", rtype)
        return
    for value in node.values():
        _rewrite_references(value, known)
