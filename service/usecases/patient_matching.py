"""Which existing carebridge patient an incoming Patient is: one rule for every door that brings
patients in from outside (README "Patient identity"): a Da Vinci admit notification
(`$process-message`, service.usecases.adt_messages), a SMART EHR launch
(service.usecases.ehr_import) and the partner sync pull (service.sync.identity).

The rule:
1. An identifier may name an existing patient only when the sender is an authority for it: its
   system is one the sender is trusted for (an admit: the systems its client is registered as
   assigning, `carebridge clients add --identifier-system`; a launch: the EHR's own Patient ids,
   plus the systems it is trusted for as a sync partner; a pull: `partners add --trusted-system`
   and the partner's own Patient ids), or the patient is one the sender may already see by the
   access policy (service.auth.policy: the match then exposes nothing new). Any other identifier
   (another organisation's MRN, a payer member id) never matches: anyone can put someone else's
   value on a record, and a match would open that patient's whole case to the sender.
2. Those identifiers must name one patient, and the person must agree: family name, first given
   name and birth date, compared ignoring case and surrounding space where both sides have them.
3. Identifiers of the incoming Patient that another patient holds are never copied onto a record.

Anything else is no match. What happens then is decided per door, and documented there:
- admit and EHR launch: a separate patient (identifiers others hold left off). Someone is waiting
  (the hospital's ADT feed for its answer, a clinician in the browser for the case), and the stay
  must open now; the duplicate is for a person to reconcile.
- pull: the review queue (`PatientMatch`). The pull runs unattended and brings the same Patient
  again each round, so it can wait for a person's decision without losing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.models import Patient
from service.usecases.patients import owners_of


@dataclass(frozen=True)
class Match:
    """`patient` when the rule matched one; else `reason` says why a candidate was refused (None:
    nobody to match). `held_elsewhere` maps the incoming identifiers that a patient other than the
    match holds to that patient's id (rule 3)."""

    patient: Patient | None = None
    reason: str | None = None
    candidate_id: str | None = None
    held_elsewhere: Mapping[tuple[str, str], str] = field(default_factory=dict)


def match_patient(
    session: Session,
    identifiers: Sequence[Mapping[str, str]],
    person: Mapping[str, Any],
    *,
    trusted_systems: Collection[str],
    sees: Callable[[Patient], bool] | None = None,
) -> Match:
    """Apply the rule to an incoming Patient: `identifiers` as {"system", "value"}, `person` with
    family_name, given_name and birth_date; `sees` asks the access policy whether the sender may
    already see a patient (None: a sender with no principal, such as a pull)."""
    owners = owners_of(session, identifiers)
    candidates: set[str] = set()
    for (system, _), patient_id in owners.items():
        if system in trusted_systems or (sees is not None and sees(session.get_one(Patient, patient_id))):
            candidates.add(patient_id)
    if len(candidates) > 1:
        return Match(reason=f"its trusted identifiers belong to {len(candidates)} different patients",
                     held_elsewhere=owners)  # fmt: skip
    if not candidates:
        return Match(held_elsewhere=owners)
    candidate_id = next(iter(candidates))
    others = {key: pid for key, pid in owners.items() if pid != candidate_id}
    patient = session.get_one(Patient, candidate_id)
    differs = disagreements(patient, person)
    if differs:
        return Match(reason=f"{' and '.join(differs)} differ", candidate_id=candidate_id, held_elsewhere=owners)
    return Match(patient=patient, candidate_id=candidate_id, held_elsewhere=others)


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def _first(given: str | None) -> str:
    return (given or "").strip().split(" ")[0]


def disagreements(patient: Patient, person: Mapping[str, Any]) -> list[str]:
    """Which of family name, given name and birth date disagree, where both sides have them (the
    names of the checks, never the values: they end up in the review queue and in messages)."""
    found = []
    family = person.get("family_name")
    if patient.family_name and family and not _same(patient.family_name, family):
        found.append("family name")
    given = _first(person.get("given_name"))
    if patient.given_name and given and not _same(_first(patient.given_name), given):
        found.append("given name")
    born: date | None = person.get("birth_date")
    if patient.birth_date and born and patient.birth_date != born:
        found.append("birth date")
    return found


def without_held(identifiers: Sequence[Mapping[str, str]], match: Match) -> list[Mapping[str, str]]:
    """`identifiers` less those another patient holds (rule 3): what a separate patient may carry."""
    return [i for i in identifiers if (i["system"], i["value"]) not in match.held_elsewhere]
