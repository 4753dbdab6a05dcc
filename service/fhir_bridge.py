"""carebridge's rows as FHIR R4 JSON: ORM rows -> `fhir_mappings` dataclasses -> resource JSON.

`render(session, resource_type, rows, reader)` renders a page of rows of one type, loading the
related data the resources need with one query per relation (never one per row), and stamps
`meta.versionId` / `meta.lastUpdated` (https://hl7.org/fhir/R4/resource.html#Meta) so they agree
with the ETag and Last-Modified headers (`version_of`, `last_updated_of`). What a record says of
parties other than its reader is what the reader may read of them (`render`).

Versions: CasePlan, Goal, Referral and Handoff carry an optimistic-lock `version` column (the
number their use cases check). Patient and Stay have none; their version is the number of audit
entries written for them (every change goes through `usecases.changes`, which audits in the same
transaction), so it grows by one per change. A CareTeam is derived from the patient's care-team
members and is named by the patient's id.

Also here, because `fhir_mappings` does not cover them: searchset and history Bundles, and AuditEvent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

import fhir_mappings as fm
from fhir_mappings.datatypes import parse_reference
from fhir_mappings.domain import ScreeningData
from fhir_mappings.practitioner import US_NPI
from fhir_mappings.screening import (
    concern_as_decided,
    from_fhir_questionnaire_response,
    to_fhir_questionnaire_response_json,
)
from service.auth.context import AccessContext
from service.auth.policy import visible_rows
from service.models import (
    AuditRecord,
    CareTeamMember,
    CasePlan,
    Goal,
    Handoff,
    HealthConcern,
    Organization,
    Patient,
    Practitioner,
    Questionnaire,
    Referral,
    Screening,
    Stay,
    User,
)
from service.models.audit_events import AccessEvent
from service.models.documents import Document
from service.usecases.directory import Change, Place

Json = dict[str, Any]

# Resource types whose version is counted in the audit trail rather than kept in a column.
AUDIT_VERSIONED = {"Patient": "Patient", "Encounter": "Stay"}


def _concept(text: str | None) -> fm.CodeableConceptData | None:
    return fm.CodeableConceptData(text=text) if text else None


def diagnosis_concept(stored: Mapping[str, str]) -> fm.CodeableConceptData:
    """A referral's stored diagnosis: coded (with a partner's own text, if it sent one), or free text
    kept as its display (CodeableConcept.text)."""
    if stored.get("code"):
        return fm.CodeableConceptData(stored.get("system"), stored["code"], stored.get("display"), stored.get("text"))
    return fm.CodeableConceptData(text=stored.get("display"))


def diagnosis_stored(concept: fm.CodeableConceptData) -> dict[str, str]:
    """`diagnosis_concept` the other way, for a partner's reasonCode: kept whole, it goes back as sent."""
    if concept.code:
        coded = {"system": concept.system, "code": concept.code, "display": concept.display, "text": concept.text}
        return {k: v for k, v in coded.items() if v}
    return {"display": concept.text or concept.display or ""}


def _identifiers(rows: Iterable[Any]) -> tuple[fm.Identifier, ...]:
    return tuple(fm.Identifier(system=i.system, value=i.value) for i in rows)


def patient_data(row: Patient) -> fm.PatientData:
    return fm.PatientData(
        id=row.id,
        identifiers=_identifiers(row.identifiers),
        family=row.family_name,
        given=(row.given_name,) if row.given_name else (),
        birth_date=row.birth_date,
        gender=row.gender,
    )


def stay_data(row: Stay) -> fm.StayData:
    # US Core Encounter.identifier is must-support: carebridge's own business identifier (the one the
    # push sends, service.sync.resource_types), after the EHR's when the stay came from one.
    own = fm.business_identifier("encounter", row.id)
    partner = (fm.Identifier(row.source_system, row.source_id),) if row.source_system and row.source_id else ()
    identifiers = (*partner, own)
    return fm.StayData(
        id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        hospital_org_id=row.hospital_id,
        admitted_at=row.admitted_at,
        discharged_at=row.discharged_at,
        discharge_disposition=row.discharge_disposition,
        unit=row.unit,
        bed=row.bed,
        identifiers=identifiers,
    )


def care_plan_data(row: CasePlan, goal_ids: Sequence[str], activity_refs: Sequence[str]) -> fm.CarePlanData:
    return fm.CarePlanData(
        id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        intent=row.intent,
        title=row.title,
        description=row.description,
        period_start=row.period_start,
        period_end=row.period_end,
        author_ref=row.author_ref,
        addresses=(
            *(fm.CodeableConceptData(**coding) for coding in row.addresses),
            *(f"Condition/{concern}" for concern in row.concern_ids),
        ),
        goal_ids=tuple(goal_ids),
        care_team_ids=(row.patient_id,),
        activity_refs=tuple(activity_refs),
        notes=tuple(row.notes),
        stay_id=row.stay_id,
        created=row.created_at,
        source=row.source,
    )


def goal_data(row: Goal) -> fm.GoalData:
    return fm.GoalData(
        id=row.id,
        patient_id=row.patient_id,
        description=row.description,
        lifecycle_status=row.lifecycle_status,
        achievement_status=row.achievement_status,
        start_date=row.start_date,
        target_measure=row.target_measure,
        target_due_date=row.target_due_date,
        expressed_by_ref=row.expressed_by_ref,
        concern_ids=_concerns(row, "addresses"),
        notes=tuple(row.notes),
        source=row.source,
    )


def _concerns(row: Goal | Referral, element: str) -> tuple[str, ...]:
    """The concern a goal or referral serves; for one imported from a partner without one, the
    Conditions the partner's resource names, so they are sent back as they came."""
    if row.concern_id is not None:
        return (row.concern_id,)
    sent = (row.source or {}).get(element)
    refs = [parse_reference(item) for item in sent] if isinstance(sent, list) else []
    return tuple(ref.split("/", 1)[1] for ref in refs if ref is not None and ref.startswith("Condition/"))


def _as_sent(row: Referral | Handoff, element: str, ref: str) -> str | None:
    """``ref``, or None where a record imported from a partner keeps the partner's reference: one
    to a resource only the partner has (an organisation carebridge does not know; see
    `service.sync.incoming.import_owned`). carebridge holds a stand-in for it, and None reads the
    same as the kept element, so the renderer leaves it as the partner sent it (`codec`)."""
    kept = (row.source or {}).get(element) if row.origin_partner_id else None
    return None if isinstance(kept, Mapping) and parse_reference(kept) is None else ref


def _performers(row: Referral, recipients: Sequence[tuple[str, bool]]) -> tuple[str, ...]:
    """The recipients' organisations, from (organisation, whether the reader may read its handoff).
    A reader who may read only some of the handoffs (a facility: its own) reads only those
    recipients. For an imported referral, the ones its partner named that carebridge knows (with a
    handoff or not yet), then the other recipients, but not the partner's own organisation where it
    only stands in for an owner carebridge does not know."""
    if not all(seen for _, seen in recipients):
        return tuple(f"Organization/{org}" for org, seen in recipients if seen)
    own = [f"Organization/{org}" for org, _ in recipients]
    if not row.origin_partner_id:
        return tuple(own)
    sent = (row.source or {}).get("performer")
    named = [ref for item in sent if (ref := parse_reference(item))] if isinstance(sent, list) else []
    return tuple(dict.fromkeys(named + [ref for ref in own if ref != row.requester_ref]))


def referral_data(
    row: Referral, recipients: Sequence[tuple[str, bool]], document_ids: Sequence[str] = ()
) -> fm.ReferralData:
    return fm.ReferralData(
        id=row.id,
        patient_id=row.patient_id,
        service_code=row.service,
        status=row.status,
        intent=row.intent,
        priority=row.priority,
        stay_id=row.stay_id,
        goal_id=row.goal_id,
        reason=row.reason,
        diagnoses=tuple(diagnosis_concept(d) for d in row.diagnoses),
        concern_ids=_concerns(row, "reasonReference"),
        requester_ref=_as_sent(row, "requester", row.requester_ref),
        performer_refs=_performers(row, recipients),
        wanted_by=row.wanted_by,
        authored_on=row.authored_on,
        notes=tuple(row.notes),
        # A partner's own documents stay in `source` as absolute URLs (service.sync.outgoing), after which these come.
        document_ids=tuple(document_ids),
        source=row.source,
    )


def document_data(row: Document) -> fm.DocumentData:
    """A document as DocumentReference; its content is the Binary of the same id, named relative to
    the FHIR base (R4 Attachment.url: a relative URL "is interpreted in the same way as a resource
    reference"), so the API, the push and `$export` render it alike."""
    return fm.DocumentData(
        id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        type_code=row.type_code,
        content_type=row.content_type,
        content_url=f"Binary/{row.id}",
        title=row.title,
        size=row.size,
        sha1=row.sha1,
        created=row.created_at,
        author_ref=f"Organization/{row.author_org_id}",
        referral_ids=(row.referral_id,),
        stay_id=row.stay_id,
    )


def handoff_data(row: Handoff) -> fm.HandoffData:
    return fm.HandoffData(
        id=row.id,
        patient_id=row.patient_id,
        kind=row.kind,
        status=row.status,
        owner_ref=_as_sent(row, "owner", f"Organization/{row.owner_org_id}"),
        requester_ref=_as_sent(row, "requester", f"Organization/{row.requester_org_id}"),
        referral_id=row.referral_id,
        stay_id=row.stay_id,
        business_status=_concept(row.business_status),
        status_reason=_concept(row.status_reason),
        description=row.description,
        due_at=row.due_at,
        execution_start=row.execution_start,
        execution_end=row.execution_end,
        authored_on=row.authored_on,
        last_modified=row.status_changed_at,
        notes=tuple(note["text"] for note in row.notes),
        outcome=row.outcome,
        source=row.source,
    )


def screening_data(row: Screening) -> ScreeningData:
    """A screening as recorded, named and filed by carebridge: its id, patient, status and time
    are carebridge's, everything else is the response as it came (a partner's as sent)."""
    recorded = from_fhir_questionnaire_response(row.resource)
    return replace(
        recorded, id=row.id, patient_id=row.patient_id, status=row.status, authored=row.authored, source=row.resource
    )


def questionnaire_json(row: Questionnaire) -> Json:
    """An instrument as loaded (`usecases.questionnaires`), under carebridge's id."""
    return {**row.resource, "id": row.id}


def concern_json(row: HealthConcern) -> Json:
    return concern_as_decided(row.resource, row.verification_status)


def care_team_data(patient_id: str, members: Sequence[tuple[str, str]]) -> fm.CareTeamData:
    """members: (user id, care-team role) of each member. A member is a person acting for their
    organisation: their PractitionerRole (`practitioner_role_json`), which names both the
    Practitioner and the Organization, as US Core CareTeam.participant.member allows
    (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-careteam.html). No
    `onBehalfOf`: R4 ctm-1 allows it only where the member is a Practitioner."""
    return fm.CareTeamData(
        id=patient_id,
        patient_id=patient_id,
        members=tuple(fm.CareTeamMember(f"PractitionerRole/{user_id}", role) for user_id, role in members),
    )


def organization_json(row: Organization) -> Json:
    """An organisation as a US Core Organization."""
    kind = row.kind if row.kind in fm.codes.ORGANIZATION_KIND.concepts else None
    identifiers = tuple(fm.Identifier(system=i.get("system", ""), value=i.get("value", "")) for i in row.identifiers)
    data = fm.OrganizationData(
        id=row.id, name=row.name, kind=kind, identifiers=identifiers, address=address_of(row), phone=row.phone
    )
    return fm.to_fhir_organization_json(data)


def address_of(row: Organization) -> fm.AddressData | None:
    parts = (row.address_line, row.address_city, row.address_state, row.address_postal_code)
    return fm.AddressData(*parts) if any(parts) else None


def practitioner_json(row: Practitioner) -> Json:
    """A care-team member as a US Core Practitioner: carebridge keeps one display name, whose last
    word is taken as the family name; the NPI, when known, and carebridge's own identifier."""
    *given, family = row.name.split() or [row.name]
    npi = (fm.Identifier(system=US_NPI, value=row.npi),) if row.npi else ()
    data = fm.PractitionerData(
        id=row.id,
        identifiers=(*npi, fm.business_identifier("practitioner", row.id)),
        family=family,
        given=tuple(given),
    )
    return fm.to_fhir_practitioner_json(data)


def practitioner_role_json(user: User) -> Json:
    """A person's role at their organisation (their user account) as a US Core PractitionerRole,
    reached through the organisation's phone."""
    data = fm.PractitionerRoleData(
        id=user.id,
        practitioner_id=user.practitioner_id,
        organization_id=user.organization_id,
        role_code=user.role if user.role in fm.codes.USER_ROLE.concepts else None,
        specialty=fm.codes.ROLE_SPECIALTIES.get(user.role),
        phone=user.organization.phone,
    )
    return fm.to_fhir_practitioner_role_json(data)


def location_json(place: Place) -> Json:
    """A ward or bed as a US Core Location, with its hospital's address and phone."""
    data = fm.LocationData(
        id=place.id,
        name=place.name,
        physical_type="wa" if place.bed is None else "bd",
        managing_org_id=place.hospital.id,
        part_of_id=place.ward_id,
        address=address_of(place.hospital),
        phone=place.hospital.phone,
    )
    return fm.to_fhir_location_json(data)


def provenance_json(change: Change) -> Json:
    """An audited change as a US Core Provenance targeting the changed record. An author that is
    no party (carebridge's own jobs) is named by display only: US Core needs an agent.who."""
    record = change.record
    data = fm.ProvenanceData(
        id=record.id,
        target_refs=(f"{change.resource_type}/{record.entity_id}",),
        recorded=record.at,
        author_ref=change.author_ref or "",
        on_behalf_of_ref=change.on_behalf_of_ref,
        activity="CREATE" if record.action == "create" else "UPDATE",
    )
    resource = fm.to_fhir_provenance_json(data)
    if change.author_ref is None:
        resource["agent"][0]["who"] = {"display": "carebridge"}
    return resource


def _grouped(session: Session, key: Any, value: Any, ids: Sequence[str], *order: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for k, v in session.execute(select(key, value).where(key.in_(ids)).order_by(key, *order)):
        out[k].append(v)
    return out


def _recipients(
    session: Session, ids: Sequence[str], reader: AccessContext | None
) -> dict[str, list[tuple[str, bool]]]:
    """Per referral, (recipient organisation, whether `reader` may read its handoff), oldest first."""
    seen = visible_rows(reader, "Task", per_row=True) if reader is not None else true()
    query = select(Handoff.referral_id, Handoff.owner_org_id, seen).where(Handoff.referral_id.in_(ids))
    out: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for referral_id, owner, visible in session.execute(query.order_by(Handoff.referral_id, Handoff.authored_on)):
        out[str(referral_id)].append((owner, bool(visible)))
    return out


def audit_versions(session: Session, entity_type: str, ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(AuditRecord.entity_id, func.count())
        .where(AuditRecord.entity_type == entity_type, AuditRecord.entity_id.in_(ids))
        .group_by(AuditRecord.entity_id)
    )
    return {entity_id: count for entity_id, count in session.execute(query)}


def version_of(session: Session, resource_type: str, row: Any) -> int:
    if resource_type in AUDIT_VERSIONED:
        return max(1, audit_versions(session, AUDIT_VERSIONED[resource_type], [row.id]).get(row.id, 1))
    return int(getattr(row, "version", 1))


def last_updated_of(row: Any) -> dt.datetime:
    stamp: dt.datetime = row.updated_at
    return stamp


def stamp(resource: Json, version: int, updated: dt.datetime) -> Json:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = updated.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {**resource, "meta": meta}


def render(session: Session, resource_type: str, rows: Sequence[Any], reader: AccessContext | None) -> list[Json]:
    """FHIR JSON of `rows` (ORM rows of the model behind `resource_type`), in order, as `reader`
    may read them: a referral names as its performers the recipients of the handoffs (Tasks) the
    reader may read, so a facility learns neither which other facilities were sent the patient's
    referral nor references it could not resolve (the hospital that sent it, and the payer, read
    every recipient). None: carebridge's own whole record (its operators' CLI, and the renditions
    `service.usecases.renditions` keeps of types that read the same to every reader)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    if resource_type == "Patient":
        data: list[Any] = [fm.to_fhir_patient_json(patient_data(r)) for r in rows]
    elif resource_type == "Encounter":
        data = [fm.to_fhir_encounter_json(stay_data(r)) for r in rows]
    elif resource_type == "Goal":
        data = [fm.to_fhir_goal_json(goal_data(r)) for r in rows]
    elif resource_type == "Task":
        data = [fm.to_fhir_task_json(handoff_data(r)) for r in rows]
    elif resource_type == "ServiceRequest":
        recipients = _recipients(session, ids, reader)
        documents = _grouped(session, Document.referral_id, Document.id, ids, Document.created_at, Document.id)
        data = [
            fm.to_fhir_service_request_json(referral_data(r, recipients.get(r.id, []), documents.get(r.id, [])))
            for r in rows
        ]
    elif resource_type == "DocumentReference":
        data = [fm.to_fhir_document_reference_json(document_data(r)) for r in rows]
    elif resource_type == "CarePlan":
        goals = _grouped(session, Goal.case_plan_id, Goal.id, ids, Goal.created_at)
        referrals = _grouped(session, Referral.case_plan_id, Referral.id, ids, Referral.authored_on)
        data = [
            fm.to_fhir_care_plan_json(
                care_plan_data(r, goals.get(r.id, []), [f"ServiceRequest/{x}" for x in referrals.get(r.id, [])])
            )
            for r in rows
        ]
    elif resource_type == "CareTeam":
        members = _care_team_members(session, ids)
        data = [fm.to_fhir_care_team_json(care_team_data(r.id, members.get(r.id, []))) for r in rows]
    elif resource_type == "QuestionnaireResponse":
        data = [to_fhir_questionnaire_response_json(screening_data(r)) for r in rows]
    elif resource_type == "Observation":
        data = [dict(r.resource) for r in rows]  # derived once, when the screening was recorded
    elif resource_type == "Condition":
        data = [concern_json(r) for r in rows]
    else:
        raise ValueError(f"carebridge does not render {resource_type}")
    versions = audit_versions(session, AUDIT_VERSIONED[resource_type], ids) if resource_type in AUDIT_VERSIONED else {}
    return [
        stamp(resource, versions.get(row.id, 1) if versions else int(getattr(row, "version", 1)), row.updated_at)
        for resource, row in zip(data, rows, strict=True)
    ]


def _care_team_members(session: Session, patient_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    query = (
        select(CareTeamMember.patient_id, CareTeamMember.user_id, CareTeamMember.role)
        .where(CareTeamMember.patient_id.in_(patient_ids))
        .order_by(CareTeamMember.patient_id, CareTeamMember.role, CareTeamMember.user_id)
    )
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for patient_id, user_id, role in session.execute(query):
        out[patient_id].append((user_id, role))
    return out


def searchset(
    matches: Sequence[Json],
    included: Sequence[Json],
    *,
    base_url: str,
    self_link: str,
    next_link: str | None,
    total: int | None,
) -> Json:
    """A `searchset` Bundle (https://hl7.org/fhir/R4/bundle.html#searchset): matches, then includes."""

    def entry(resource: Mapping[str, Any], mode: str) -> Json:
        return {
            "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": mode},
        }

    links = [{"relation": "self", "url": self_link}]
    if next_link is not None:
        links.append({"relation": "next", "url": next_link})
    bundle: Json = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    entries = [entry(r, "match") for r in matches] + [entry(r, "include") for r in included]
    if entries:  # FHIR JSON has no empty arrays (https://hl7.org/fhir/R4/json.html)
        bundle["entry"] = entries
    return bundle


def history_bundle(
    resources: Sequence[Json], *, base_url: str, self_link: str, next_link: str | None, total: int | None
) -> Json:
    """A `history` Bundle (https://hl7.org/fhir/R4/http.html#history): versions newest first, each
    with the request that made it (version 1 a create, later ones updates) and its ETag."""

    def entry(resource: Mapping[str, Any]) -> Json:
        meta = resource["meta"]
        first = meta["versionId"] == "1"
        path = f"{resource['resourceType']}/{resource['id']}"
        return {
            "fullUrl": f"{base_url}/{path}",
            "resource": resource,
            "request": {"method": "POST" if first else "PUT", "url": resource["resourceType"] if first else path},
            "response": {
                "status": "201 Created" if first else "200 OK",
                "etag": f'W/"{meta["versionId"]}"',
                "lastModified": meta["lastUpdated"],
            },
        }

    links = [{"relation": "self", "url": self_link}]
    if next_link is not None:
        links.append({"relation": "next", "url": next_link})
    bundle: Json = {"resourceType": "Bundle", "type": "history"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    if resources:  # FHIR JSON has no empty arrays (https://hl7.org/fhir/R4/json.html)
        bundle["entry"] = [entry(r) for r in resources]
    return bundle


_REST = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"


def audit_event_json(event: AccessEvent, *, base_url: str) -> Json:
    """An AccessEvent as AuditEvent (https://hl7.org/fhir/R4/auditevent.html), no patient data but ids."""
    entities: list[Json] = []
    if event.patient_id:
        entities.append(
            {
                "what": {"reference": f"Patient/{event.patient_id}"},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
            }
        )
    if event.resource_type:
        what = f"{event.resource_type}/{event.resource_id}" if event.resource_id else event.resource_type
        entity: Json = {"what": {"reference": what} if event.resource_id else {"display": what}}
        if event.query:
            entity["description"] = event.query
        entities.append(entity)
    elif event.query:  # a refused web page: the request is all there is to name
        entities.append({"what": {"display": "request"}, "description": event.query})
    agent: Json = {
        "type": {"text": "client"},
        "who": {"identifier": {"system": f"{base_url}/clients", "value": event.client_id}},
        "altId": event.subject,
        "requestor": True,
    }
    if event.organization_id:
        agent["who"]["display"] = f"on behalf of Organization/{event.organization_id}"
    resource: Json = {
        "resourceType": "AuditEvent",
        "id": event.id,
        "type": {"system": _REST, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": _RESTFUL_INTERACTION, "code": event.interaction}],
        "action": event.action,
        "recorded": event.recorded.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "outcome": event.outcome,
        "agent": [agent],
        "source": {"observer": {"display": "carebridge FHIR API"}},
        "entity": entities,
    }
    if event.description:
        resource["outcomeDesc"] = event.description
    return resource
