"""Which carebridge patient a partner's Patient is, or why a person must decide.

The rule (README "Patient identity"), for a partner Patient carebridge has no link for yet:
1. Only identifiers of systems the partner is trusted for (`Partner.trusted_identifier_systems`,
   e.g. the hospital's own MRN system) and the partner's own resource id may match it to an
   existing patient. Other systems' identifiers are kept but never match: any sender can put a
   value of someone else's system on a record.
2. A match must agree on the person: family name, and the first given name and the birth date
   where both sides have them, compared ignoring case and surrounding space.
3. It goes to review (`PatientMatch`, `carebridge sync matches`) instead of writing anything when
   the trusted identifiers name several patients, when the match disagrees on the person, when the
   patient found is already linked to another Patient of this partner (one identifier, two
   people at the partner), or when any of its identifiers already belongs to another patient.
A Patient linked earlier (by a match, a review or its registration) is that patient: the link is
the identity, and later edits at the partner (a new name) are applied to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.models import Partner, PartnerLink, Patient, PatientMatch
from service.usecases.patients import owners_of


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
    owners = owners_of(session, identifiers)
    by_trusted = {pid for (system, _), pid in owners.items() if system in trusted}
    others = {pid for (system, _), pid in owners.items() if system not in trusted}
    if len(by_trusted) > 1:
        return Match(review=f"its trusted identifiers belong to {len(by_trusted)} different patients")
    if not by_trusted:
        if others:
            only = next(iter(others)) if len(others) == 1 else None
            return Match(review="an identifier of a system this partner is not trusted for belongs to "
                         "another patient", candidate_id=only)  # fmt: skip
        return Match()
    candidate_id = next(iter(by_trusted))
    if others - {candidate_id}:
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
    patient = session.get_one(Patient, candidate_id)
    differs = disagreements(patient, fields)
    if differs:
        return Match(review=f"{' and '.join(differs)} differ", candidate_id=candidate_id)
    return Match(patient=patient)


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def _first(given: str | None) -> str:
    return (given or "").split(" ")[0]


def disagreements(patient: Patient, fields: Mapping[str, Any]) -> list[str]:
    """Which of family name, given name and birth date disagree (names of the checks, not values)."""
    found = []
    if not _same(patient.family_name, fields.get("family_name")):
        found.append("family name")
    given = _first(fields.get("given_name"))
    if patient.given_name and given and not _same(_first(patient.given_name), given):
        found.append("given name")
    born: date | None = fields.get("birth_date")
    if patient.birth_date and born and patient.birth_date != born:
        found.append("birth date")
    return found


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
