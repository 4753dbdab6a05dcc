"""Da Vinci Unsolicited Notifications (http://hl7.org/fhir/us/davinci-alerts/): admit, transfer
and discharge message Bundles from a hospital, applied to the stay.

A discharge records the discharge exactly as a pulled Encounter does (`record_discharge`, which
starts the follow-up handoffs); an admit opens the stay (`stays.admit`) or re-plans it when the
hospital repeats itself; a transfer moves the ward and bed. Each message ends in one use-case
call, so a refused message leaves nothing half-written. The Encounter is read with
`fhir_mappings.from_fhir_encounter`, the same mapping the EHR pull uses.

Who may send what: the sender is the caller's `AccessContext`, and every patient it touches goes
through the access policy (service.auth.policy: tenancy, and a `patient/` token's launch patient).
Each write needs its own SMART scope, checked before anything is written: `Encounter.u` to move
or discharge a stay, `Encounter.c` for an admit that opens one, and `Patient.c` as well when the
admit creates the patient.

- A message applies to an existing patient only when the sender may already see that patient,
  so a token for one patient cannot move another's stay, and a patient the sender may not see
  answers exactly like an unknown one.
- Which patient the message names is carebridge's one matching rule
  (service.usecases.patient_matching): an identifier in a system the sending client is registered
  as assigning (`carebridge clients add --identifier-system`, e.g. its hospital's MRN system), or
  naming a patient the sender may already see, and agreeing demographics. An identifier match
  alone never joins a record other organisations hold (a second hospital's admit carrying a payer
  member id would otherwise open a stay there, and with it the whole case to that hospital).
- Otherwise an admit creates a separate patient with the message's demographics and those of its
  identifiers no other patient holds, never merged automatically: the hospital waits for its
  answer and the stay must open now, so the duplicate is for a person to reconcile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import fhir_mappings as fm
from service.auth.context import AccessContext
from service.auth.policy import can_see, confined_to_patient
from service.models import Organization, Patient, Stay
from service.models.clients import PartnerClient
from service.usecases import access, discharge, patient_matching, patients, stays
from service.usecases.errors import Invalid, UseCaseError
from service.usecases.unit_of_work import unit_of_work

EVENT_SYSTEM = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
EVENTS = {"notification-admit": "admit", "notification-transfer": "transfer", "notification-discharge": "discharge"}
Json = Mapping[str, Any]


class BadMessage(UseCaseError):
    """A message carebridge cannot read (400), as opposed to one it understood and refused (422)."""

    status = 400
    code = "bad_message"


@dataclass(frozen=True)
class AdtMessage:
    message_id: str
    event: str  # admit | transfer | discharge
    event_code: str
    source_endpoint: str | None
    encounter_id: str
    encounter: fm.StayData
    patient: fm.PatientData
    patient_identifiers: tuple[tuple[str, str], ...]


def parse_message(bundle: Json) -> AdtMessage:
    """Read the message Bundle: MessageHeader first, its focus the Encounter, whose subject is in the Bundle
    (https://hl7.org/fhir/R4/messaging.html#content)."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "message":
        raise BadMessage("expected a Bundle of type 'message'")
    resources = [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e, Mapping)]
    if not resources or not isinstance(resources[0], Mapping) or resources[0].get("resourceType") != "MessageHeader":
        raise BadMessage("the first entry of a message must be its MessageHeader")
    header = resources[0]
    coding = header.get("eventCoding") or {}
    event = EVENTS.get(coding.get("code", "")) if coding.get("system") == EVENT_SYSTEM else None
    if event is None or not header.get("id"):
        raise BadMessage(f"carebridge accepts Da Vinci {', '.join(EVENTS)} messages with a MessageHeader id")
    focus = header.get("focus") or []
    encounter = _resolve(bundle, focus[0] if focus else None, "Encounter")
    patient = _resolve(bundle, encounter.get("subject"), "Patient")
    try:
        data = fm.from_fhir_encounter(encounter)
    except fm.MappingError as unusable:
        raise BadMessage(f"the Encounter cannot be read: {unusable}") from None
    try:
        person = fm.from_fhir_patient(patient)
    except fm.MappingError as unusable:
        raise BadMessage(f"the Patient cannot be read: {unusable}") from None
    identifiers = tuple(
        (str(i["system"]), str(i["value"]))
        for i in patient.get("identifier") or []
        if isinstance(i, Mapping) and i.get("system") and i.get("value")
    )
    if not identifiers:
        raise Invalid("the patient cannot be matched", fields={"Patient.identifier": ["needs a system and value"]})
    return AdtMessage(
        message_id=str(header["id"]),
        event=event,
        event_code=str(coding["code"]),
        source_endpoint=(header.get("source") or {}).get("endpoint"),
        encounter_id=str(encounter.get("id") or ""),
        encounter=data,
        patient=person,
        patient_identifiers=identifiers,
    )


def _resolve(bundle: Json, reference: Any, resource_type: str) -> Json:
    """The Bundle entry a reference points at, by fullUrl or by `Type/id`
    (https://hl7.org/fhir/R4/bundle.html#references)."""
    ref = reference.get("reference") if isinstance(reference, Mapping) else None
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        local = f"{resource.get('resourceType')}/{resource.get('id')}"
        full_url = entry.get("fullUrl") or ""
        if ref and (ref in (full_url, local) or full_url.endswith(f"/{ref}")):
            if resource.get("resourceType") != resource_type:
                raise BadMessage(f"{ref} is a {resource.get('resourceType')}, expected {resource_type}")
            return dict(resource)
    raise BadMessage(f"the message does not contain the {resource_type} it refers to ({ref or 'no reference'})")


def process(session: Session, message: AdtMessage, sender: AccessContext, *, actor: str) -> Stay:
    """Apply one message from `sender`; the sending hospital is the sender's organisation, else
    (a carebridge-operated client) the Encounter's serviceProvider when that names one. One unit of
    work: an admit refused after it registered the patient leaves no patient behind."""
    with unit_of_work(session):
        return _apply(session, message, sender, actor=actor)


def _apply(session: Session, message: AdtMessage, sender: AccessContext, *, actor: str) -> Stay:
    hospital = _hospital(session, sender.organization_id or message.encounter.hospital_org_id)
    data = message.encounter
    match = _match(session, message, sender)
    patient = match.patient or _patient_of_known_encounter(session, message, sender, hospital.id)
    if patient is None:
        if message.event != "admit":
            raise _unknown_patient()
        if data.admitted_at is None:
            raise Invalid("no stay is known for this Encounter", fields={"Encounter.period.start": ["is required"]})
        patient = _new_patient(session, message, match, sender, actor)
    stay = _stay_for(session, message, hospital.id, patient.id)
    if stay is not None and stay.patient_id != patient.id:
        raise Invalid("the Encounter belongs to another patient", fields={"Encounter.subject": ["does not match"]})
    if message.event == "discharge":
        if stay is None:
            raise Invalid("no stay is known for this Encounter", fields={"Encounter": ["admit it first"]})
        if data.discharged_at is None:
            raise Invalid("a discharge needs its time", fields={"Encounter.period.end": ["is required"]})
        access.require(sender, "Encounter", "u")
        discharge.record_discharge(
            session,
            stay.id,
            discharged_at=data.discharged_at,
            disposition=data.discharge_disposition or "other",
            actor=actor,
        )
        return stay
    if stay is None:
        if message.event == "transfer" or data.admitted_at is None:
            raise Invalid("no stay is known for this Encounter", fields={"Encounter.period.start": ["is required"]})
        access.require(sender, "Encounter", "c")
        return stays.admit(
            session,
            patient_id=patient.id,
            hospital_id=hospital.id,
            admitted_at=data.admitted_at,
            actor=actor,
            unit=data.unit,
            bed=data.bed,
            source_system=message.source_endpoint,
            source_id=message.encounter_id,
        )
    changes = {
        key: value for key, value in (("unit", data.unit), ("bed", data.bed)) if value and getattr(stay, key) != value
    }
    if not changes:
        return stay  # the hospital repeats itself: nothing to write
    access.require(sender, "Encounter", "u")
    return stays.update_stay(session, stay.id, changes, actor=actor)


def _stay_for(session: Session, message: AdtMessage, hospital_id: str, patient_id: str) -> Stay | None:
    """The stay this Encounter is: by the Encounter id carebridge keeps (as a pull or an earlier
    message stored it), else the patient's latest stay at the hospital when it is still open, or
    when a discharge is repeated (record_discharge then treats a repeat as a no-op)."""
    by_source = select(Stay).where(Stay.hospital_id == hospital_id, Stay.source_id == message.encounter_id)
    stay = session.scalar(by_source)
    if stay is not None:
        return stay
    latest = session.scalar(
        select(Stay)
        .where(Stay.hospital_id == hospital_id, Stay.patient_id == patient_id)
        .order_by(Stay.admitted_at.desc())
        .limit(1)
    )
    if latest is not None and (latest.status == "in-progress" or message.event == "discharge"):
        return latest
    return None


def _match(session: Session, message: AdtMessage, sender: AccessContext) -> patient_matching.Match:
    """The patient the message names by carebridge's matching rule (see the module's rules), kept
    within the sender's patient context."""
    client = session.get(PartnerClient, sender.client_id)
    trusted = set(client.identifier_systems.split()) if client is not None else set()
    person = message.patient
    found = patient_matching.match_patient(
        session,
        [{"system": system, "value": value} for system, value in message.patient_identifiers],
        {"family_name": person.family, "given_name": " ".join(person.given), "birth_date": person.birth_date},
        trusted_systems=trusted,
        sees=lambda patient: can_see(sender, "Patient", patient),
    )
    within_patient_context = replace(sender, organization_id=None)  # the patient context alone
    if found.patient is not None and not can_see(within_patient_context, "Patient", found.patient):
        return replace(found, patient=None)
    return found


def _patient_of_known_encounter(
    session: Session, message: AdtMessage, sender: AccessContext, hospital_id: str
) -> Patient | None:
    """The patient of the stay the sender's hospital already has for this Encounter id (a patient
    created by an earlier admit may have no identifier of the message's), if the sender may see it."""
    stay = session.scalar(select(Stay).where(Stay.hospital_id == hospital_id, Stay.source_id == message.encounter_id))
    patient = session.get(Patient, stay.patient_id) if stay is not None else None
    return patient if patient is not None and can_see(sender, "Patient", patient) else None


def _unknown_patient() -> Invalid:
    # The same answer whether no patient has the identifiers or the sender may not see the one who
    # has: a refusal must not tell the sender that a record exists.
    return Invalid("no carebridge patient has these identifiers", fields={"Patient.identifier": ["unknown patient"]})


def _new_patient(
    session: Session, message: AdtMessage, match: patient_matching.Match, sender: AccessContext, actor: str
) -> Patient:
    """A separate patient for an admit that names no patient the sender may update. Identifiers
    another patient holds are left off: the records are not joined."""
    if confined_to_patient(sender):
        # A `patient/` token acts for its launch patient only, never for a new one.
        raise _unknown_patient()
    # The admit creates both the patient and its stay: SMART scopes name each interaction
    # (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources).
    access.require(sender, "Patient", "c")
    access.require(sender, "Encounter", "c")
    wanted = [{"system": system, "value": value} for system, value in message.patient_identifiers]
    person = message.patient
    return patients.register_patient(
        session,
        family_name=person.family or "(no family name)",
        given_name=" ".join(person.given) or "(no given name)",
        birth_date=person.birth_date,
        gender=person.gender,
        identifiers=[{**i, "kind": "partner"} for i in patient_matching.without_held(wanted, match)],
        actor=actor,
    )


def _hospital(session: Session, org_id: str | None) -> Organization:
    org = session.get(Organization, org_id) if org_id else None
    if org is None or org.kind != "hospital":
        raise Invalid("the sending hospital is not known", fields={"Encounter.serviceProvider": ["not a hospital"]})
    return org
