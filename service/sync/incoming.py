"""Apply one pulled resource to carebridge, idempotently, through the use cases.

A resource is found again by the partner's id (its `PartnerLink`) or, failing that, by business
identifiers (patient identifiers, carebridge's own identifier on resources carebridge pushed, the
Encounter id kept on the stay). Nothing is written when the partner's version is the one already
seen, or when no field carebridge keeps has changed: a page fetched twice makes no new versions
and no new events. The partner's JSON is kept on the link (and in the record's ``source``
where the record has one), so nothing it sent is lost.

Each function returns what happened: "created", "updated", "unchanged", "observed", "ignored" or
"review" (a Patient held for a person, see `identity`); use-case errors (an illegal Task move) and
`Refused` (a value longer than carebridge keeps) propagate for the caller to record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import fhir_mappings as fm
from service import clock
from service.db import table_of
from service.models import (
    Goal,
    Handoff,
    Organization,
    Partner,
    PartnerLink,
    Patient,
    PatientIdentifier,
    Referral,
    Stay,
)
from service.sync import identity
from service.sync.bounds import check_columns, check_resource
from service.sync.errors import Refused
from service.sync.outgoing import in_carebridge_terms, load
from service.sync.reconcile import absorb, partner_has_ours, reconcile
from service.sync.resource_types import ENTITY_TYPE, carebridge_id
from service.usecases import discharge, partner_versions, patients, stays

Json = Mapping[str, Any]
Fetch = Callable[[str, str], dict[str, Any]]  # (resource type, id) -> the partner's resource
# https://hl7.org/fhir/R4/v3/ActEncounterCode/vs.html: IMP = inpatient encounter.
INPATIENT = "IMP"


@dataclass(frozen=True)
class Incoming:
    partner: Partner
    fetch: Fetch

    @property
    def actor(self) -> str:
        return f"partner:{self.partner.name}"


def remote_version(resource: Json) -> str | None:
    version = (resource.get("meta") or {}).get("versionId")
    return str(version) if version is not None else None


def find_link(session: Session, partner_id: str, resource_type: str, remote_id: str) -> PartnerLink | None:
    return session.scalar(
        select(PartnerLink).where(
            PartnerLink.partner_id == partner_id,
            PartnerLink.resource_type == resource_type,
            PartnerLink.remote_id == remote_id,
        )
    )


def link_of(session: Session, partner_id: str, entity_type: str, entity_id: str) -> PartnerLink | None:
    return session.scalar(
        select(PartnerLink).where(
            PartnerLink.partner_id == partner_id,
            PartnerLink.entity_type == entity_type,
            PartnerLink.entity_id == entity_id,
        )
    )


def save_link(
    session: Session,
    partner_id: str,
    entity_id: str,
    resource: Json,
    *,
    synced_version: int | None = None,
    link: PartnerLink | None = None,
) -> PartnerLink:
    """Record that the partner's ``resource`` (as returned or read) stands for carebridge's record."""
    resource_type = str(resource["resourceType"])
    if link is None:
        link = link_of(session, partner_id, ENTITY_TYPE[resource_type], entity_id)
    if link is None:
        link = PartnerLink(
            partner_id=partner_id,
            entity_type=ENTITY_TYPE[resource_type],
            entity_id=entity_id,
            resource_type=resource_type,
        )
        session.add(link)
    for key, value in link_values(resource, clock.now()).items():
        setattr(link, key, value)
    if synced_version is not None:
        link.synced_version = synced_version
    return link


def link_values(resource: Json, now: datetime) -> dict[str, Any]:
    """The columns of a link that record the partner's ``resource``."""
    return {
        "remote_id": str(resource["id"]),
        "remote_version": remote_version(resource),
        "remote_json": dict(resource),
        "updated_at": now,
    }


def _unchanged(link: PartnerLink | None, resource: Json) -> bool:
    return link is not None and link.remote_version is not None and link.remote_version == remote_version(resource)


def partner_identifier(partner: Partner, resource_type: str, remote_id: str) -> dict[str, str]:
    """The partner's resource id as an identifier, so a record is found again even without a link."""
    return {"kind": "partner", "system": f"{partner.fhir_base}/{resource_type}", "value": remote_id}


# --- Patient ---------------------------------------------------------------------------------------


def upsert_patient(session: Session, ctx: Incoming, resource: Json) -> tuple[str, Patient | None]:
    """The patient for the partner's Patient: its link, else a match by `identity.match_patient`,
    else a new one. No patient ("review") when the match is held for a person to decide."""
    link = find_link(session, ctx.partner.id, "Patient", str(resource["id"]))
    if link is not None and _unchanged(link, resource):
        return "unchanged", session.get_one(Patient, link.entity_id)
    identifiers, fields = patient_fields(resource, ctx)
    if link is not None:
        patient = session.get(Patient, link.entity_id)
    else:
        match = identity.match_patient(session, ctx.partner, identifiers, fields)
        if match.review is not None:
            identity.hold_for_review(session, ctx.partner, resource, match, remote_version(resource))
            return "review", None
        patient = match.patient
    if patient is None:
        patient = patients.register_patient(session, actor=ctx.actor, identifiers=identifiers, **fields)
        outcome = "created"
    else:
        outcome = update_patient_fields(session, ctx, patient, fields)
    save_link(session, ctx.partner.id, patient.id, resource, link=link)
    return outcome, patient


def update_patient_fields(session: Session, ctx: Incoming, patient: Patient, fields: Mapping[str, Any]) -> str:
    changes = {key: value for key, value in fields.items() if getattr(patient, key) != value}
    if changes:
        patients.update_patient(session, patient.id, changes, actor=ctx.actor)
    return "updated" if changes else "unchanged"


def patient_fields(resource: Json, ctx: Incoming) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The identifiers (the partner's, plus its resource id as one) and the patient fields of `resource`,
    refused (`Refused`) when one is longer than carebridge keeps."""
    data = fm.from_fhir_patient(resource)
    own = partner_identifier(ctx.partner, "Patient", str(resource["id"]))
    identifiers = [{"kind": "partner", "system": i.system, "value": i.value} for i in data.identifiers] + [own]
    fields: dict[str, Any] = {
        "family_name": data.family or "",
        "given_name": " ".join(data.given),
        "birth_date": data.birth_date,
        "gender": data.gender,
        # A payer's patients are its members (the payer's tenant boundary, service.auth.policy).
        "payer_id": ctx.partner.organization_id if ctx.partner.kind == "payer" else None,
    }
    check_columns(Patient, fields, "Patient")
    for identifier in identifiers:
        check_columns(PatientIdentifier, identifier, "Patient.identifier")
    return identifiers, fields


def upsert_patients(session: Session, ctx: Incoming, resources: Sequence[Json]) -> tuple[list[str], list[Json]]:
    """`upsert_patient` for a page of Patients, set-based where it safely can be: the page's links
    are read with one query, unchanged ones are skipped, and the Patients new to carebridge (no
    link, no identifier another patient has, none shared within the page) are registered together
    with their links. Returns the outcomes of those, and the resources left for `upsert_patient`
    one at a time: changed ones, matches by identifier, ones that do not map."""
    remote_ids = [str(r["id"]) for r in resources]
    links = {
        link.remote_id: link
        for link in session.scalars(
            select(PartnerLink).where(
                PartnerLink.partner_id == ctx.partner.id,
                PartnerLink.resource_type == "Patient",
                PartnerLink.remote_id.in_(remote_ids),
            )
        )
    }
    outcomes: list[str] = []
    rest: list[Json] = []
    new: list[tuple[Json, list[dict[str, str]], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for resource in resources:
        link = links.get(str(resource["id"]))
        if link is not None and _unchanged(link, resource):
            outcomes.append("unchanged")
            continue
        if link is not None:
            rest.append(resource)
            continue
        try:
            identifiers, fields = patient_fields(resource, ctx)
        except (fm.MappingError, Refused):
            rest.append(resource)  # refused one at a time, and recorded as a sync error there
            continue
        keys = {(i["system"], i["value"]) for i in identifiers}
        if keys & seen:  # the same patient twice in the page: the second one updates the first
            rest.append(resource)
        else:
            seen |= keys
            new.append((resource, identifiers, fields))
    taken = patients.owners_of(session, [i for _, identifiers, _ in new for i in identifiers])
    known = [any((i["system"], i["value"]) in taken for i in identifiers) for _, identifiers, _ in new]
    rest += [resource for (resource, _, _), is_known in zip(new, known, strict=True) if is_known]
    new = [n for n, is_known in zip(new, known, strict=True) if not is_known]
    if new:
        records = [{**fields, "identifiers": identifiers} for _, identifiers, fields in new]
        ids = patients.register_patients(session, records, actor=ctx.actor, owners=taken)
        link_rows = [
            {"partner_id": ctx.partner.id, "entity_type": "Patient", "entity_id": patient_id,
             "resource_type": "Patient", **link_values(resource, clock.now())}
            for patient_id, (resource, _, _) in zip(ids, new, strict=True)
        ]  # fmt: skip
        session.execute(insert(table_of(PartnerLink)), link_rows)
        outcomes += ["created"] * len(new)
    return outcomes, rest


def _known_patient(session: Session, ctx: Incoming, remote_patient_id: str) -> Patient:
    """The carebridge patient for the partner's Patient id, pulling that Patient when it is new."""
    link = find_link(session, ctx.partner.id, "Patient", remote_patient_id)
    if link is not None:
        return session.get_one(Patient, link.entity_id)
    resource = ctx.fetch("Patient", remote_patient_id)  # a 404 (a dangling reference) is recorded by the pull
    check_resource(resource)
    patient = upsert_patient(session, ctx, resource)[1]
    if patient is None:
        raise Refused(f"its subject Patient/{remote_patient_id} waits for a match review (carebridge sync matches)")
    return patient


# --- Encounter -------------------------------------------------------------------------------------


def upsert_encounter(session: Session, ctx: Incoming, resource: Json) -> str:
    """An inpatient Encounter opens or re-plans the stay; finished with a disposition, it discharges it."""
    if (resource.get("class") or {}).get("code") != INPATIENT:
        return "ignored"
    remote_id = str(resource["id"])
    link = find_link(session, ctx.partner.id, "Encounter", remote_id)
    if _unchanged(link, resource):
        return "unchanged"
    data = fm.from_fhir_encounter(resource)
    if data.patient_id is None or data.admitted_at is None:
        raise fm.MappingError("an inpatient Encounter needs subject Patient/id and period.start")
    check_columns(Stay, {"unit": data.unit, "bed": data.bed}, "Encounter")
    stay = session.get(Stay, link.entity_id) if link is not None else _stay_by_source(session, ctx, remote_id)
    outcome = "unchanged"
    if stay is None:
        patient = _known_patient(session, ctx, data.patient_id)
        stay = stays.admit(
            session,
            patient_id=patient.id,
            hospital_id=ctx.partner.organization_id,
            admitted_at=data.admitted_at,
            actor=ctx.actor,
            unit=data.unit,
            bed=data.bed,
            source_system=ctx.partner.fhir_base,
            source_id=remote_id,
        )
        outcome = "created"
    elif stay.status == "in-progress":
        changes = {key: value for key, value in (("unit", data.unit), ("bed", data.bed)) if getattr(stay, key) != value}
        if changes:
            stays.update_stay(session, stay.id, changes, actor=ctx.actor)
            outcome = "updated"
    if data.status == "finished" and data.discharged_at and data.discharge_disposition and stay.status != "finished":
        discharge.record_discharge(
            session,
            stay.id,
            discharged_at=data.discharged_at,
            disposition=data.discharge_disposition,
            actor=ctx.actor,
        )
        outcome = "updated" if outcome == "unchanged" else outcome
    save_link(session, ctx.partner.id, stay.id, resource, link=link)
    return outcome


def _stay_by_source(session: Session, ctx: Incoming, remote_id: str) -> Stay | None:
    return session.scalar(select(Stay).where(Stay.source_system == ctx.partner.fhir_base, Stay.source_id == remote_id))


# --- Task ------------------------------------------------------------------------------------------


def upsert_task(session: Session, ctx: Incoming, resource: Json) -> str:
    """A partner's edit of a carebridge handoff (a SNF accepts, declines, adds a note...) is merged
    three ways like a plan's (`merge_pulled`); its moves go through the state machine.

    The partner acts as its organisation, so the Gravity SDOH party rules apply; a move the state
    machine or those rules refuse raises (the caller records it as a sync error, not applied).
    """
    link = find_link(session, ctx.partner.id, "Task", str(resource["id"]))
    if _unchanged(link, resource):
        return "unchanged"
    handoff_id = link.entity_id if link is not None else carebridge_id(dict(resource))
    if handoff_id is None:
        return import_owned(session, ctx, resource)  # the partner's own work
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return "ignored"
    in_step = link is not None and link.synced_version == handoff.version
    merged: Json = resource
    if link is not None and link.remote_json:
        result = reconcile(session, ctx.partner, link, handoff, resource)
        if not result.clean:
            return "observed"  # both sides changed one element: the next push records the conflict
        merged = result.merged
    version = handoff.version
    absorb(session, ctx.partner, "Handoff", handoff.id, merged, actor=ctx.actor)
    # When the partner had carebridge's latest version before its edit, it now has the result
    # too: no echo is pushed back. Otherwise carebridge's own pending changes still go out.
    synced = handoff.version if in_step else None
    save_link(session, ctx.partner.id, handoff.id, resource, link=link, synced_version=synced)
    return "updated" if handoff.version != version else "unchanged"


# --- CarePlan, Goal, ServiceRequest ----------------------------------------------------------------


def merge_pulled(session: Session, ctx: Incoming, resource: Json) -> str:
    """A partner's edit of a plan, goal or referral it shares with carebridge is merged three ways
    (`service.sync.reconcile`): carebridge's record takes the partner's changes and the pulled
    version becomes the merge base, so the next push neither erases nor re-conflicts on them. When
    both sides changed one element, nothing is taken: the next push meets the partner's version
    (If-Match fails) and records the conflict for a person."""
    link = find_link(session, ctx.partner.id, str(resource["resourceType"]), str(resource["id"]))
    if link is None:
        return import_owned(session, ctx, resource)
    if _unchanged(link, resource):
        return "unchanged"
    record = load(session, link.entity_type, link.entity_id)
    if record is None:
        return "ignored"
    result = reconcile(session, ctx.partner, link, record, resource)
    if not result.clean:
        return "observed"
    absorb(session, ctx.partner, link.entity_type, link.entity_id, result.merged, actor=ctx.actor)
    synced = getattr(record, "version", None) if partner_has_ours(resource, result.merged) else None
    save_link(session, ctx.partner.id, record.id, resource, link=link, synced_version=synced)
    return "updated"


def import_owned(session: Session, ctx: Incoming, resource: Json) -> str:
    """The EHR's own CarePlan, Goal, ServiceRequest or Task (no link, not carrying carebridge's
    identifier) becomes a carebridge record of the patient, marked as imported from this partner
    and linked to the resource, so a re-pull finds it and edits on either side merge. The partner
    already has it: nothing is pushed back to it as new (``synced_version``). A resource carrying
    carebridge's identifier is carebridge's own record whose link was lost: the next push finds it
    again (If-None-Exist) and brings it up to date. A Task is imported only as the work on a
    ServiceRequest (its ``focus``, imported first when new): a handoff belongs to a referral."""
    kind = str(resource["resourceType"])
    if kind not in IMPORTERS or carebridge_id(dict(resource)) is not None:
        return "ignored"
    record = IMPORTERS[kind](session, ctx, resource)
    if record is None:
        return "ignored"
    save_link(session, ctx.partner.id, record.id, resource, synced_version=record.version)
    return "created"


def _import_goal(session: Session, ctx: Incoming, resource: Json) -> Goal:
    data = fm.from_fhir_goal(resource)
    patient = _subject(session, ctx, "Goal", data.patient_id)
    source = in_carebridge_terms(session, ctx.partner, resource)
    return partner_versions.import_goal(
        session, source, patient_id=patient.id, partner_id=ctx.partner.id, actor=ctx.actor
    )


def _import_care_plan(session: Session, ctx: Incoming, resource: Json) -> Any:
    data = fm.from_fhir_care_plan(resource)
    patient = _subject(session, ctx, "CarePlan", data.patient_id)
    source = in_carebridge_terms(session, ctx.partner, resource)
    goals = [link for ref in data.goal_ids if (link := find_link(session, ctx.partner.id, "Goal", ref))]
    plan = partner_versions.import_care_plan(
        session, source, patient_id=patient.id, stay_id=_stay_of(session, ctx, patient.id, data.stay_id),
        goal_ids=[link.entity_id for link in goals], partner_id=ctx.partner.id, actor=ctx.actor,
    )  # fmt: skip
    for link in goals:  # attaching a goal to the plan changes nothing the partner holds
        link.synced_version = session.get_one(Goal, link.entity_id).version
    return plan


def _import_referral(session: Session, ctx: Incoming, resource: Json) -> Referral:
    """The EHR's ServiceRequest as a referral the EHR's organisation requested. Performers are
    mapped to carebridge organisations by identifier where it can (`_map_organizations`); the
    others stay in the referral's source as the partner sent them."""
    data = fm.from_fhir_service_request(resource)
    patient = _subject(session, ctx, "ServiceRequest", data.patient_id)
    check_columns(Referral, {"reason": data.reason}, "ServiceRequest")
    source = in_carebridge_terms(session, ctx.partner, resource)
    _map_organizations(session, source.get("performer") or [])
    return partner_versions.import_referral(
        session, source, patient_id=patient.id, stay_id=_stay_of(session, ctx, patient.id, data.stay_id),
        requester_org_id=ctx.partner.organization_id, partner_id=ctx.partner.id, actor=ctx.actor,
    )  # fmt: skip


def _import_task(session: Session, ctx: Incoming, resource: Json) -> Handoff | None:
    """The EHR's Task on a ServiceRequest as a handoff of that referral. Its owner (and requester)
    is the carebridge organisation with the identifier the reference carries; when none is known,
    the partner's organisation holds the handoff in carebridge and the partner's reference (shown
    by its display text) stays in the source and goes back unchanged."""
    data = fm.from_fhir_task(resource)
    if data.referral_id is None:
        return None  # not work on a referral: the EHR's own business
    referral = _known_referral(session, ctx, data.referral_id)
    if referral is None:
        return None
    check_columns(Handoff, {"business_status": data.business_status and data.business_status.text}, "Task")
    source = in_carebridge_terms(session, ctx.partner, resource)
    owner, requester = _map_organizations(session, [source.get("owner"), source.get("requester")])
    return partner_versions.import_handoff(
        session, source, referral=referral, owner_org_id=owner or ctx.partner.organization_id,
        requester_org_id=requester or ctx.partner.organization_id, partner_id=ctx.partner.id, actor=ctx.actor,
    )  # fmt: skip


IMPORTERS: Mapping[str, Callable[[Session, Incoming, Json], Any]] = {
    "Goal": _import_goal,
    "CarePlan": _import_care_plan,
    "ServiceRequest": _import_referral,
    "Task": _import_task,
}


def _subject(session: Session, ctx: Incoming, kind: str, remote_patient_id: str | None) -> Patient:
    if remote_patient_id is None:
        raise fm.MappingError(f"a {kind} needs subject Patient/id to be imported")
    return _known_patient(session, ctx, remote_patient_id)


def _known_referral(session: Session, ctx: Incoming, remote_id: str) -> Referral | None:
    """The referral for the partner's ServiceRequest id, importing that ServiceRequest when it is
    new; None when it is not one carebridge imports."""
    link = find_link(session, ctx.partner.id, "ServiceRequest", remote_id)
    if link is None:
        resource = ctx.fetch("ServiceRequest", remote_id)  # a 404 is recorded by the pull
        check_resource(resource)
        if import_owned(session, ctx, resource) != "created":
            return None
        link = find_link(session, ctx.partner.id, "ServiceRequest", remote_id)
    return session.get(Referral, link.entity_id) if link is not None else None


def _map_organizations(session: Session, references: Sequence[Any]) -> list[str | None]:
    """The carebridge organisation each partner reference names by its identifier (a logical
    reference, https://hl7.org/fhir/R4/references.html#logical), or None. A mapped reference is
    rewritten in place to carebridge's Organization, keeping its identifier and display."""
    wanted = [
        (str(ident.get("system")), str(ident.get("value")))
        if isinstance(ref, dict) and isinstance(ident := ref.get("identifier"), dict) else None
        for ref in references
    ]  # fmt: skip
    if not any(wanted):
        return [None] * len(references)
    known = {
        (str(i.get("system")), str(i.get("value"))): org.id
        for org in session.scalars(select(Organization))
        for i in org.identifiers or ()
    }
    found = [known.get(key) if key else None for key in wanted]
    for ref, org_id in zip(references, found, strict=True):
        if org_id is not None:
            ref["reference"] = f"Organization/{org_id}"
    return found


def _stay_of(session: Session, ctx: Incoming, patient_id: str, remote_encounter_id: str | None) -> str | None:
    """The stay a plan belongs to: its Encounter's, else the patient's current stay (the case)."""
    link = find_link(session, ctx.partner.id, "Encounter", remote_encounter_id) if remote_encounter_id else None
    if link is not None:
        return link.entity_id
    return session.scalar(
        select(Stay.id)
        .where(Stay.patient_id == patient_id, Stay.status == "in-progress")
        .order_by(Stay.admitted_at.desc())
        .limit(1)
    )


def apply(session: Session, ctx: Incoming, resource: Json) -> str:
    kind = resource.get("resourceType")
    if kind == "Patient":
        return upsert_patient(session, ctx, resource)[0]
    if kind == "Encounter":
        return upsert_encounter(session, ctx, resource)
    if kind == "Task":
        return upsert_task(session, ctx, resource)
    return merge_pulled(session, ctx, resource)
