"""Which carebridge patient a partner's Patient is, or why a person must decide.

The rule is carebridge's one patient-matching rule (service.usecases.patient_matching: trusted
identifier systems and agreeing demographics); this module adds what is the pull's own:
- the partner is trusted for `Partner.trusted_identifier_systems` (e.g. the hospital's own MRN
  system) and for its own Patient ids; a pull has no principal, so nothing matches by visibility;
- when the rule does not match (the trusted identifiers name several patients, the person
  disagrees, or another patient holds one of its identifiers) or the patient found is already
  linked to another Patient of this partner (one identifier, two people at the partner), the
  Patient goes to review (`PatientMatch`, `carebridge sync matches`) instead of writing anything:
  the pull is unattended and brings the Patient again each round, so it can wait for a person.
A Patient linked earlier (by a match, a review or its registration) is that patient: the link is
the identity, and later edits at the partner (a new name) are applied to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import Partner, PartnerLink, Patient, PatientMatch
from service.usecases import patient_matching


@dataclass(frozen=True)
class Match:
    """``patient`` to update, or None for a new one; ``review`` says why a person must decide instead."""

    patient: Patient | None = None
    review: str | None = None
    candidate_id: str | None = None  # the patient a review is about, when there is one


def own_system(partner: Partner) -> str:
    """The system of the identifier carebridge gives a partner's Patient id (incoming.partner_identifier)."""
    return f"{partner.fhir_base}/Patient"


def match_patient(
    session: Session, partner: Partner, identifiers: Sequence[Mapping[str, str]], fields: Mapping[str, Any]
) -> Match:
    trusted = {*partner.trusted_identifier_systems, own_system(partner)}
    found = patient_matching.match_patient(session, identifiers, fields, trusted_systems=trusted)
    if found.reason is not None:
        return Match(review=found.reason, candidate_id=found.candidate_id)
    if found.patient is None:
        if found.held_elsewhere:
            owners = set(found.held_elsewhere.values())
            only = next(iter(owners)) if len(owners) == 1 else None
            return Match(review="an identifier of a system this partner is not trusted for belongs to "
                         "another patient", candidate_id=only)  # fmt: skip
        return Match()
    candidate_id = found.patient.id
    if found.held_elsewhere:
        return Match(review="another of its identifiers belongs to a different patient", candidate_id=candidate_id)
    linked = session.scalar(
        select(PartnerLink.remote_id).where(
            PartnerLink.partner_id == partner.id, PartnerLink.entity_type == "Patient",
            PartnerLink.entity_id == candidate_id,
        )  # fmt: skip
    )
    if linked is not None:
        review = f"its identifier already belongs to the partner's Patient/{linked}"
        return Match(review=review, candidate_id=candidate_id)
    return Match(patient=found.patient)


def hold_for_review(
    session: Session, partner: Partner, resource: Mapping[str, Any], match: Match, version: str | None
) -> PatientMatch:
    """Keep the Patient in the review queue (once per partner Patient; a re-pull refreshes it)."""
    remote_id = str(resource["id"])
    row = session.scalar(
        select(PatientMatch).where(PatientMatch.partner_id == partner.id, PatientMatch.remote_id == remote_id)
    )
    if row is None:
        row = PatientMatch(partner_id=partner.id, remote_id=remote_id, state="open", created_at=clock.now())
        session.add(row)
    row.remote_json, row.remote_version = dict(resource), version
    row.patient_id, row.reason = match.candidate_id, match.review or ""
    return row
