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

from service.models import Partner, PartnerLink
from service.sync.merge import MergeResult, changed_elements, three_way
from service.sync.outgoing import in_carebridge_terms, resource_for_partner
from service.usecases.partner_versions import take_merged, takes_partner_edits


def reconcile(
    session: Session, partner: Partner, link: PartnerLink, record: Any, theirs: Mapping[str, Any]
) -> MergeResult:
    ours = resource_for_partner(session, partner, link.entity_type, record)
    return three_way(link.remote_json or {}, ours, theirs)


def absorb(session: Session, partner: Partner, link: PartnerLink, merged: Mapping[str, Any], *, actor: str) -> None:
    """carebridge's record takes ``merged`` (commits, like every use case)."""
    if takes_partner_edits(link.entity_type):
        source = in_carebridge_terms(session, partner, merged)
        take_merged(session, link.entity_type, link.entity_id, source, actor=actor)


def partner_has_ours(theirs: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    """Whether the partner's version already holds everything of the merge: nothing to push."""
    return not changed_elements(theirs, merged)
