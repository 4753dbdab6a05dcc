"""What ``carebridge sync status`` shows: per partner and type, watermark, push mode and the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Delivery, Partner, PatientMatch, SyncError, SyncWatermark
from service.models.partners import DELIVERY_STATES, SYNC_TYPES
from service.sync.capability import PushMode, push_mode


@dataclass(frozen=True)
class TypeStatus:
    resource_type: str
    pulled_until: str | None
    push: PushMode | None  # None: carebridge does not push this type to the partner
    deliveries: dict[str, int]  # state -> rows (plus "partner reads from carebridge")


@dataclass(frozen=True)
class PartnerStatus:
    partner: Partner
    types: list[TypeStatus]
    sync_errors: int  # partner resources (and pages) that do not apply now
    error_occurrences: int  # how often they failed, over all pulls since first seen
    open_matches: int  # partner Patients waiting for a match review


def partner_status(session: Session, partner: Partner) -> PartnerStatus:
    marks = {
        rtype: last_updated
        for rtype, last_updated in session.execute(
            select(SyncWatermark.resource_type, SyncWatermark.last_updated).where(
                SyncWatermark.partner_id == partner.id
            )
        )
    }
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.resource_type, Delivery.state, Delivery.result, func.count())
        .where(Delivery.partner_id == partner.id)
        .group_by(Delivery.resource_type, Delivery.state, Delivery.result)
    )
    for rtype, state, result, count in rows:
        bucket = counts.setdefault(rtype, dict.fromkeys(DELIVERY_STATES, 0))
        bucket[state] += count
        if result is not None and not result[0].isupper():  # results such as "created"; not error names
            bucket[result] = bucket.get(result, 0) + count
    types = [
        TypeStatus(
            resource_type=rtype,
            pulled_until=marks.get(rtype),
            push=push_mode(partner.capabilities, rtype) if rtype in partner.push_types else None,
            deliveries=counts.get(rtype, {}),
        )
        for rtype in SYNC_TYPES
        if rtype in partner.pull_types or rtype in partner.push_types
    ]
    errors, occurrences = session.execute(
        select(func.count(), func.coalesce(func.sum(SyncError.count), 0)).where(SyncError.partner_id == partner.id)
    ).one()
    matches = session.scalar(
        select(func.count()).where(PatientMatch.partner_id == partner.id, PatientMatch.state == "open")
    )
    return PartnerStatus(partner, types, int(errors), int(occurrences), int(matches or 0))
