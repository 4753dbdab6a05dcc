"""Bring carebridge's record and a partner's current resource together (DESIGN.md "Merging with partners").

`reconcile` merges three ways: the link's stored partner JSON is the base, carebridge's record
rendered for the partner is ours, the partner's current resource is theirs (`service.sync.merge`).
`absorb` makes carebridge's record take a clean merge: the fields it models, and the merged JSON
as its ``source`` so the partner's other elements go back with every later push. The caller then
stores theirs as the link's new base (`incoming.save_link`), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

import fhir_mappings as fm
from service.models import Handoff, Partner, PartnerLink
from service.sync.bounds import check_columns
from service.sync.merge import MergeResult, changed_elements, three_way
from service.sync.outgoing import in_carebridge_terms, resource_for_partner
from service.usecases import handoffs
from service.usecases.partner_versions import take_merged


def reconcile(
    session: Session, partner: Partner, link: PartnerLink, record: Any, theirs: Mapping[str, Any]
) -> MergeResult:
    ours = resource_for_partner(session, partner, link.entity_type, record)
    return three_way(link.remote_json or {}, ours, theirs)


def absorb(
    session: Session, partner: Partner, entity_type: str, entity_id: str, merged: Mapping[str, Any], *, actor: str
) -> None:
    """carebridge's record takes ``merged`` (commits, like every use case). A Task's status and
    business status move through the state machine, acting as the partner's organisation."""
    if entity_type == "Handoff":
        _move_task(session, partner, entity_id, merged, actor=actor)
    source = in_carebridge_terms(session, partner, merged)
    take_merged(session, entity_type, entity_id, source, actor=actor)


def _move_task(session: Session, partner: Partner, handoff_id: str, task: Mapping[str, Any], *, actor: str) -> None:
    handoff = session.get_one(Handoff, handoff_id)
    status, business_status = str(task.get("status")), _text(task.get("businessStatus"))
    check_columns(Handoff, {"business_status": business_status}, "Task")
    if status != handoff.status:
        handoffs.transition_handoff(
            session,
            handoff.id,
            status,
            actor=actor,
            reason=_text(task.get("statusReason")),
            business_status=business_status,
            acting_org_id=partner.organization_id,
            outcome=fm.task_outcome(task) if status == "completed" else None,
        )
    elif business_status != handoff.business_status:
        handoffs.set_business_status(session, handoff.id, business_status, actor=actor)


def _text(concept: Any) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding") or [{}]
    found = codings[0].get("display") or codings[0].get("code")
    return str(found) if found else None


def partner_has_ours(theirs: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    """Whether the partner's version already holds everything of the merge: nothing to push."""
    return not changed_elements(theirs, merged)
