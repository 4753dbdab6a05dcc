"""The one access policy: for a principal (`AccessContext`) and a record, may it read or write?

Every door asks this module: the REST API, the web pages, the FHIR API, bulk export,
subscriptions, messaging and the partner push. Nothing else filters records by hand.

1. Scopes (what kind of record, which interaction): SMART scopes
   (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html). A backend client holds
   `system/` scopes for its organisation; a person holds the `user/` scopes of their role
   (ROLE_SCOPES); an EHR launch adds `patient/` scopes. The REST resources answer to the same
   SMART types (REST_TYPES), so a token means the same on both APIs.
2. Patient context: a token holding any `patient/` scope is confined to its launch patient,
   whatever other scopes it carries (and to no patient when it has none). SMART's `patient/`
   scopes grant access "to resources for a single patient"; a `user/` scope on the same token
   must not widen that.
3. Tenancy (which rows), as SQL filters so searches page over visible rows only:
   - payer: its members (`Patient.payer_id`) and everything about them;
   - receiving facility (or anyone a handoff is addressed to / requested by): the handoffs (Task)
     addressed to it or requested by it, the referrals (ServiceRequest) those handoffs carry out,
     the documents (DocumentReference) sent with those referrals, and the patients they concern:
     not the rest of the patient's hospital record, nor the documents of other referrals;
   - hospital: the patients of its stays and their records;
   - screenings: a payer or hospital sees its patients' screenings, Observations and concerns;
     a facility only the concern (Condition) a referral addressed to it serves;
   - `organization_id` None: a carebridge-operated client (auditor, internal jobs), no tenant limit.
   The org-kind rules are unions of relations, so an organisation only ever matches rows it is a
   party to, whatever its kind.
4. Writes: only the hospital where the patient has a stay changes the case (patient, stay, plan,
   goals, referrals); the parties of a handoff (and the patient's hospital) change the handoff,
   and each side makes only the Task moves it owns (Gravity SDOH, `task_move_allowed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, object_session

from service.auth.context import WEB_CLIENT_ID, AccessContext
from service.auth.scopes import Interaction, ScopeSet, intersect, parse_scopes
from service.domain.handoff_status import party_for
from service.models import (
    CareTeamMember,
    CasePlan,
    Goal,
    Handoff,
    HealthConcern,
    Organization,
    Patient,
    Practitioner,
    Referral,
    Screening,
    ScreeningObservation,
    Stay,
    User,
)
from service.models.audit_events import AccessEvent
from service.models.documents import Document

# FHIR resource type -> (ORM model, its patient id column).
MODELS: dict[str, tuple[type[Any], InstrumentedAttribute[str]]] = {
    "Patient": (Patient, Patient.id),
    "Encounter": (Stay, Stay.patient_id),
    "CarePlan": (CasePlan, CasePlan.patient_id),
    "Goal": (Goal, Goal.patient_id),
    "ServiceRequest": (Referral, Referral.patient_id),
    "Task": (Handoff, Handoff.patient_id),
    "DocumentReference": (Document, Document.patient_id),
    # One CareTeam per patient (its id is the patient's id): see service.fhir_bridge.
    "CareTeam": (Patient, Patient.id),
    "QuestionnaireResponse": (Screening, Screening.patient_id),
    "Observation": (ScreeningObservation, ScreeningObservation.patient_id),
    "Condition": (HealthConcern, HealthConcern.patient_id),
}
# Only patients with at least one care-team member have a CareTeam.
CARE_TEAM_EXISTS = exists().where(CareTeamMember.patient_id == Patient.id)


# What each role may do, as the `user/` scopes a person of that role holds (tenancy then limits
# the rows to their organisation's). Why each role gets what:
_CASE_TYPES = ("Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task", "DocumentReference")
# A document's content (FHIR Binary) is read with its DocumentReference: whoever reads documents
# reads their content (SMART scopes name Binary apart, https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
_DOCUMENTS_READ = "user/DocumentReference.rs user/Binary.r"
# Screening: the hospital records screenings and decides on the concerns they suggest; the
# Observations are derived, never written by hand.
_SCREENING = "user/QuestionnaireResponse.crs user/Observation.rs user/Condition.rus user/Questionnaire.rs"
# Whoever reads a record reads who changed it (Provenance) and the directory entries it refers to,
# so that each of its references resolves in their app: Encounter.location (Location),
# CareTeam.participant.member (PractitionerRole, and its Practitioner), Task.owner (Organization).
# Tenancy still limits these to the ones their records name (`visible_organizations` and below).
_CASE_DIRECTORY = (
    "user/Organization.rs user/Practitioner.rs user/PractitionerRole.rs user/Location.rs user/Provenance.rs"
)
ROLE_SCOPES: dict[str, str] = {
    # Hospital staff run the whole case of their hospital's patients: stays, plans, goals,
    # referrals and handoffs, created and changed (no record is ever deleted, but `d` costs nothing
    # to grant and keeps the scope the plain "full access" one).
    "discharge_planner": " ".join(f"user/{t}.cruds" for t in _CASE_TYPES)
    + f" user/Binary.r {_SCREENING} user/CareTeam.rs {_CASE_DIRECTORY}",
    "case_manager": " ".join(f"user/{t}.cruds" for t in _CASE_TYPES)
    + f" user/Binary.r {_SCREENING} user/CareTeam.rs {_CASE_DIRECTORY}",
    # A facility's intake works the referrals addressed to it: it reads the patient, the referral
    # (with the concern it serves) and the documents sent with it, and answers (accepts, declines,
    # updates) the handoff; nothing else of the case.
    "intake_coordinator": f"user/Patient.rs user/ServiceRequest.rs user/Condition.rs {_DOCUMENTS_READ} user/Task.rus "
    "user/Organization.rs user/Provenance.rs",
    # A payer's care manager follows its members' cases (read only), answers the handoffs
    # addressed to the payer (authorisations) and may record its own screenings of a member.
    "payer_care_manager": "user/Patient.rs user/Encounter.rs user/CarePlan.rs user/Goal.rs user/ServiceRequest.rs "
    f"{_DOCUMENTS_READ} user/CareTeam.rs user/Task.rus {_CASE_DIRECTORY} user/QuestionnaireResponse.crs "
    "user/Observation.rs user/Condition.rs user/Questionnaire.rs",
    # An auditor reads the access trail, not the records themselves.
    "auditor": "user/AuditEvent.rs user/Organization.rs",
    # An administrator manages accounts and the organisation directory, not patients.
    "administrator": "user/Organization.cruds",
}

# REST resource (the path segment under /api) -> the SMART types its records are, so a token's
# scopes mean the same on the REST API as on the FHIR API.
REST_TYPES: dict[str, tuple[str, ...]] = {
    "patients": ("Patient",),
    "stays": ("Encounter",),
    "worklist": ("Encounter",),
    "plans": ("CarePlan", "Goal"),
    "referrals": ("ServiceRequest",),
    "documents": ("DocumentReference",),
    "handoffs": ("Task",),
    "organizations": ("Organization",),
    "screenings": ("QuestionnaireResponse",),
    "concerns": ("Condition",),
}


def role_scopes(role: str) -> ScopeSet:
    return parse_scopes(ROLE_SCOPES[role])


def principal_for_user(
    user: User, scopes: ScopeSet | None = None, *, client_id: str = WEB_CLIENT_ID, patient_id: str | None = None
) -> AccessContext:
    """The principal of a signed-in person: their web session (scopes None: everything their role
    grants) or a token they authorised for an app (`scopes`: what the app was granted, narrowed
    interaction by interaction to what the role grants; a `patient/` scope is bounded by the role's
    `user/` scope of the same type, a patient's compartment being a part of what the person may
    see; `system/` is never a person's; `openid`, `fhirUser`, `launch...` pass through).

    Raises PermissionError for a disabled account.
    """
    if not user.active:
        raise PermissionError(f"user {user.id} is disabled")
    granted = role_scopes(user.role)
    if scopes is not None:
        as_patient = parse_scopes(" ".join(text.replace("user/", "patient/", 1) for text in granted.raw))
        other = tuple(text for text in scopes.raw if "/" not in text or text.startswith("launch"))
        narrowed = intersect(scopes, granted).raw + intersect(scopes, as_patient).raw
        granted = parse_scopes(" ".join(other + narrowed))
    return AccessContext(
        client_id=client_id,
        subject=user.username,
        organization_id=user.organization_id,
        scopes=granted,
        patient_id=patient_id,
        user_id=user.id,
        role=user.role,
        display_name=user.display_name,
    )


def allows(ctx: AccessContext, resource_type: str, interaction: Interaction) -> bool:
    """True when some scope of `ctx` grants `interaction` on `resource_type`.

    A `patient/` scope grants only with a patient in context
    (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes).
    """
    contexts = ctx.scopes.contexts_granting(resource_type, interaction)
    return bool(contexts - {"patient"}) or ("patient" in contexts and ctx.patient_id is not None)


def confined_to_patient(ctx: AccessContext) -> bool:
    """True when the request is held to the launch patient's compartment: the token carries a
    `patient/` scope, whatever `user/` or `system/` scopes it carries besides."""
    return any(s.context == "patient" for s in ctx.scopes.resource_scopes)


# Correlated EXISTS, not IN (subquery), and in two shapes of the same rule (`per_row`):
# - an OR of EXISTS (the default), which PostgreSQL may answer by hashing each subquery once over
#   the whole organisation: right for a whole set (a count, an export), wrong for a page, since a
#   hospital's page of 20 Tasks then hashes every stay it has (cost in proportion to its data);
# - one EXISTS over a UNION ALL (`per_row=True`), which PostgreSQL never hashes: each candidate
#   row is tested by index probes, so a page (or a row by id) costs in proportion to the rows it
#   reads (bench/fhir_search.py: a hospital's Task?status=&_sort=-_lastUpdated at 100,000 Tasks,
#   14.6 ms -> 0.4 ms in the database).
# The inner tables are aliases, so that filtering Stay (Encounter) rows by a Stay subquery does not
# correlate the subquery to the outer row. They are made once: building an alias per request cost
# more than the query, and the same constructs let SQLAlchemy reuse the compiled statement.
_MEMBER = aliased(Patient, name="tenancy_member")
_STAY = aliased(Stay, name="tenancy_stay")
_HANDOFF = aliased(Handoff, name="tenancy_handoff")
_REFERRAL = aliased(Referral, name="tenancy_referral")
_ONE: ColumnElement[int] = literal_column("1")


def _any_row(per_row: bool, *queries: Select[Any]) -> ColumnElement[bool]:
    """Whether one of `queries` (correlated to the outer row) has a row, in the shape `per_row` asks for."""
    if per_row:
        return union_all(*queries).exists()
    return or_(*(query.exists() for query in queries))


def _patients_of_org(org_id: str, column: Any, per_row: bool = False) -> ColumnElement[bool]:
    return or_(
        _full_record_patients(org_id, column, per_row),
        _party_to_handoff(org_id, _HANDOFF.patient_id == column, per_row),
    )


def _party_to_handoff(org_id: str, match: ColumnElement[bool], per_row: bool = False) -> ColumnElement[bool]:
    """Some handoff matching `match` is owned or requested by the org. Two subqueries rather than
    one with an OR inside: each is then answered by its own index (ix_handoffs_*_parties)."""
    return _any_row(
        per_row,
        select(_ONE).where(match, _HANDOFF.owner_org_id == org_id),
        select(_ONE).where(match, _HANDOFF.requester_org_id == org_id),
    )


def _full_record_patients(org_id: str, column: Any, per_row: bool = False) -> ColumnElement[bool]:
    """Patients whose whole record the org may read: its payer members and its hospital patients."""
    return _any_row(
        per_row,
        select(_ONE).where(_MEMBER.id == column, _MEMBER.payer_id == org_id),
        select(_ONE).where(_STAY.patient_id == column, _STAY.hospital_id == org_id),
    )


def visible_patients(ctx: AccessContext, column: Any = Patient.id) -> ColumnElement[bool]:
    """Filter on a patient id column (default `Patient.id`): the patients `ctx` may know about."""
    return _visible_patients(column, ctx.organization_id, confined_to_patient(ctx), ctx.patient_id)


def visible_rows(ctx: AccessContext, resource_type: str, *, per_row: bool = False) -> ColumnElement[bool]:
    """Filter on the model of `resource_type`: the rows `ctx` may read. `per_row`: shaped for a page
    or a single row rather than a whole set (the same rule; see the note above `_MEMBER`)."""
    return _visible_rows(resource_type, ctx.organization_id, confined_to_patient(ctx), ctx.patient_id, per_row)


# A type's filter depends only on (organisation, patient context) and is an immutable SQL expression: built
# once per principal and reused (building one took several milliseconds of every FHIR read and search).
# Bounded: the least recently used are dropped.
def _visible_patients(
    column: Any, org: str | None, confined: bool, patient_id: str | None, per_row: bool = False
) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if confined:
        clauses.append(column == patient_id if patient_id is not None else false())
    if org is not None:
        clauses.append(_patients_of_org(org, column, per_row))
    return and_(true(), *clauses)


@lru_cache(maxsize=4096)
def _visible_rows(
    resource_type: str, org: str | None, confined: bool, patient_id: str | None, per_row: bool = False
) -> ColumnElement[bool]:
    model, patient_column = MODELS[resource_type]
    clauses: list[ColumnElement[bool]] = [_visible_patients(patient_column, org, confined, patient_id, per_row)]
    if org is not None and resource_type not in ("Patient", "CareTeam"):
        whole_record = _full_record_patients(org, patient_column, per_row)
        if resource_type == "Task":
            clauses.append(or_(whole_record, Handoff.owner_org_id == org, Handoff.requester_org_id == org))
        elif resource_type == "ServiceRequest":
            clauses.append(or_(whole_record, _party_to_handoff(org, _HANDOFF.referral_id == Referral.id, per_row)))
        elif resource_type == "DocumentReference":
            # Those who may read the referral may read what was sent with it, and no one else.
            sent_with = _HANDOFF.referral_id == Document.referral_id
            clauses.append(or_(whole_record, _party_to_handoff(org, sent_with, per_row)))
        elif resource_type == "Condition":
            # A facility sees the concern a referral addressed to it serves (its reasonReference),
            # not the patient's other concerns nor the screening behind it.
            served = and_(_REFERRAL.concern_id == HealthConcern.id, _HANDOFF.referral_id == _REFERRAL.id)
            clauses.append(or_(whole_record, _party_to_handoff(org, served, per_row)))
        else:
            clauses.append(whole_record)
    return and_(*clauses)


def visible_row(session: Session, ctx: AccessContext, resource_type: str, ident: str) -> Any:
    """The row `ident` of `resource_type` when it exists and `ctx` may read it, else None: one SELECT
    with `visible_rows` (a CareTeam exists only for a patient with care-team members)."""
    query = _visible_row_query(resource_type, ctx.organization_id, confined_to_patient(ctx), ctx.patient_id)
    return session.scalars(query, {"ident": ident}).first()


# Like the filters: one statement per type and principal, the id a bound parameter. SQLAlchemy works out a
# statement's cache key once per statement object, and for a new one, through the whole filter, every read.
@lru_cache(maxsize=4096)
def _visible_row_query(resource_type: str, org: str | None, confined: bool, patient_id: str | None) -> Select[Any]:
    model, _ = MODELS[resource_type]
    visible = _visible_rows(resource_type, org, confined, patient_id, per_row=True)
    query = select(model).where(model.id == bindparam("ident"), visible)
    return query.where(CARE_TEAM_EXISTS) if resource_type == "CareTeam" else query


def visible_organizations(ctx: AccessContext) -> ColumnElement[bool]:
    """Filter on Organization: the organisations `ctx` deals with, so that every Organization a
    resource it may read refers to resolves (Task.owner/requester, ServiceRequest.performer,
    Encounter.serviceProvider, CarePlan.author, CareTeam.member), and no others:

    - its own organisation;
    - the owner and requester of every handoff (Task) it may read: a facility sees the hospital
      that referred to it, not the other facilities the same patient was referred to;
    - for each patient it may read: the payer and primary care organisation, and the hospital of
      every stay it may read (a payer sees its members' hospitals; a facility sees no stay);
    - a carebridge-operated client (no organisation, no patient context): every organisation.

    Directory data about organisations is not PHI, but which organisations a patient deals with
    is: that is why the rule goes through the records `ctx` may read (`visible_rows`)."""
    if ctx.organization_id is None and not confined_to_patient(ctx):
        return true()
    # One EXISTS per way of dealing with an organisation, each probed per Organization row (the
    # directory is small): PostgreSQL plans each for its first row and stops there, so the cost does
    # not grow with the caller's data (bench/fhir_search.py, Organization?name=: 159 -> 0.5 ms in the
    # database at 100,000 Tasks), where IN over the caller's visible rows read all of them. The first
    # two probes are implied by the last two; they come first because they are exact index probes on
    # both parties (ix_handoffs_requester_owner, ix_handoffs_owner_requester): the organisations a
    # caller refers to and is referred by. An organisation the caller does not deal with costs a walk
    # of its own handoffs, patients and stays.
    me = ctx.organization_id
    tasks = visible_rows(ctx, "Task", per_row=True)
    patients = visible_rows(ctx, "Patient", per_row=True)
    encounters = visible_rows(ctx, "Encounter", per_row=True)
    probes = (
        select(_ONE).where(Handoff.requester_org_id == me, Handoff.owner_org_id == Organization.id, tasks),
        select(_ONE).where(Handoff.owner_org_id == me, Handoff.requester_org_id == Organization.id, tasks),
        select(_ONE).where(Patient.payer_id == Organization.id, patients),
        select(_ONE).where(Patient.primary_care_id == Organization.id, patients),
        select(_ONE).where(Stay.hospital_id == Organization.id, encounters),
        select(_ONE).where(Handoff.owner_org_id == Organization.id, tasks),
        select(_ONE).where(Handoff.requester_org_id == Organization.id, tasks),
    )
    return or_(Organization.id == me, *(probe.exists() for probe in probes))


def visible_practitioners(ctx: AccessContext) -> ColumnElement[bool]:
    """Filter on Practitioner: those on the care team of a patient `ctx` may read (so
    CareTeam.participant.member resolves) and those of its own organisation; every one for a
    carebridge-operated client."""
    if ctx.organization_id is None and not confined_to_patient(ctx):
        return true()
    patients = select(Patient.id).where(visible_rows(ctx, "CareTeam"))
    members = select(CareTeamMember.user_id).where(CareTeamMember.patient_id.in_(patients))
    return or_(
        Practitioner.organization_id == ctx.organization_id,
        Practitioner.id.in_(select(User.practitioner_id).where(User.id.in_(members))),
    )


def visible_practitioner_roles(ctx: AccessContext) -> ColumnElement[bool]:
    """Filter on User (FHIR PractitionerRole: a person's role at their organisation): the members
    of the care team of a patient `ctx` may read (so CareTeam.participant.member resolves) and the
    people of its own organisation; every one for a carebridge-operated client."""
    if ctx.organization_id is None and not confined_to_patient(ctx):
        return true()
    patients = select(Patient.id).where(visible_rows(ctx, "CareTeam"))
    members = select(CareTeamMember.user_id).where(CareTeamMember.patient_id.in_(patients))
    return or_(User.organization_id == ctx.organization_id, User.id.in_(members))


@dataclass(frozen=True)
class PlaceRule:
    """The places (FHIR Location: a hospital's wards and beds) a principal may see. A place is known
    only from the stays there, so it is seen through them: every place of some hospitals, and the
    places of some stays besides."""

    hospitals: ColumnElement[bool]  # on Organization: the hospitals every place of which it sees
    stays: ColumnElement[bool]  # on Stay: the stays elsewhere whose places it sees


def visible_places(ctx: AccessContext) -> PlaceRule:
    """The places of its own hospital, and of the stays it may read (so Encounter.location
    resolves); every place for a carebridge-operated client."""
    if ctx.organization_id is None and not confined_to_patient(ctx):
        return PlaceRule(true(), false())
    encounters = visible_rows(ctx, "Encounter")
    if confined_to_patient(ctx):
        return PlaceRule(false(), encounters)
    org = ctx.organization_id
    # Stays at other hospitals as two ranges rather than `!=`, which an index cannot answer: the
    # own hospital's stays are not read at all (its places come from `hospitals`).
    elsewhere = or_(Stay.hospital_id < org, Stay.hospital_id > org)
    return PlaceRule(Organization.id == org, and_(elsewhere, encounters))


def can_see(ctx: AccessContext, resource_type: str, row: Any) -> bool:
    """Whether `ctx` may read this loaded row (same rules as `visible_rows`, asked of the database)."""
    session = object_session(row)
    if session is None:
        raise ValueError("can_see needs a row loaded from a session")
    model, _ = MODELS[resource_type]
    query = select(model.id).where(model.id == row.id, visible_rows(ctx, resource_type))
    return session.scalar(query) is not None


def visible_access_events(ctx: AccessContext) -> ColumnElement[bool]:
    """Filter on AccessEvent: the audit trail `ctx` may search and read (FHIR AuditEvent).

    - patient context: only events about the launch patient (an event about no patient, such as
      a refused read, is not that patient's);
    - organisation: events about patients it may see (`visible_patients`: who accessed its
      patients' data), and events its own clients and people caused, whatever they concern;
    - no organisation and no patient context (carebridge's own auditor): everything.
    """
    clauses: list[ColumnElement[bool]] = []
    if confined_to_patient(ctx):
        clauses.append(AccessEvent.patient_id == ctx.patient_id if ctx.patient_id is not None else false())
    org = ctx.organization_id
    if org is not None:
        clauses.append(or_(AccessEvent.organization_id == org, _patients_of_org(org, AccessEvent.patient_id)))
    return and_(true(), *clauses)


def can_see_access_event(ctx: AccessContext, event: AccessEvent) -> bool:
    """Whether `ctx` may read this loaded AccessEvent (`visible_access_events`, asked of the database)."""
    session = object_session(event)
    if session is None:
        raise ValueError("can_see_access_event needs a row loaded from a session")
    query = select(AccessEvent.id).where(AccessEvent.id == event.id, visible_access_events(ctx))
    return session.scalar(query) is not None


def _case_hospital(org_id: str, column: Any) -> ColumnElement[bool]:
    """The org is a hospital where the patient (in `column`) has a stay: it runs that case."""
    return exists().where(_STAY.patient_id == column, _STAY.hospital_id == org_id)


def writable_rows(ctx: AccessContext, resource_type: str) -> ColumnElement[bool]:
    """Filter on the model of `resource_type`: the rows `ctx` may change (scope checked apart).

    Only the hospital of one of the patient's stays changes the case; a handoff is changed by its
    parties too (which moves each side owns is `task_move_allowed`). So a payer or a facility can
    never, for example, set a patient's payer and thereby read a stranger's record.
    """
    model, patient_column = MODELS[resource_type]
    clauses: list[ColumnElement[bool]] = [visible_patients(ctx, patient_column)]
    org = ctx.organization_id
    if org is not None:
        case_owner = _case_hospital(org, patient_column)
        if resource_type == "Task":
            clauses.append(or_(case_owner, Handoff.owner_org_id == org, Handoff.requester_org_id == org))
        elif resource_type == "Encounter":
            clauses.append(Stay.hospital_id == org)  # a stay is changed by its own hospital only
        else:
            clauses.append(case_owner)
    return and_(*clauses)


def can_write(ctx: AccessContext, resource_type: str, row: Any) -> bool:
    """Whether `ctx` may change this loaded row (`writable_rows`, asked of the database)."""
    session = object_session(row)
    if session is None:
        raise ValueError("can_write needs a row loaded from a session")
    model, _ = MODELS[resource_type]
    return session.scalar(select(model.id).where(model.id == row.id, writable_rows(ctx, resource_type))) is not None


def can_screen(ctx: AccessContext, patient: Patient) -> bool:
    """Whether `ctx` may record a screening of this patient: an organisation that holds the
    patient's whole record (the hospital running the case, or the patient's payer, whose own
    screening flows into the case's suggestions), within a `patient/` token's patient."""
    session = object_session(patient)
    if session is None:
        raise ValueError("can_screen needs a row loaded from a session")
    clauses: list[ColumnElement[bool]] = [visible_patients(ctx)]
    if ctx.organization_id is not None:
        clauses.append(_full_record_patients(ctx.organization_id, Patient.id))
    return session.scalar(select(Patient.id).where(Patient.id == patient.id, *clauses)) is not None


def unclaimed(patient: Patient) -> bool:
    """No organisation runs this patient's case yet (no stay anywhere): a hospital may admit them."""
    session = object_session(patient)
    if session is None:
        raise ValueError("unclaimed needs a row loaded from a session")
    return session.scalar(select(Stay.id).where(Stay.patient_id == patient.id).limit(1)) is None


def task_move_allowed(acting_org_id: str | None, handoff: Handoff, target: str) -> bool:
    """Whether an organisation may move `handoff` to `target`: the requester owns
    draft/requested/entered-in-error, the recipient accepted..completed, either may cancel
    (Gravity SDOH, https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html).
    None: carebridge itself (demo data, operators), bound by the state machine only."""
    if acting_org_id is None:
        return True
    party = party_for(target)
    is_owner = acting_org_id == handoff.owner_org_id
    is_requester = acting_org_id == handoff.requester_org_id
    return (
        (party == "owner" and is_owner)
        or (party == "requester" and is_requester)
        or (party == "either" and (is_owner or is_requester))
    )
